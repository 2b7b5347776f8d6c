"""The five endpoints: validate parameters, query the dataset, return rendered records."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from . import _params as p
from . import _schema as s
from ._dataset import Dataset, Record

Endpoint = Callable[[Dataset, Mapping[str, str]], list[bytes]]

BASE = "/v1/tiktok/influencer"


def _slice(rows: Sequence[Record], page_num: int, page_size: int) -> Sequence[Record]:
    start = (page_num - 1) * page_size
    return rows[start : start + page_size]


def _influencers(ds: Dataset, rows: Sequence[Record]) -> list[bytes]:
    render = ds.renderer.render
    return [render(r, s.INFLUENCER, f"inf|{r['user_id']}") for r in rows]


def list_analytics(ds: Dataset, params: Mapping[str, str]) -> list[bytes]:
    rows = ds.query_influencers(params)
    num, size = p.page(params, 10_000)
    return _influencers(ds, _slice(rows, num, size))


def _ids(params: Mapping[str, str], name: str) -> list[str]:
    raw = p.opt_str(params, name) or ""
    return [part.strip() for part in raw.split(",") if part.strip()]


def detail_analytics(ds: Dataset, params: Mapping[str, str]) -> list[bytes]:
    user_ids, handles = _ids(params, "user_ids"), _ids(params, "unique_ids")
    if not user_ids and not handles:
        raise p.ParamError("user_ids", missing=True)
    found: dict[str, Record] = {}
    for rec in [ds.by_user_id(u) for u in user_ids] + [ds.by_unique_id(h) for h in handles]:
        if rec is not None:
            found[str(rec["user_id"])] = rec
    # Deliberately not the requested order: user_id descending.
    rows = sorted(found.values(), key=lambda r: int(str(r["user_id"])), reverse=True)
    return _influencers(ds, rows)


def videos_analytics(ds: Dataset, params: Mapping[str, str]) -> list[bytes]:
    user_id = p.opt_str(params, "user_id")
    handle = p.opt_str(params, "unique_id")
    if user_id is None and handle is None:
        raise p.ParamError("user_id", missing=True)
    sort_field = p.opt_int(params, "influencer_video_sort_field", 1, 4)
    sort_type = p.opt_int(params, "sort_type", 0, 1)
    num, size = p.page(params, 100_000)
    if user_id is None:
        rec = ds.by_unique_id(handle or "")
        user_id = str(rec["user_id"]) if rec is not None else ""
    rows = _slice(ds.videos(user_id, sort_field, sort_type), num, size)
    render = ds.renderer.render
    return [render(v, s.VIDEO, f"vid|{v['video_id']}", s.VIDEO_STRINGLY) for v in rows]


def ranking_analytics(ds: Dataset, params: Mapping[str, str]) -> list[bytes]:
    date = p.req_date(params, "date")
    region = p.req_str(params, "region")
    rank_type = p.req_int(params, "rank_type", 1, 3)
    field = p.req_int(params, "influencer_rank_field", 1, 2)
    category = p.opt_str(params, "influencer_category_name")
    product = p.opt_str(params, "product_category_id")
    num, size = p.page(params, 100_000)
    rows = ds.ranking(date, region, rank_type, field, category, product)
    render = ds.renderer.render
    return [
        render(r, s.RANKING, f"rank|{date}|{rank_type}|{r['user_id']}")
        for r in _slice(rows, num, size)
    ]


def livestreams_analytics(ds: Dataset, params: Mapping[str, str]) -> list[bytes]:
    user_id = p.req_str(params, "user_id")
    num, size = p.page(params, 100_000)
    rows = _slice(ds.livestreams(user_id), num, size)
    render = ds.renderer.render
    return [render(r, s.LIVESTREAM, f"live|{r['room_id']}") for r in rows]


ENDPOINTS: dict[str, Endpoint] = {
    f"{BASE}/list/analytics": list_analytics,
    f"{BASE}/detail/analytics": detail_analytics,
    f"{BASE}/videos/analytics": videos_analytics,
    f"{BASE}/ranking/analytics": ranking_analytics,
    f"{BASE}/livestreams/analytics": livestreams_analytics,
}
