"""Paging: where lists end, what limit/max_pages/start_page buy, and the page ceiling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from keyapi_async import KeyAPI, Page
from keyapi_async.testing import FakeKeyAPI

from . import endpoints
from .conftest import MakeClient, serve

LIST = endpoints.LIST.path


def us_ids(fake: FakeKeyAPI) -> list[str]:
    return [r["user_id"] for r in fake.dataset.query_influencers({"region": "US"})]


async def test_items_across_pages_in_server_order(fake: FakeKeyAPI, client: KeyAPI) -> None:
    expected = us_ids(fake)
    assert len(expected) % 10 != 0, "the dataset should end on a short page"
    got = [inf.user_id async for inf in client.influencers.list(region="US")]
    assert got == expected
    # Ends at the short page: exactly ceil(n / 10) requests, none past it.
    assert len(fake.requests) == len(expected) // 10 + 1
    assert client.usage.requests == len(fake.requests)
    assert client.usage.credits == len(fake.requests) == client.usage.succeeded


async def test_await_gives_the_start_page(fake: FakeKeyAPI, client: KeyAPI) -> None:
    page = await client.influencers.list(region="US", page_size=7, start_page=3)
    assert isinstance(page, Page)
    assert page.page_num == 3
    assert [i.user_id for i in page.items] == us_ids(fake)[14:21]
    assert page.request_id
    assert len(fake.requests) == 1
    assert fake.requests[0].params["page_num"] == "3"
    assert fake.requests[0].params["page_size"] == "7"


async def test_pages_yields_page_objects_and_never_an_empty_page(make_client: MakeClient) -> None:
    # 100 US records (generated and documented) at page_size 10 end on a full page, so page 11
    # comes back empty: it is requested (and paid for) but never yielded.
    async with FakeKeyAPI(influencers=151) as fake:
        n = len(us_ids(fake))
        assert n % 10 == 0, "the dataset should end on a full page"
        client = make_client(api_key=fake.api_key, base_url=fake.url)
        pages = [page async for page in client.influencers.list(region="US").pages()]
        assert all(isinstance(p, Page) for p in pages)
        assert [p.page_num for p in pages] == list(range(1, n // 10 + 1))
        assert all(len(p.items) == 10 for p in pages)
        asked = [r.params["page_num"] for r in fake.requests]
        assert asked == [str(k) for k in range(1, n // 10 + 2)]  # the empty page was reached
        assert fake.requests[-1].code == 0  # a real, empty answer, not an error
        assert client.usage.credits == len(fake.requests)  # usage counts the empty page too

        # With a limit that ends on a full page, no page past it is asked for.
        fake.reset_log()
        limited = [p async for p in client.influencers.list(region="US", limit=n - 10).pages()]
        assert [p.page_num for p in limited] == list(range(1, n // 10))
        assert all(len(p.items) == 10 for p in limited)
        assert len(fake.requests) == n // 10 - 1  # limit reached: no probe for an empty page


async def test_list_ending_on_a_full_page_stops_at_the_empty_one(make_client: MakeClient) -> None:
    async with FakeKeyAPI(influencers=40) as fake:
        n = len(us_ids(fake))
        client = make_client(api_key=fake.api_key, base_url=fake.url)
        page_size = next(s for s in range(10, 0, -1) if n % s == 0)
        pages = [p async for p in client.influencers.list(region="US", page_size=page_size).pages()]
        assert sum(len(p.items) for p in pages) == n
        assert all(p.items for p in pages)
        assert len(fake.requests) == n // page_size + 1  # one empty page marks the end


@pytest.mark.parametrize(
    ("limit", "page_size", "pages"), [(1, 10, 1), (10, 10, 1), (11, 10, 2), (25, 4, 7)]
)
async def test_limit_buys_only_the_pages_it_needs(
    fake: FakeKeyAPI, client: KeyAPI, limit: int, page_size: int, pages: int
) -> None:
    got = await client.influencers.list(region="US", limit=limit, page_size=page_size).collect()
    assert [i.user_id for i in got] == us_ids(fake)[:limit]
    assert len(fake.requests) == pages


async def test_limit_cuts_the_last_page_in_pages(client: KeyAPI) -> None:
    sizes = [len(p.items) async for p in client.influencers.list(region="US", limit=23).pages()]
    assert sizes == [10, 10, 3]


async def test_max_pages_and_start_page(fake: FakeKeyAPI, client: KeyAPI) -> None:
    got = await client.influencers.list(
        region="US", start_page=2, max_pages=3, page_size=5
    ).collect()
    assert [i.user_id for i in got] == us_ids(fake)[5:20]
    assert [r.params["page_num"] for r in fake.requests] == ["2", "3", "4"]


async def test_concurrent_paging_keeps_order(fake: FakeKeyAPI, client: KeyAPI) -> None:
    got = [i.user_id async for i in client.influencers.list(region="US", concurrency=4)]
    assert got == us_ids(fake)
    extra = len(fake.requests) - (len(got) // 10 + 1)
    assert 0 <= extra <= 3  # at most concurrency - 1 requests past the last page
    assert client.usage.requests == len(fake.requests)


@contextlib.asynccontextmanager
async def always_full_pages() -> AsyncIterator[str]:
    """A server whose lists never end, to reach the documented page ceiling."""

    async def handler(request: web.Request) -> web.Response:
        n = int(request.query["page_num"])
        data = [{"user_id": str(n * 100 + i)} for i in range(int(request.query["page_size"]))]
        return web.json_response({"code": 0, "message": "success", "data": data, "requestId": "r"})

    async with serve({LIST: handler}) as url:
        yield url


async def test_paging_stops_at_the_documented_ceiling() -> None:
    async with always_full_pages() as url, KeyAPI("k", base_url=url, qps=None) as client:
        pages = [
            p.page_num async for p in client.influencers.list(region="US", start_page=9_998).pages()
        ]
        assert pages == [9_998, 9_999, 10_000]
        assert client.usage.requests == 3


@contextlib.asynccontextmanager
async def first_page_then_hang() -> AsyncIterator[str]:
    """Page 1 answers at once; every later page hangs until the server closes."""
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        if request.query["page_num"] != "1":
            await release.wait()
        data = [{"user_id": str(i)} for i in range(10)]
        return web.json_response({"code": 0, "message": "success", "data": data, "requestId": "r"})

    async with serve({LIST: handler}) as url:
        try:
            yield url
        finally:
            release.set()  # before the server closes, which waits for its handlers


def sdk_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t.get_name().startswith("keyapi_async")}


async def test_break_cancels_pages_in_flight() -> None:
    async with first_page_then_hang() as url, KeyAPI("k", base_url=url, qps=None) as client:
        async for _ in client.influencers.list(region="US", concurrency=5):
            break
        pending = sdk_tasks()
        assert pending, "pages 2..5 were in flight"
        # Without cancellation these would hang until the server closes.
        await asyncio.wait(pending, timeout=5)
        assert all(t.cancelled() for t in pending)


async def test_aclose_on_pages_waits_for_cancellation() -> None:
    async with first_page_then_hang() as url, KeyAPI("k", base_url=url, qps=None) as client:
        stream = client.influencers.list(region="US", concurrency=4).pages()
        first = await stream.__anext__()
        assert first.page_num == 1
        workers = [t for t in sdk_tasks() if "shared request" not in t.get_name()]
        assert len(workers) == 4  # pages 2..5 (each with its request, shared with any twin)
        await stream.aclose()
        assert sdk_tasks() == set()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()


async def test_client_works_after_an_abandoned_pull(fake: FakeKeyAPI, client: KeyAPI) -> None:
    async for _ in client.influencers.list(region="US", concurrency=5):
        break
    page = await client.influencers.list(region="US")
    assert [i.user_id for i in page.items] == us_ids(fake)[:10]
