"""Tests of the fake KeyAPI server's endpoints, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from keyapi_async.testing import FakeKeyAPI
from keyapi_async.testing import _schema as schema
from keyapi_async.testing._dataset import Dataset
from keyapi_async.testing._render import canonical

from . import endpoints
from .fake_http import Json, all_pages, call, ok

LIST, DETAIL, VIDEOS = endpoints.LIST.path, endpoints.DETAIL.path, endpoints.VIDEOS.path
RANKING, LIVES = endpoints.RANKING.path, endpoints.LIVESTREAMS.path
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture
async def api() -> AsyncIterator[FakeKeyAPI]:
    async with FakeKeyAPI() as server:
        yield server


# --- auth, envelope, pagination ---------------------------------------------------------


@pytest.mark.parametrize("key", [None, "sk_wrong"])
async def test_bad_or_missing_key_is_401(
    api: FakeKeyAPI, session: aiohttp.ClientSession, key: str | None
) -> None:
    status, body = await call(session, api, LIST, key=key, region="US", page_num=1, page_size=1)
    assert status == 401
    assert body["code"] == 401
    assert body["data"] is None
    assert body["message"] == "apiKey is null"
    assert UUID.fullmatch(body["requestId"])
    assert api.requests[-1].authorized is False
    assert api.requests[-1].status == 401


async def test_pages_slice_the_query_and_end_empty(
    api: FakeKeyAPI, session: aiohttp.ClientSession
) -> None:
    expected = [r["user_id"] for r in api.dataset.influencers if r["region"] == "GB"]
    assert 10 < len(expected) < 100
    assert [int(u) for u in expected] == sorted(int(u) for u in expected)
    page2 = await ok(session, api, LIST, region="GB", page_num=2, page_size=7)
    assert [r["user_id"] for r in page2] == expected[7:14]
    got = await all_pages(session, api, LIST, region="GB")
    assert [r["user_id"] for r in got] == expected
    past = (len(expected) // 10) + 2
    assert await ok(session, api, LIST, region="GB", page_num=past, page_size=10) == []


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"page_num": 1, "page_size": 10}, "region"),
        ({"region": "US", "page_size": 10}, "page_num"),
        ({"region": "US", "page_num": 0, "page_size": 10}, "page_num"),
        ({"region": "US", "page_num": 10001, "page_size": 10}, "page_num"),
        ({"region": "US", "page_num": "x", "page_size": 10}, "page_num"),
        ({"region": "US", "page_num": 1, "page_size": 11}, "page_size"),
        ({"region": "US", "page_num": 1, "page_size": 5, "sort_type": 2}, "sort_type"),
        ({"region": "US", "page_num": 1, "page_size": 5, "influencer_sort_field_v2": 7}, None),
        ({"region": "US", "page_num": 1, "page_size": 5, "min_interaction_rate": "a"}, None),
    ],
)
async def test_bad_parameters_are_400_naming_the_parameter(
    api: FakeKeyAPI, session: aiohttp.ClientSession, params: Json, param: str | None
) -> None:
    status, body = await call(session, api, LIST, **params)
    assert status == 400
    assert body["code"] == 400
    assert body["data"] is None
    assert (param or "") in body["message"]
    assert (api.requests[-1].status, api.requests[-1].code) == (400, 400)


async def test_empty_params_are_logged_and_ignored(
    api: FakeKeyAPI, session: aiohttp.ClientSession
) -> None:
    data = await ok(
        session, api, LIST, region="US", page_num=1, page_size=10, gender="", sales_flag=""
    )
    plain = await ok(session, api, LIST, region="US", page_num=1, page_size=10)
    assert [r["user_id"] for r in data] == [r["user_id"] for r in plain]
    assert api.requests[0].params == {
        "region": "US",
        "page_num": "1",
        "page_size": "10",
        "gender": "",
        "sales_flag": "",
    }


# --- list filters and sorts -------------------------------------------------------------


def _value(ds: Dataset, rec: Json, name: str) -> float:
    """A record field, or a hidden metric the API filters on but never returns."""
    value = rec[name] if name in rec else getattr(ds.hidden(rec["user_id"]), name)
    assert isinstance(value, (int, float))
    return value


# (metric, min_, max_) range filters; None leaves that bound out.
RANGES = [
    ("total_followers_cnt", 10_000, None),
    ("total_followers_cnt", None, 5_000),
    ("total_digg_cnt", 1000, 500_000),
    ("interaction_rate", 0.05, 0.15),
    ("total_views_cnt", 1, 10**6),
    ("total_views_7d_cnt", 500, None),
    ("total_views_7d_cnt", None, 100),
    ("per_video_product_views_avg_cnt", 1, None),
    ("per_video_product_views_avg_cnt", None, 0),
    ("per_video_product_views_avg_7d_cnt", 5, None),
    ("per_video_product_views_avg_7d_cnt", None, 0),
]
EQUALS: list[tuple[Json, Callable[[Json], bool]]] = [
    ({"influencer_category_name": "Beauty"}, lambda r: r["category"] == "Beauty"),
    (
        {"product_category_id": "601450"},
        lambda r: any(c["category_id"] == "601450" for c in r["most_category_product"]),
    ),
    ({"gender": "female"}, lambda r: r["gender"] == "female"),
    ({"influencer_language": "es"}, lambda r: r["language"] == "es"),
    ({"show_case_flag": 1}, lambda r: r["show_case_flag"] == 1),
    ({"sales_flag": 2}, lambda r: r["sales_flag"] == 2),
    ({"sales_flag": 0, "gender": "male"}, lambda r: r["sales_flag"] == 0 and r["gender"] == "male"),
]


async def _check_filter(
    api: FakeKeyAPI, s: aiohttp.ClientSession, params: Json, keep: Callable[[Json], bool]
) -> None:
    us = [r for r in api.dataset.influencers if r["region"] == "US"]
    expected = [r["user_id"] for r in us if keep(r)]
    assert 0 < len(expected) < len(us), "filter should select a strict, non-empty subset"
    got = await all_pages(s, api, LIST, region="US", **params)
    assert [r["user_id"] for r in got] == expected
    query = {"region": "US", **{k: str(v) for k, v in params.items()}}
    assert [r["user_id"] for r in api.dataset.query_influencers(query)] == expected


@pytest.mark.parametrize(("metric", "lo", "hi"), RANGES)
async def test_list_range_filters(
    api: FakeKeyAPI, session: aiohttp.ClientSession, metric: str, lo: float | None, hi: float | None
) -> None:
    params = {f"min_{metric}": lo, f"max_{metric}": hi}
    params = {k: v for k, v in params.items() if v is not None}

    def keep(r: Json) -> bool:
        v = _value(api.dataset, r, metric)
        return (lo is None or v >= lo) and (hi is None or v <= hi)

    await _check_filter(api, session, params, keep)


@pytest.mark.parametrize(("params", "keep"), EQUALS)
async def test_list_equality_filters(
    api: FakeKeyAPI, session: aiohttp.ClientSession, params: Json, keep: Callable[[Json], bool]
) -> None:
    await _check_filter(api, session, params, keep)


SORTS = {
    1: lambda r: r["total_followers_cnt"],
    2: lambda r: r["total_followers_30d_cnt"],
    3: lambda r: r["total_post_video_cnt"],
    4: lambda r: r["total_views_cnt"] // max(r["total_post_video_cnt"], 1),
    5: lambda r: r["interaction_rate"],
    6: lambda r: r["total_product_cnt"],
}


@pytest.mark.parametrize("field", sorted(SORTS))
@pytest.mark.parametrize("sort_type", [0, 1])
async def test_list_sorts(
    api: FakeKeyAPI, session: aiohttp.ClientSession, field: int, sort_type: int
) -> None:
    ds, value = api.dataset, SORTS[field]
    got = await all_pages(
        session, api, LIST, region="US", influencer_sort_field_v2=field, sort_type=sort_type
    )
    recs = [ds.by_user_id(r["user_id"]) for r in got]
    sign = -1 if sort_type else 1
    keys = [(sign * value(r), int(r["user_id"])) for r in recs if r is not None]
    assert len(keys) == len(got) == sum(r["region"] == "US" for r in ds.influencers)
    assert keys == sorted(keys)
    assert len({k[0] for k in keys}) > 5  # the field really varies


# --- detail, videos, livestreams, ranking -------------------------------------------------


async def test_detail_returns_found_ids_by_user_id_descending(
    api: FakeKeyAPI, session: aiohttp.ClientSession
) -> None:
    a, b, c = api.dataset.influencers[3], api.dataset.influencers[50], api.dataset.influencers[9]
    data = await ok(
        session,
        api,
        DETAIL,
        user_ids=f"{a['user_id']},999,{b['user_id']}",
        unique_ids=f"{c['unique_id']},nobody_here,{a['unique_id']}",
    )
    assert [r["user_id"] for r in data] == [b["user_id"], c["user_id"], a["user_id"]]
    assert {r["unique_id"] for r in data} == {a["unique_id"], b["unique_id"], c["unique_id"]}
    assert await ok(session, api, DETAIL, user_ids="1,2") == []
    status, body = await call(session, api, DETAIL, user_ids="")
    assert status == 400
    assert "user_ids" in body["message"]


async def test_videos_by_user_id_and_unique_id(
    api: FakeKeyAPI, session: aiohttp.ClientSession
) -> None:
    ds = api.dataset
    rec = max(ds.influencers, key=lambda r: ds.hidden(r["user_id"]).n_videos)
    uid = rec["user_id"]
    by_id = await all_pages(session, api, VIDEOS, user_id=uid)
    by_handle = await all_pages(session, api, VIDEOS, unique_id=rec["unique_id"])
    assert by_id == by_handle
    assert len(by_id) == ds.hidden(uid).n_videos > 20
    assert [v["video_id"] for v in by_id] == [v["video_id"] for v in ds.videos(uid)]
    times = [int(v["create_time"]) for v in by_id]
    assert times == sorted(times, reverse=True)
    assert all(v["user_id"] == uid and v["unique_id"] == rec["unique_id"] for v in by_id)
    top = max(ds.videos(uid), key=lambda v: v["total_views_cnt"])
    assert top["video_id"] == rec["most_views_video"]
    by_views = await all_pages(
        session, api, VIDEOS, user_id=uid, influencer_video_sort_field=1, sort_type=1
    )
    views = [canonical(schema.VIDEO, v)["total_views_cnt"] for v in by_views]
    assert views == sorted(views, reverse=True)
    assert views[0] == top["total_views_cnt"]
    assert await ok(session, api, VIDEOS, user_id="123", page_num=1, page_size=10) == []
    status, body = await call(session, api, VIDEOS, page_num=1, page_size=10)
    assert status == 400
    assert "user_id" in body["message"]


async def test_livestreams(api: FakeKeyAPI, session: aiohttp.ClientSession) -> None:
    ds = api.dataset
    rec = max(ds.influencers, key=lambda r: ds.hidden(r["user_id"]).n_live)
    lives = await all_pages(session, api, LIVES, user_id=rec["user_id"])
    expected = ds.livestreams(rec["user_id"])
    assert len(lives) == len(expected) == ds.hidden(rec["user_id"]).n_live > 10
    assert [canonical(schema.LIVESTREAM, w) for w in lives] == expected
    assert all(c["finish_time"] == c["create_time"] + c["duration"] for c in expected)
    assert rec["total_live_cnt"] >= len(expected)
    status, _ = await call(session, api, LIVES, page_num=1, page_size=10)
    assert status == 400


async def test_ranking_is_deterministic_and_sorted(
    api: FakeKeyAPI, session: aiohttp.ClientSession
) -> None:
    q = {"date": "2025-01-06", "region": "US", "rank_type": 2, "influencer_rank_field": 2}
    first = await all_pages(session, api, RANKING, **q)
    assert first == await all_pages(session, api, RANKING, **q)
    async with FakeKeyAPI() as twin:
        assert first == await all_pages(session, twin, RANKING, **q)
    rows = [canonical(schema.RANKING, r) for r in first]
    assert rows == api.dataset.ranking("2025-01-06", "US", 2, 2)
    sales = [r["total_sale_cnt"] for r in rows]
    assert sales == sorted(sales, reverse=True)
    assert sales[-1] > 0
    assert len(rows) > 10
    assert all(r["total_sale_history_cnt"] >= r["total_sale_cnt"] for r in rows)
    other_day = await all_pages(session, api, RANKING, **{**q, "date": "2025-01-13"})
    assert [r["user_id"] for r in other_day] != [r["user_id"] for r in first]
    beauty = await all_pages(session, api, RANKING, **q, influencer_category_name="Beauty")
    assert beauty
    assert all(r["category"] == "Beauty" for r in beauty)
    prod = await all_pages(session, api, RANKING, **q, product_category_id="601450")
    assert prod
    assert all("601450-" in r["product_category_list"] for r in prod)
    for bad in ({"date": "2025-13-01"}, {"rank_type": 4}, {"influencer_rank_field": 0}):
        status, body = await call(session, api, RANKING, **{**q, **bad}, page_num=1, page_size=1)
        assert status == 400
        assert next(iter(bad)) in body["message"]
