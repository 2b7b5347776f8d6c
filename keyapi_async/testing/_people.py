"""Generation of canonical influencer records (one `random.Random` for the whole set)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from . import _tables as t

Record = dict[str, object]

_FOLD = str.maketrans({"ü": "u", "ö": "o", "ä": "a"})
_CRAWL_BASE = dt.date(2022, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class Hidden:
    """What the API filters or sorts on but never returns, plus generation hints."""

    uid_int: int
    n_videos: int
    n_live: int
    top_video: int  # index of the most viewed video, -1 when there are none
    total_views_7d_cnt: int  # filter min_/max_total_views_7d_cnt
    per_video_product_views_avg_cnt: int  # filter min_/max_per_video_product_views_avg_cnt
    per_views_avg_cnt: int  # sort field 4: total_views_cnt // max(total_post_video_cnt, 1)
    triples: tuple[tuple[str, str, str], ...]  # product categories (l1, l2, l3), best first


def video_id(uid_int: int, index: int) -> str:
    """Deterministic 19-digit video id, so most_views_video is known before videos exist."""
    return f"74{uid_int % 10**11:011d}{index:06d}"


def _pick(r: float, cumulative: tuple[tuple[object, float], ...]) -> object:
    for value, cum in cumulative:
        if r < cum:
            return value
    return cumulative[-1][0]


def _money(rng: random.Random, amount: float) -> float:
    # Roughly a third of amounts are whole numbers, the rest carry cents.
    return float(round(amount)) if rng.random() < 0.35 else round(amount, 2)


def _increments(r: random.Random, total: int, active: bool) -> tuple[int, int, int, int]:
    if not active or total <= 0:
        return 0, 0, 0, 0
    d90 = int(total * 0.3 * r.random())
    d30 = int(d90 * r.random())
    d7 = int(d30 * r.random())
    return int(d7 * r.random()), d7, d30, d90


def _histogram(rng: random.Random, keys: tuple[str, ...], n: int) -> dict[str, int]:
    if n <= 0:
        return {}
    r = rng.random
    return {k: int(r() * r() * n) for k in keys}


def make_ids(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    """(user_id, unique_id, nick_name) triples, unique ids and handles."""
    seen_uid: set[str] = set()
    seen_handle: set[str] = set()
    out: list[tuple[str, str, str]] = []
    r = rng.random
    while len(out) < count:
        # 18- or 19-digit numeric ids, like TikTok's.
        if r() < 0.3:
            uid = str(rng.randrange(10**17, 10**18))
        else:
            uid = str(rng.randrange(6 * 10**18, 75 * 10**17))
        if uid in seen_uid:
            continue
        first = t.FIRST[int(r() * len(t.FIRST))]
        last = t.LAST[int(r() * len(t.LAST))]
        sep = ("", ".", "_", "._.")[int(r() * 4)]
        base = f"{first}{sep}{last}".lower().translate(_FOLD)
        handle = base if base not in seen_handle else f"{base}{int(r() * 100000)}"
        if handle in seen_handle:
            continue
        seen_uid.add(uid)
        seen_handle.add(handle)
        nick = f"{first} {last}" if r() < 0.8 else f"{first}{sep}{last} ✨"
        out.append((uid, handle, nick))
    return out


def make_influencer(rng: random.Random, uid: str, handle: str, nick: str) -> tuple[Record, Hidden]:
    r = rng.random
    uid_int = int(uid)
    region = str(_pick(r(), t.REGIONS))
    langs = t.LANGUAGES[region]
    language = langs[int(r() * len(langs))]
    gender = t.GENDERS[int(r() * 3)] if region == "US" else ""
    category = t.CATEGORIES[int(r() * len(t.CATEGORIES))] if r() < 0.85 else ""
    sales_flag = int(str(_pick(r(), t.SALES_FLAGS)))
    video_sells, live_sells = sales_flag in (1, 3), sales_flag in (2, 3)
    sells = video_sells or live_sells
    show_case = 1 if sales_flag == 4 or (sells and r() < 0.6) else 0
    active = r() < 0.75

    followers = int(10 ** (2 + 5 * r()))
    following = int(10 ** (1 + 2.5 * r()))
    # Everyone has at least one video and one livestream, so that any sandbox pull finds some.
    n_videos = max(1, int(r() * 61)) if active else 1
    recent = n_videos if active else 0
    posts = n_videos + int(r() * r() * 600)
    views = int(followers * (0.5 + 40 * r())) if posts else 0
    digg = int(views * (0.02 + 0.1 * r()))
    f1, f7, f30, f90 = _increments(rng, followers, active)
    d1, d7, d30, d90 = _increments(rng, digg, active)

    n_live = (
        max(1, int(r() * 26)) if live_sells else (1 + int(r() * 4) if active and r() < 0.2 else 1)
    )
    products = 1 + int(r() * 300) if sales_flag else 0
    products_30d = int(products * r())
    sale_cnt = int(products * (5 + 200 * r())) if sells else 0
    price = 3 + 60 * r()
    sale_30d = int(sale_cnt * 0.3 * r())
    gmv_30d = _money(rng, sale_30d * price)
    live_gmv_30d = _money(rng, gmv_30d * (r() if video_sells else 1.0)) if live_sells else 0.0
    video_gmv_30d = max(0.0, round(gmv_30d - live_gmv_30d, 2)) if video_sells else 0.0
    per_video = views // max(posts, 1)

    triples: list[tuple[str, str, str]] = []
    for _ in range(1 + int(r() * 6) if products else 0):
        triple = t.PRODUCT_TRIPLES[int(r() * len(t.PRODUCT_TRIPLES))]
        if triple not in triples:
            triples.append(triple)
    l1s = list(dict.fromkeys(tr[0] for tr in triples))
    most_category_product = [
        {"category_id": l1, "category_name": t.PRODUCT_NAMES[l1], "product_cnt": 1 + int(r() * 40)}
        for l1 in l1s
    ]
    top_video = int(r() * n_videos) if n_videos else -1
    crawl = dt.date.fromordinal(_CRAWL_BASE + int(r() * 1300))

    record: Record = {
        "avatar": f"https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/{uid}"
        "~tplv-tiktokx-cropcenter:100:100.jpeg?x-expires=1756242000",
        "avg_30d_price": round(gmv_30d / sale_30d, 2) if sale_30d else 0.0,
        "category": category,
        "contact_email": f"{handle.replace('.', '')}@gmail.com" if r() < 0.2 else "",
        "ec_score": round(10 * r(), 2) if r() < 0.9 else 0.0,
        "first_crawl_dt": crawl.year * 10000 + crawl.month * 100 + crawl.day,
        "gender": gender,
        # The histograms cover recent videos: an inactive account's are empty.
        "influencer_video_duration_level": _histogram(rng, t.DURATION_KEYS, recent),
        "influencer_video_publish_hour": _histogram(rng, t.HOUR_KEYS, recent),
        "influencer_video_publish_week": _histogram(rng, t.WEEK_KEYS, recent),
        "interaction_rate": round(0.01 + 0.24 * r(), 2) if active and views else 0.0,
        "language": language,
        "most_category_product": most_category_product,
        "most_views_video": video_id(uid_int, top_video) if n_videos else "",
        "nick_name": nick,
        "off_mark": 1 if r() < 0.02 else 0,
        "per_video_product_views_avg_7d_cnt": float(int(per_video * 0.5 * r()))
        if video_sells
        else 0.0,
        "region": region,
        "sales_flag": sales_flag,
        "seller_id": str(7494 * 10**15 + int(r() * 10**15)) if sells and r() < 0.1 else "",
        "show_case_flag": show_case,
        "signature": t.SIGNATURES[int(r() * len(t.SIGNATURES))],
        "total_comments_cnt": int(digg * 0.03 * r()),
        "total_digg_1d_cnt": d1,
        "total_digg_30d_cnt": d30,
        "total_digg_7d_cnt": d7,
        "total_digg_90d_cnt": d90,
        "total_digg_cnt": digg,
        "total_followers_1d_cnt": f1,
        "total_followers_30d_cnt": f30,
        "total_followers_7d_cnt": f7,
        "total_followers_90d_cnt": f90,
        "total_followers_cnt": followers,
        "total_following_cnt": following,
        "total_likes_cnt": int(digg * (1 + 0.4 * r())),
        "total_live_cnt": n_live + (int(r() * r() * 80) if n_live else 0),
        "total_live_sale_gmv_30d_amt": live_gmv_30d,
        "total_post_video_cnt": posts,
        "total_product_30d_cnt": products_30d,
        "total_product_cnt": products,
        "total_sale_cnt": sale_cnt,
        "total_sale_gmv_30d_amt": gmv_30d,
        "total_sale_gmv_amt": _money(rng, sale_cnt * price),
        "total_shares_cnt": int(digg * 0.02 * r()),
        "total_video_product_30d_cnt": int(products_30d * r()) if video_sells else 0,
        "total_video_sale_30d_cnt": int(sale_30d * r()) if video_sells else 0,
        "total_video_sale_gmv_30d_amt": video_gmv_30d,
        "total_views_cnt": views,
        "unique_id": handle,
        "user_id": uid,
    }
    hidden = Hidden(
        uid_int=uid_int,
        n_videos=n_videos,
        n_live=n_live,
        top_video=top_video,
        total_views_7d_cnt=int(views * 0.05 * r()) if active else 0,
        per_video_product_views_avg_cnt=int(per_video * (0.2 + r())) if video_sells else 0,
        per_views_avg_cnt=per_video,
        triples=tuple(triples),
    )
    return record, hidden
