"""Per-influencer child records (videos, livestreams) and ranking rows.

Each generator owns a `random.Random` seeded from the dataset seed plus the
record's subject, so results do not depend on what was generated before.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from . import _tables as t
from ._people import Hidden, Record, _increments, _money, video_id

_NOW = 1_736_000_679  # a fixed "now" (2025-01-04) keeps timestamps reproducible
_YEAR = 365 * 86400


def _times(rng: random.Random, n: int, span: int) -> list[int]:
    return sorted((_NOW - int(rng.random() * span) for _ in range(n)), reverse=True)


def make_videos(seed: int, inf: Record, hidden: Hidden) -> list[Record]:
    """Videos in default order (newest first)."""
    rng = random.Random(f"{seed}|videos|{inf['user_id']}")
    r = rng.random
    n = hidden.n_videos
    views = [int(10 ** (2 + 4 * r())) for _ in range(n)]
    if n:
        views[hidden.top_video] = max(views) + 1 + int(r() * 1000)
    sells = inf["sales_flag"] in (1, 3)
    out: list[Record] = []
    for i, create_time in enumerate(_times(rng, n, 2 * _YEAR)):
        v = views[i]
        ratio, height, width = t.RATIOS[int(r() * len(t.RATIOS))]
        duration = 5 + int(r() * 295)
        sales = 1 if sells and r() < 0.5 else 0
        sale_cnt = int(r() * 500) if sales else 0
        digg = int(v * (0.02 + 0.1 * r()))
        _, d7, d30, _ = _increments(rng, digg, True)
        _, v7, v30, _ = _increments(rng, v, True)
        vid = video_id(hidden.uid_int, i)
        out.append(
            {
                "create_time": create_time,
                "created_by_ai": r() < 0.05,
                "data_size": int(duration * (50_000 + 150_000 * r())),
                "duration": duration,
                "height": height,
                "ratio": ratio,
                "reflow_cover": f"https://echosell-images.tos-ap-southeast-1.volces.com/video-cover/805/{vid}.jpeg",
                "region": inf["region"],
                "sales_flag": sales,
                "total_comments_cnt": int(digg * 0.05 * r()),
                "total_digg_1d_cnt": int(d7 * r()),
                "total_digg_30d_cnt": d30,
                "total_digg_7d_cnt": d7,
                "total_digg_cnt": digg,
                "total_favorites_cnt": int(digg * 0.1 * r()),
                "total_shares_cnt": int(digg * 0.03 * r()),
                "total_video_sale_cnt": sale_cnt,
                "total_video_sale_gmv_amt": _money(rng, sale_cnt * (3 + 60 * r()))
                if sales
                else 0.0,
                "total_views_1d_cnt": int(v7 * r()),
                "total_views_30d_cnt": v30,
                "total_views_7d_cnt": v7,
                "total_views_cnt": v,
                "unique_id": inf["unique_id"],
                "user_id": inf["user_id"],
                "video_desc": t.VIDEO_DESCS[int(r() * len(t.VIDEO_DESCS))],
                "video_id": vid,
                "width": width,
            }
        )
    return out


def make_livestreams(seed: int, inf: Record, hidden: Hidden) -> list[Record]:
    """Livestreams newest first (the only order the endpoint offers)."""
    rng = random.Random(f"{seed}|live|{inf['user_id']}")
    r = rng.random
    sells = inf["sales_flag"] in (2, 3)
    out: list[Record] = []
    for i, create_time in enumerate(_times(rng, hidden.n_live, _YEAR)):
        room = f"73{hidden.uid_int % 10**11:011d}{i:06d}"
        duration = 600 + int(r() * 20000)
        joins = int(10 ** (1 + 3.5 * r()))
        products = int(r() * 100) if sells else 0
        sale_cnt = int(r() * 300) if products else 0
        out.append(
            {
                "cover_url": f"https://echosell-images.tos-ap-southeast-1.volces.com/live-cover/36/{room}.jpeg",
                "create_time": create_time,
                "duration": duration,
                "finish_time": create_time + duration,
                "nick_name": inf["nick_name"],
                "region": inf["region"],
                "room_id": room,
                "title": t.LIVE_TITLES[int(r() * len(t.LIVE_TITLES))],
                "total_comments_cnt": int(joins * 0.2 * r()),
                "total_digg_cnt": int(joins * 3 * r()),
                "total_followers_cnt": int(joins * 0.01 * r()),
                "total_joins_cnt": joins,
                "total_product_cnt": products,
                "total_sale_cnt": sale_cnt,
                "total_sale_gmv_amt": _money(rng, sale_cnt * (3 + 60 * r())) if sale_cnt else 0.0,
                "total_views_cnt": joins + int(joins * 0.5 * r()),
                "user_id": inf["user_id"],
            }
        )
    return out


_SCALE = {1: 1 / 30, 2: 7 / 30, 3: 1.0}


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _float(value: object) -> float:
    assert isinstance(value, float)
    return value


def make_ranking_rows(
    seed: int, date: str, rank_type: int, people: Sequence[tuple[Record, Hidden]]
) -> list[tuple[Record, Hidden]]:
    """One row per influencer active in the period (unsorted, unfiltered)."""
    rng = random.Random(f"{seed}|ranking|{date}|{rank_type}")
    r = rng.random
    scale = _SCALE[rank_type]
    out: list[tuple[Record, Hidden]] = []
    for inf, hidden in people:
        active = r() < 0.6
        jitter = 0.5 + r()
        sale_hist = _int(inf["total_sale_cnt"])
        gmv_hist = _float(inf["total_sale_gmv_amt"])
        live_hist = _int(inf["total_live_cnt"])
        sales = int(sale_hist * 0.3 * scale * jitter)
        price = gmv_hist / sale_hist if sale_hist else 0.0
        triples = hidden.triples
        row: Record = {
            "avatar": inf["avatar"],
            "category": inf["category"],
            "ec_score": inf["ec_score"],
            "nick_name": inf["nick_name"],
            "region": inf["region"],
            "sales_flag": inf["sales_flag"],
            "total_digg_cnt": int(_int(inf["total_digg_30d_cnt"]) * scale * jitter),
            "total_digg_history_cnt": inf["total_digg_cnt"],
            "total_followers_cnt": int(_int(inf["total_followers_30d_cnt"]) * scale * jitter),
            "total_followers_history_cnt": inf["total_followers_cnt"],
            "total_live_cnt": min(live_hist, int(r() * (1 + 8 * scale))),
            "total_live_history_cnt": live_hist,
            "total_post_video_cnt": int(r() * (1 + 20 * scale)) if hidden.n_videos else 0,
            "total_post_video_history_cnt": inf["total_post_video_cnt"],
            "total_product_cnt": int(_int(inf["total_product_30d_cnt"]) * scale * r()),
            "total_product_history_cnt": inf["total_product_cnt"],
            "total_sale_cnt": sales,
            "total_sale_gmv_amt": _money(rng, sales * price),
            "total_sale_gmv_history_amt": gmv_hist,
            "total_sale_history_cnt": sale_hist,
            "user_id": inf["user_id"],
            "unique_id": inf["unique_id"],
            "product_category_list": ",".join(
                f"{a}-{b}-{c}:{i}" for i, (a, b, c) in enumerate(triples, 1)
            ),
            "most_category_id": triples[0][0] if triples else "",
            "most_category_l2_id": triples[0][1] if triples else "",
            "most_category_l3_id": triples[0][2] if triples else "",
        }
        if active:
            out.append((row, hidden))
    return out
