"""Argument validation: every rule raises InvalidParameterError when the method is called,
naming the parameter and what is allowed, and nothing is ever sent for a refused call."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyapi_async import (
    InfluencerSortField,
    InvalidParameterError,
    KeyAPI,
    Paginator,
    RankField,
    RankType,
    RateLimiter,
    SalesFlag,
    SortType,
    VideoSortField,
)
from keyapi_async.testing import FakeKeyAPI

from . import endpoints
from .conftest import MakeClient

UID = "104312351695292486"  # a numeric ID; validation never looks it up
BASE: dict[str, dict[str, Any]] = {
    "list": {"region": "US"},
    "videos": {"user_id": UID},
    "ranking": {"date": "2024-03-04", "region": "US", "rank_type": 1, "influencer_rank_field": 1},
    "livestreams": {"user_id": UID},
}
CEILING = {row.method: row.ceiling for row in endpoints.PAGINATED if row.ceiling is not None}
METHODS = sorted(BASE)


def call(client: KeyAPI, method: str, overrides: dict[str, Any]) -> Any:
    return getattr(client.influencers, method)(**{**BASE[method], **overrides})


def check_error(err: InvalidParameterError, parameter: str, fragments: tuple[str, ...]) -> None:
    assert isinstance(err, ValueError)
    assert err.parameter == parameter
    message = str(err)
    assert message.startswith(f"{parameter}: "), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def nothing_sent(fake: FakeKeyAPI, client: KeyAPI) -> None:
    assert fake.requests == []
    assert client.usage.requests == 0


def case(method: str, parameter: str, *fragments: str, **overrides: Any) -> Any:
    shown = ",".join(f"{k}={v!r}" for k, v in overrides.items())
    return pytest.param(method, overrides, parameter, fragments, id=f"{method}:{shown}")


def _paging_cases() -> list[Any]:
    out = []
    for m in METHODS:
        top = CEILING[m]
        out += [
            case(m, "page_size", "1..10", page_size=0),
            case(m, "page_size", "1..10", page_size=11),
            case(m, "page_size", "1..10", page_size=True),
            case(m, "page_size", "1..10", page_size=5.0),
            case(m, "start_page", f"1..{top}", start_page=0),
            case(m, "start_page", f"1..{top}", start_page=-3),
            case(m, "start_page", f"1..{top}", start_page=top + 1),
            case(m, "start_page", f"1..{top}", start_page=True),
            case(m, "max_pages", ">= 1", max_pages=0),
            case(m, "max_pages", ">= 1", max_pages=False),
            case(m, "limit", ">= 1", limit=0),
            case(m, "limit", ">= 1", limit=-1),
            case(m, "limit", ">= 1", limit=True),
            case(m, "concurrency", "1..", concurrency=0),
            case(m, "concurrency", "1..", concurrency=True),
        ]
    return out


RANGES = [
    "total_followers_cnt",
    "total_digg_cnt",
    "interaction_rate",
    "total_views_cnt",
    "total_views_7d_cnt",
    "per_video_product_views_avg_cnt",
    "per_video_product_views_avg_7d_cnt",
]

CASES = [
    *_paging_cases(),
    # list
    case("list", "region", "non-empty", region=""),
    case("list", "region", "non-empty", region="   "),
    case("list", "region", "required", region=None),
    case("list", "region", "string", region=1),
    *[
        case("list", name, "non-empty", **{name: ""})
        for name in ("product_category_id", "influencer_category_name", "gender")
    ],
    case("list", "influencer_language", "non-empty", influencer_language=""),
    case("list", "influencer_sort_field_v2", "0=DEFAULT", "6=", influencer_sort_field_v2=7),
    case("list", "influencer_sort_field_v2", "0=DEFAULT", "6=", influencer_sort_field_v2=-1),
    case("list", "influencer_sort_field_v2", "0=DEFAULT", influencer_sort_field_v2=False),
    case("list", "sort_type", "0=ASC", "1=DESC", sort_type=2),
    case("list", "sort_type", "0=ASC", "1=DESC", sort_type=True),
    case("list", "sales_flag", "0=NONE", "4=SHOWCASE", sales_flag=5),
    case("list", "sales_flag", "0=NONE", "4=SHOWCASE", sales_flag=-1),
    case("list", "sales_flag", "0=NONE", sales_flag=True),
    case("list", "show_case_flag", "0, 1", show_case_flag=2),
    case("list", "min_total_followers_cnt", ">= 0", min_total_followers_cnt=-1),
    case("list", "min_total_followers_cnt", ">= 0", min_total_followers_cnt=True),
    case("list", "max_total_digg_cnt", ">= 0", max_total_digg_cnt=1.5),
    case("list", "min_interaction_rate", ">= 0", min_interaction_rate=-0.1),
    case("list", "min_interaction_rate", "finite", min_interaction_rate=math.nan),
    case("list", "max_interaction_rate", ">= 0", max_interaction_rate=True),
    *[
        case("list", f"min_{name}", f"max_{name}", **{f"min_{name}": 5, f"max_{name}": 4})
        for name in RANGES
    ],
    # videos
    case("videos", "user_id", "exactly one", user_id=None),
    case("videos", "user_id", "exactly one", "not both", unique_id="leo_hoffmann"),
    case("videos", "user_id", "numeric", "unique_id", user_id="bible._.verse"),
    case("videos", "user_id", "numeric", "unique_id", user_id="@leo_hoffmann"),
    case("videos", "user_id", "numeric", user_id=-5),
    case("videos", "user_id", "numeric", user_id=1.0),
    case("videos", "user_id", "numeric", user_id=True),
    case("videos", "user_id", "numeric", user_id=""),
    case("videos", "unique_id", "non-empty", user_id=None, unique_id=""),
    case("videos", "unique_id", "handle", user_id=None, unique_id="a,b"),
    case("videos", "unique_id", "handle", user_id=None, unique_id="@"),
    case("videos", "influencer_video_sort_field", "1=", "4=", influencer_video_sort_field=0),
    case("videos", "influencer_video_sort_field", "4=CREATE_TIME", influencer_video_sort_field=5),
    case("videos", "influencer_video_sort_field", "1=", influencer_video_sort_field=True),
    case("videos", "sort_type", "0=ASC", "1=DESC", sort_type=-1),
    # ranking
    case("ranking", "date", "yyyy-MM-dd", date="2024/03/04"),
    case("ranking", "date", "yyyy-MM-dd", date="2024-3-4"),
    case("ranking", "date", "yyyy-MM-dd", date="2024-02-30"),
    case("ranking", "date", "yyyy-MM-dd", date=""),
    case("ranking", "date", "yyyy-MM-dd", date=20240304),
    case("ranking", "date", "datetime.date", date=dt.datetime(2024, 3, 4)),
    case("ranking", "date", "required", date=None),
    case("ranking", "date", "Monday", "rank_type=2", rank_type=2, date="2024-03-05"),
    case("ranking", "date", "Monday", rank_type=RankType.WEEK, date=dt.date(2024, 3, 1)),
    case("ranking", "date", "first", "rank_type=3", rank_type=3, date="2024-03-04"),
    case("ranking", "date", "first", rank_type=RankType.MONTH, date=dt.date(2024, 2, 29)),
    case("ranking", "rank_type", "1=DAY", "3=MONTH", rank_type=0),
    case("ranking", "rank_type", "1=DAY", "3=MONTH", rank_type=4),
    case("ranking", "rank_type", "1=DAY", rank_type=True),
    case("ranking", "rank_type", "required", rank_type=None),
    case("ranking", "influencer_rank_field", "1=", "2=", influencer_rank_field=0),
    case("ranking", "influencer_rank_field", "1=", "2=", influencer_rank_field=3),
    case("ranking", "influencer_rank_field", "1=", influencer_rank_field=True),
    case("ranking", "region", "non-empty", region=""),
    case("ranking", "influencer_category_name", "non-empty", influencer_category_name=""),
    case("ranking", "product_category_id", "non-empty", product_category_id=""),
    # livestreams
    case("livestreams", "user_id", "required", user_id=None),
    case("livestreams", "user_id", "numeric", "unique_id", user_id="leo_hoffmann"),
    case("livestreams", "user_id", "numeric", user_id=""),
]


@pytest.mark.parametrize(("method", "overrides", "parameter", "fragments"), CASES)
async def test_refused_at_call_time_and_nothing_sent(
    fake: FakeKeyAPI,
    client: KeyAPI,
    method: str,
    overrides: dict[str, Any],
    parameter: str,
    fragments: tuple[str, ...],
) -> None:
    # No await: the mistake raises where the method is called, while building the paginator.
    with pytest.raises(InvalidParameterError) as info:
        call(client, method, overrides)
    check_error(info.value, parameter, fragments)
    nothing_sent(fake, client)


@pytest.mark.parametrize(
    ("method", "overrides"),
    [
        *[(m, {"start_page": CEILING[m], "page_size": 1}) for m in METHODS],
        *[(m, {"page_size": 10, "max_pages": 1, "limit": 1, "concurrency": 1}) for m in METHODS],
        ("list", {"min_total_followers_cnt": 5, "max_total_followers_cnt": 5}),
        (
            "list",
            {"min_interaction_rate": 0.1, "max_interaction_rate": 0.1, "show_case_flag": True},
        ),
        ("videos", {"user_id": int(UID)}),
        ("videos", {"user_id": None, "unique_id": "@leo_hoffmann"}),
        ("ranking", {"rank_type": 2, "date": dt.date(2024, 3, 4)}),
        ("ranking", {"rank_type": 3, "date": "2024-02-01"}),
    ],
)
async def test_valid_calls_build_a_paginator_without_sending(
    fake: FakeKeyAPI, client: KeyAPI, method: str, overrides: dict[str, Any]
) -> None:
    pager = call(client, method, overrides)
    assert isinstance(pager, Paginator)
    nothing_sent(fake, client)


DETAIL_CASES = [
    pytest.param({}, "user_ids", ("at least one",), id="nothing"),
    pytest.param({"user_ids": []}, "user_ids", ("at least one",), id="empty-list"),
    pytest.param(
        {"user_ids": [], "unique_ids": ()}, "user_ids", ("at least one",), id="both-empty"
    ),
    pytest.param({"user_ids": ""}, "user_ids[0]", ("numeric",), id="empty-string"),
    pytest.param({"user_ids": f"{UID},,1"}, "user_ids[1]", ("numeric",), id="empty-piece"),
    pytest.param({"user_ids": f"{UID},"}, "user_ids[1]", ("numeric",), id="trailing-comma"),
    pytest.param({"unique_ids": "a,,b"}, "unique_ids[1]", ("non-empty",), id="empty-handle"),
    pytest.param({"unique_ids": ["a", "@"]}, "unique_ids[1]", ("handle",), id="bare-at"),
    pytest.param(
        {"user_ids": [UID, "leo_hoffmann"]}, "user_ids[1]", ("numeric", "unique_id"), id="handle"
    ),
    pytest.param({"user_ids": [True]}, "user_ids[0]", ("numeric",), id="bool"),
    pytest.param({"user_ids": int(UID)}, "user_ids", ("list of IDs",), id="bare-int"),
]


@pytest.mark.parametrize(("kwargs", "parameter", "fragments"), DETAIL_CASES)
async def test_detail_refuses_bad_ids_and_sends_nothing(
    fake: FakeKeyAPI,
    client: KeyAPI,
    kwargs: dict[str, Any],
    parameter: str,
    fragments: tuple[str, ...],
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        await client.influencers.detail(**kwargs)
    check_error(info.value, parameter, fragments)
    nothing_sent(fake, client)


@pytest.mark.parametrize(
    ("options", "parameter", "allowed"),
    [
        ({"qps": 0}, "qps", "> 0"),
        ({"qps": -1.5}, "qps", "> 0"),
        ({"qps": math.inf}, "qps", "> 0"),
        ({"qps": True}, "qps", "> 0"),
        ({"max_retries": -1}, "max_retries", ">= 0"),
        ({"max_retries": True}, "max_retries", ">= 0"),
        ({"timeout": 0}, "timeout", "> 0"),
        ({"timeout": -2.0}, "timeout", "> 0"),
        ({"retry_base_delay": 2, "retry_max_delay": 1}, "retry_base_delay", "retry_max_delay"),
        ({"retry_base_delay": -0.1}, "retry_base_delay", ">= 0"),
        ({"detail_batch_size": 0}, "detail_batch_size", "1..100"),
        ({"detail_batch_size": 101}, "detail_batch_size", "1..100"),
        ({"max_credits": 0}, "max_credits", ">= 1"),
        ({"base_url": "ftp://127.0.0.1"}, "base_url", "http(s)"),
        ({"base_url": "api.keyapi.ai"}, "base_url", "http(s)"),
    ],
)
async def test_client_options_are_checked(
    fake: FakeKeyAPI, options: dict[str, Any], parameter: str, allowed: str
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        KeyAPI(fake.api_key, **{"base_url": fake.url, **options})
    check_error(info.value, parameter, (allowed,))
    assert fake.requests == []


async def test_a_limiter_and_a_custom_qps_are_refused_together(fake: FakeKeyAPI) -> None:
    limiter = RateLimiter(5)
    with pytest.raises(InvalidParameterError) as info:
        KeyAPI(fake.api_key, base_url=fake.url, limiter=limiter, qps=3)
    check_error(info.value, "qps", ("limiter",))
    with pytest.raises(InvalidParameterError) as info:  # even the default's value, if passed
        KeyAPI(fake.api_key, base_url=fake.url, limiter=limiter, qps=10.0)
    check_error(info.value, "qps", ("limiter",))
    # With qps left unset (or None) the limiter is taken as the pacing.
    async with KeyAPI(fake.api_key, base_url=fake.url, limiter=limiter) as client:
        assert client.limiter is limiter
    async with KeyAPI(fake.api_key, base_url=fake.url, limiter=limiter, qps=None) as client:
        assert client.limiter is limiter
    for size in (1, 100):
        async with KeyAPI(fake.api_key, base_url=fake.url, detail_batch_size=size) as client:
            assert client.detail_batch_size == size
    assert fake.requests == []


# --- what goes on the wire ---------------------------------------------------------


def _uid(fake: FakeKeyAPI) -> str:
    return str(fake.dataset.influencers[0]["user_id"])


WIRE = [
    (
        "list",
        {
            "influencer_sort_field_v2": InfluencerSortField.INTERACTION_RATE,
            "sort_type": SortType.DESC,
        },
        {"influencer_sort_field_v2": 5, "sort_type": 1},
    ),
    ("list", {"sales_flag": SalesFlag.VIDEO_AND_LIVE}, {"sales_flag": 3}),
    (
        "videos",
        {"influencer_video_sort_field": VideoSortField.CREATE_TIME, "sort_type": SortType.ASC},
        {"influencer_video_sort_field": 4, "sort_type": 0},
    ),
    (
        "ranking",
        {"rank_type": RankType.WEEK, "influencer_rank_field": RankField.TOTAL_SALE_CNT},
        {"rank_type": 2, "influencer_rank_field": 2},
    ),
]


@pytest.mark.parametrize(("method", "members", "ints"), WIRE)
async def test_intenum_members_and_ints_send_the_same_query(
    fake: FakeKeyAPI, client: KeyAPI, method: str, members: dict[str, Any], ints: dict[str, int]
) -> None:
    base = {**BASE[method], "user_id": _uid(fake)} if "user_id" in BASE[method] else BASE[method]
    sent = []
    for values in (members, ints):
        await getattr(client.influencers, method)(**{**base, **values}, limit=1)
        sent.append(fake.requests[-1].params)
    assert sent[0] == sent[1]
    for name, value in ints.items():
        assert sent[0][name] == str(value)
    assert len(fake.requests) == 2
    assert all(r.status == 200 for r in fake.requests)


async def test_unset_optional_params_are_not_sent(fake: FakeKeyAPI, client: KeyAPI) -> None:
    uid = _uid(fake)
    paging = {"page_num": "1", "page_size": "10"}
    await client.influencers.list(region="US")
    assert fake.requests[-1].params == {"region": "US", **paging}
    await client.influencers.videos(user_id=uid)
    assert fake.requests[-1].params == {"user_id": uid, **paging}
    await client.influencers.videos(unique_id="@leo_hoffmann", page_size=3)
    assert fake.requests[-1].params == {
        "unique_id": "leo_hoffmann",
        "page_num": "1",
        "page_size": "3",
    }
    await client.influencers.ranking(**BASE["ranking"])
    want = {"date": "2024-03-04", "region": "US", "rank_type": "1", "influencer_rank_field": "1"}
    assert fake.requests[-1].params == {**want, **paging}
    await client.influencers.livestreams(user_id=int(uid), start_page=2)
    assert fake.requests[-1].params == {"user_id": uid, "page_num": "2", "page_size": "10"}
    assert len(fake.requests) == client.usage.requests == 5


async def test_a_date_and_its_string_send_the_same_date(fake: FakeKeyAPI, client: KeyAPI) -> None:
    base: dict[str, Any] = {"region": "US", "rank_type": RankType.WEEK, "influencer_rank_field": 1}
    await client.influencers.ranking(date=dt.date(2024, 3, 4), **base)
    await client.influencers.ranking(date="2024-03-04", **base)
    first, second = (r.params for r in fake.requests)
    assert first == second
    assert first["date"] == "2024-03-04"


async def test_validation_happens_at_call_not_await(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client()
    pager = client.influencers.list(region="US", page_size=2)
    assert isinstance(pager, Paginator)
    nothing_sent(fake, client)  # building a paginator sends nothing
    with pytest.raises(InvalidParameterError):
        client.influencers.list(region="US", page_size=11)  # raises without any await
    page = await pager
    assert len(page.items) == 2
    assert len(fake.requests) == 1


# --- a property: paging numbers, offline -------------------------------------------

OFFLINE = "http://127.0.0.1:9"  # nothing listens there: anything sent would fail loudly


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(METHODS),
    page_size=st.one_of(st.integers(-3, 14), st.integers()),
    start_page=st.one_of(
        st.integers(-3, 5), st.integers(9_995, 10_005), st.integers(99_995, 100_005), st.integers()
    ),
)
def test_paging_numbers_property(method: str, page_size: int, start_page: int) -> None:
    client = KeyAPI("sk_test_offline", base_url=OFFLINE, qps=None)

    def build() -> Any:
        return call(client, method, {"page_size": page_size, "start_page": start_page})

    size_ok = 1 <= page_size <= 10
    start_ok = 1 <= start_page <= CEILING[method]
    if size_ok and start_ok:
        pager = build()
        assert isinstance(pager, Paginator)
        assert f"page_size={page_size}, start_page={start_page}" in repr(pager)
    else:
        with pytest.raises(InvalidParameterError) as info:
            build()
        assert info.value.parameter == ("page_size" if not size_ok else "start_page")
    assert client.usage.requests == 0
    assert client.usage.credits == 0
    assert client.usage.succeeded == 0
