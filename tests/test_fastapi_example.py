"""The FastAPI example (examples/fastapi_app), driven over httpx's ASGI transport.

The app runs its real lifespan (startup makes the one KeyAPI client, shutdown closes it) and
talks to a real FakeKeyAPI over HTTP.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest

pytest.importorskip("fastapi", reason="the FastAPI example needs fastapi (test extra)")
httpx = pytest.importorskip("httpx", reason="the FastAPI example test needs httpx (test extra)")

from examples.fastapi_app.app import InfluencerPage, VideoPage, create_app  # noqa: E402
from keyapi_async import KeyAPI, KeyAPIError  # noqa: E402
from keyapi_async.testing import FakeKeyAPI, Fault  # noqa: E402

from . import endpoints  # noqa: E402

SECRET = "sk_live_fastapi_do_not_leak_42"
LIST_PATH = endpoints.LIST.path
VIDEOS_PATH = endpoints.VIDEOS.path


@pytest.fixture
async def api() -> AsyncIterator[FakeKeyAPI]:
    async with FakeKeyAPI(api_key=SECRET, influencers=120) as server:
        yield server


class Factory:
    """A client_factory pointed at the fake that remembers what it made."""

    def __init__(self, fake: FakeKeyAPI, **options: Any) -> None:
        options.setdefault("api_key", fake.api_key)
        options.setdefault("base_url", fake.url)
        options.setdefault("qps", None)
        options.setdefault("max_retries", 0)
        self.options = options
        self.made: list[KeyAPI] = []

    def __call__(self) -> KeyAPI:
        client = KeyAPI(**self.options)
        self.made.append(client)
        return client


@asynccontextmanager
async def running(make: Callable[[], KeyAPI]) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, and an httpx client talking to it in-process."""
    app = create_app(client_factory=make)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            yield http


def assert_records(got: list[Any], want: list[dict[str, Any]]) -> None:
    """The app's records, decoded back into SDK models, carry the dataset's canonical values."""
    assert len(got) == len(want)
    for record, expected in zip(got, want, strict=True):
        for name, value in expected.items():
            assert getattr(record, name) == value, name


# --- results ------------------------------------------------------------------------------


async def test_search_returns_one_page_as_the_dataset_has_it(api: FakeKeyAPI) -> None:
    make = Factory(api)
    async with running(make) as http:
        response = await http.get("/influencers", params={"region": "US", "page": 2})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = msgspec.json.decode(response.content, type=InfluencerPage)
    everyone = api.dataset.query_influencers({"region": "US"})
    assert_records(body.items, everyone[10:20])
    assert (body.page, body.page_size, body.next_page) == (2, 10, 3)
    assert body.request_id
    # One call, one request, one credit: page 2 went out as page_num=2.
    [sent] = api.requests
    assert sent.path == LIST_PATH
    assert sent.params == {"region": "US", "page_num": "2", "page_size": "10"}


async def test_search_filters_and_the_last_page(api: FakeKeyAPI) -> None:
    query = {"region": "US", "min_total_followers_cnt": "10000"}
    everyone = api.dataset.query_influencers(query)
    page_size = 4
    last = -(-len(everyone) // page_size)
    assert len(everyone) % page_size, "the dataset should end on a short page"
    async with running(Factory(api)) as http:
        params = {"region": "US", "min_followers": 10_000, "page_size": page_size}
        response = await http.get("/influencers", params={**params, "page": last})
    body = msgspec.json.decode(response.content, type=InfluencerPage)
    assert_records(body.items, everyone[(last - 1) * page_size :])
    assert body.next_page is None  # short page: the list is over
    assert api.requests[-1].params == {
        **query,
        "page_num": str(last),
        "page_size": str(page_size),
    }


async def test_sorted_search(api: FakeKeyAPI) -> None:
    async with running(Factory(api)) as http:
        response = await http.get("/influencers", params={"region": "GB", "sort_by": 1})
    body = msgspec.json.decode(response.content, type=InfluencerPage)
    wire = {"region": "GB", "influencer_sort_field_v2": "1", "sort_type": "1"}
    assert_records(body.items, api.dataset.query_influencers(wire)[:10])
    assert api.requests[-1].params == {**wire, "page_num": "1", "page_size": "10"}


async def test_videos_by_user_id_and_by_handle(api: FakeKeyAPI) -> None:
    person = next(r for r in api.dataset.influencers if len(api.dataset.videos(r["user_id"])) > 5)
    user_id, handle = str(person["user_id"]), str(person["unique_id"])
    videos = api.dataset.videos(user_id)
    async with running(Factory(api)) as http:
        by_id = await http.get(f"/influencers/{user_id}/videos", params={"page_size": 5})
        by_handle = await http.get(f"/influencers/@{handle}/videos", params={"page": 2})
    first = msgspec.json.decode(by_id.content, type=VideoPage)
    assert_records(first.items, videos[:5])
    assert (first.influencer, first.page, first.next_page) == (user_id, 1, 2)
    second = msgspec.json.decode(by_handle.content, type=VideoPage)
    assert_records(second.items, videos[10:20])
    assert [r.params for r in api.requests] == [
        {"user_id": user_id, "page_num": "1", "page_size": "5"},
        {"unique_id": handle, "page_num": "2", "page_size": "10"},
    ]
    assert {r.path for r in api.requests} == {VIDEOS_PATH}


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page": 0}, "page"),
        ({"page": 10_001}, "page"),
        ({"page_size": 11}, "page_size"),
        ({"min_followers": 10, "max_followers": 5}, "min_followers"),
        ({"sort_by": 9}, "sort_by"),
        ({"region": " "}, "region"),
    ],
)
async def test_bad_input_is_422_before_any_request(
    api: FakeKeyAPI, params: dict[str, Any], parameter: str
) -> None:
    async with running(Factory(api)) as http:
        response = await http.get("/influencers", params={"region": "US", **params})
    assert response.status_code == 422
    body = response.json()
    assert body["parameter"] == parameter
    assert body["detail"].startswith(f"{parameter}: ")
    assert api.requests == []


async def test_a_bad_influencer_is_422(api: FakeKeyAPI) -> None:
    async with running(Factory(api)) as http:
        response = await http.get("/influencers/a,b/videos")
    assert response.status_code == 422
    assert response.json()["parameter"] == "influencer"
    assert api.requests == []


@pytest.mark.parametrize(
    ("fault", "status", "detail"),
    [
        (Fault.BAD_REQUEST, 422, "Invalid parameter: page_num"),
        (Fault.RATE_LIMIT, 429, "rate limit"),
        (Fault.UNAUTHORIZED, 503, "key was refused"),
        (Fault.NO_CREDITS, 503, "no credits left"),
        (Fault.SERVER_ERROR, 502, "ServerError"),
        (Fault.GARBAGE, 502, "ResponseDecodeError"),
        (Fault.DROP, 502, "APIConnectionError"),
        (Fault.STALL, 504, "in time"),
    ],
)
async def test_api_errors_map_to_http(
    api: FakeKeyAPI, fault: Fault, status: int, detail: str
) -> None:
    api.retry_after = 2.5
    api.script(fault)
    async with running(Factory(api, timeout=0.3)) as http:
        response = await http.get("/influencers", params={"region": "US"})
        after = await http.get("/influencers", params={"region": "US"})  # the app goes on
    assert response.status_code == status
    assert detail in response.json()["detail"]
    if fault is Fault.RATE_LIMIT:
        assert response.headers["retry-after"] == "3"
    has_request_id = fault not in (Fault.GARBAGE, Fault.DROP, Fault.STALL)
    assert bool(response.json()["request_id"]) is has_request_id  # for support, if any
    assert SECRET not in response.text
    assert SECRET not in str(response.headers)
    assert after.status_code == 200


async def test_the_key_is_never_in_an_answer(api: FakeKeyAPI) -> None:
    wrong = "sk_live_wrong_key_also_secret_77"
    async with running(Factory(api, api_key=wrong)) as http:
        response = await http.get("/influencers", params={"region": "US"})
    assert response.status_code == 503
    assert response.json()["detail"] == "this service's KeyAPI key was refused"
    assert wrong not in response.text
    assert wrong not in str(response.headers)


async def test_a_spent_budget_is_503(api: FakeKeyAPI) -> None:
    async with running(Factory(api, max_credits=1)) as http:
        first = await http.get("/influencers", params={"region": "US"})
        second = await http.get("/influencers", params={"region": "US", "page": 2})
        usage = await http.get("/usage")
    assert first.status_code == 200
    assert second.status_code == 503
    assert "budget" in second.json()["detail"]
    assert len(api.requests) == 1
    assert usage.json() == {
        "requests": 1,
        "credits": 1,
        "retries": 0,
        "cache_hits": 0,
        "coalesced": 0,
    }


# --- lifecycle and concurrency ------------------------------------------------------------


async def test_one_client_for_the_apps_life_closed_at_shutdown(api: FakeKeyAPI) -> None:
    make = Factory(api)
    app = create_app(client_factory=make)
    assert make.made == []  # nothing is made before startup
    async with app.router.lifespan_context(app):
        [client] = make.made
        assert app.state.keyapi is client
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            for page in (1, 2, 3):
                response = await http.get("/influencers", params={"region": "US", "page": page})
                assert response.status_code == 200
    assert len(make.made) == 1
    with pytest.raises(KeyAPIError, match="closed"):
        await client.influencers.list(region="US")


async def test_default_factory_reads_the_environment(
    api: FakeKeyAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYAPI_API_KEY", api.api_key)
    monkeypatch.setenv("KEYAPI_BASE_URL", api.url)
    app = create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            response = await http.get("/influencers", params={"region": "US"})
        assert app.state.keyapi.base_url == api.url
    assert response.status_code == 200
    assert len(api.requests) == 1


async def test_fifty_concurrent_requests_share_one_paced_client() -> None:
    qps = 40
    # The fake runs on its own thread, so that its arrival times are not those of the app's
    # busy loop, and refuses anything over qps in a sliding second.
    with FakeKeyAPI(api_key=SECRET, influencers=300, qps_limit=qps, latency=0.01) as api:
        make = Factory(api, qps=qps)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            async with running(make) as http:
                # 50 different pages: identical ones would share one request (coalescing).
                responses = await asyncio.gather(
                    *(
                        http.get(
                            "/influencers",
                            params={"region": "US", "page": 1 + n % 5, "page_size": 1 + n // 5},
                        )
                        for n in range(50)
                    )
                )
                usage = (await http.get("/usage")).json()
            del http
            gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert [r.status_code for r in responses] == [200] * 50
    assert len(make.made) == 1
    assert len(api.requests) == 50 == usage["requests"]
    assert {r.status for r in api.requests} == {200}  # the fake's own limit never tripped
    assert api.max_in_window(1.0) <= qps
    everyone = api.dataset.query_influencers({"region": "US"})
    for n, response in enumerate(responses):
        page, size = 1 + n % 5, 1 + n // 5
        body = msgspec.json.decode(response.content, type=InfluencerPage)
        assert [i.user_id for i in body.items] == [
            r["user_id"] for r in everyone[(page - 1) * size : page * size]
        ]


async def test_a_hot_creator_page_costs_one_credit_while_its_answer_is_kept() -> None:
    from keyapi_async import MemoryCache

    with FakeKeyAPI(api_key=SECRET, latency=0.02) as api:
        hot = api.dataset.influencers[0]
        make = Factory(api, cache=MemoryCache(ttl=3600))
        async with running(make) as http:
            path = f"/influencers/{hot['user_id']}"
            visits = await asyncio.gather(*(http.get(path) for _ in range(50)))
            later = await http.get(f"/influencers/@{hot['unique_id']}")  # another query: bought
            again = await http.get(path)
            fresh = await http.get(path, params={"fresh": "true"})
            missing = await http.get("/influencers/1")
            usage = (await http.get("/usage")).json()
    assert [v.status_code for v in visits] == [200] * 50
    assert {v.json()["user_id"] for v in visits} == {str(hot["user_id"])}
    assert later.json()["user_id"] == again.json()["user_id"] == str(hot["user_id"])
    assert fresh.status_code == 200
    assert missing.status_code == 404
    # 50 concurrent visits: one request; the repeat: a hit; fresh=true and the handle: bought.
    assert len(api.requests) == 4 == usage["requests"]
    assert usage["coalesced"] == 49
    assert usage["cache_hits"] == 1
