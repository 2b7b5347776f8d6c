"""Concurrent paging and fan-out: order, bounded over-fetch, cancellation, error isolation."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from keyapi_async import (
    AuthenticationError,
    BadRequestError,
    FanOutError,
    InvalidParameterError,
    KeyAPI,
)
from keyapi_async.testing import FakeKeyAPI, Fault

from . import endpoints
from .conftest import MakeClient, serve

VIDEOS = endpoints.VIDEOS.path


def us_ids(fake: FakeKeyAPI) -> list[str]:
    return [r["user_id"] for r in fake.dataset.query_influencers({"region": "US"})]


@pytest.mark.parametrize("concurrency", [2, 5, 8])
async def test_over_fetch_is_at_most_concurrency_minus_one(
    fake: FakeKeyAPI, client: KeyAPI, concurrency: int
) -> None:
    expected = us_ids(fake)
    got = [i.user_id async for i in client.influencers.list(region="US", concurrency=concurrency)]
    assert got == expected
    needed = math.ceil(len(expected) / 10)
    beyond = len(fake.requests) - needed
    assert 0 <= beyond <= concurrency - 1
    assert client.usage.requests == len(fake.requests)  # the extra requests are counted


@pytest.mark.parametrize(("limit", "max_pages"), [(25, None), (None, 3), (95, 4)])
async def test_concurrency_never_buys_past_limit_or_max_pages(
    fake: FakeKeyAPI, client: KeyAPI, limit: int | None, max_pages: int | None
) -> None:
    pager = client.influencers.list(region="US", concurrency=8, limit=limit, max_pages=max_pages)
    items = await pager.collect()
    pages = min(math.ceil((limit or 10**9) / 10), max_pages or 10**9)
    assert len(fake.requests) == pages
    assert [i.user_id for i in items] == us_ids(fake)[: min(limit or 10**9, pages * 10)]


async def test_an_error_mid_stream_delivers_the_earlier_pages_first(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(max_retries=0)
    fake.script(None, None, Fault.BAD_REQUEST)  # the third request to arrive fails
    seen: list[int] = []

    async def pull() -> None:
        async for page in client.influencers.list(region="US", concurrency=4).pages():
            seen.append(page.page_num)

    with pytest.raises(BadRequestError):
        await pull()
    failed = int(next(r.params["page_num"] for r in fake.requests if r.fault is Fault.BAD_REQUEST))
    assert seen == list(range(1, failed))
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("keyapi_async")]


async def test_detail_batches_run_concurrently_in_order(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    fake.latency = 0.05
    client = make_client(detail_batch_size=2)
    ids = [r["user_id"] for r in fake.dataset.influencers[:12]]
    details = await client.influencers.detail(user_ids=ids)
    assert [d.user_id for d in details] == ids
    arrivals = sorted(r.arrived for r in fake.requests)
    assert len(arrivals) == 6
    assert arrivals[-1] - arrivals[0] < 0.05  # all six were in flight together


class VideoServer:
    """Videos for user IDs "1".."n": user u has 3 * u videos. Tracks requests in flight."""

    def __init__(self, *, hang: str | None = None, fail: dict[str, int] | None = None) -> None:
        self.hang, self.fail = hang, fail or {}
        self.release = asyncio.Event()
        self.in_flight = self.max_in_flight = self.requests = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            uid = request.query["user_id"]
            if uid == self.hang:
                await self.release.wait()
            if uid in self.fail:
                status = self.fail[uid]
                body = {"code": status, "message": "nope", "data": None, "requestId": "x"}
                return web.json_response(body, status=status)
            n, size = int(request.query["page_num"]), int(request.query["page_size"])
            videos = [f"{uid}-{k}" for k in range(3 * int(uid))][(n - 1) * size : n * size]
            data = [{"video_id": v, "user_id": uid} for v in videos]
            return web.json_response({"code": 0, "message": "ok", "data": data, "requestId": "r"})
        finally:
            self.in_flight -= 1

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[KeyAPI]:
        async with serve({VIDEOS: self.handle}) as url:
            try:
                async with KeyAPI("k", base_url=url, qps=None, max_retries=0) as client:
                    yield client
            finally:
                self.release.set()  # before the server closes, which waits for its handlers


def expected_videos(users: list[str], limit: int | None = None) -> dict[str, list[str]]:
    return {u: [f"{u}-{k}" for k in range(3 * int(u))][:limit] for u in users}


async def collect(stream: AsyncIterator[tuple[str, object]]) -> dict[str, list[str]]:
    got: dict[str, list[str]] = {}
    async for uid, video in stream:
        got.setdefault(uid, []).append(video.video_id)  # type: ignore[attr-defined]
    return got


@pytest.mark.parametrize("concurrency", [1, 3, 8])
async def test_fan_out_delivers_everything_with_bounded_requests_in_flight(
    concurrency: int,
) -> None:
    server = VideoServer()
    users = [str(u) for u in range(1, 13)]
    async with server.serve() as client:
        got = await collect(client.influencers.videos_many(users, concurrency=concurrency))
    assert got == expected_videos(users)  # each user in page order
    assert server.max_in_flight <= concurrency
    assert server.max_in_flight == concurrency or concurrency == 1


async def test_fan_out_streams_while_a_slow_influencer_is_still_pending() -> None:
    server = VideoServer(hang="1")
    async with server.serve() as client:
        stream = client.influencers.videos_many([str(u) for u in range(1, 6)], concurrency=3)
        seen: set[str] = set()
        async for uid, _ in stream:
            seen.add(uid)
            if seen == {"2", "3", "4", "5"}:
                break  # everyone else arrived while user 1 still hangs
        await stream.aclose()
    assert "1" not in seen
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("keyapi_async")]


async def test_limit_per_user_buys_only_what_it_needs() -> None:
    server = VideoServer()
    users = ["4", "7"]  # 12 and 21 videos
    async with server.serve() as client:
        got = await collect(client.influencers.videos_many(users, limit_per_user=5, page_size=4))
    assert got == expected_videos(users, limit=5)
    assert server.requests == 4  # two pages of 4 for each user


async def test_one_influencers_failure_does_not_stop_the_others() -> None:
    server = VideoServer(fail={"3": 400, "5": 400})
    users = [str(u) for u in range(1, 8)]
    async with server.serve() as client:
        stream = client.influencers.videos_many(users, concurrency=2)
        with pytest.raises(FanOutError) as caught:
            await collect(stream)
    assert set(caught.value.failures) == {"3", "5"}
    assert all(isinstance(e, BadRequestError) for e in caught.value.failures.values())
    assert stream.failures == caught.value.failures
    assert "3" in str(caught.value)


async def test_a_failure_of_the_whole_pull_stops_it_at_once() -> None:
    server = VideoServer(fail={"2": 401}, hang="1")
    async with server.serve() as client:
        with pytest.raises(AuthenticationError):
            await collect(client.influencers.videos_many(["1", "2", "3"], concurrency=2))
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("keyapi_async")]
        assert server.requests == 2  # user 3 was never asked for


async def test_livestreams_many_against_the_fake(fake: FakeKeyAPI, client: KeyAPI) -> None:
    users = [r["user_id"] for r in fake.dataset.influencers[:6]]
    got: dict[str, list[str]] = {}
    async for uid, live in client.influencers.livestreams_many(users, concurrency=3):
        got.setdefault(uid, []).append(live.room_id)
    expected = {u: [r["room_id"] for r in fake.dataset.livestreams(u)] for u in users}
    assert got == {u: rooms for u, rooms in expected.items() if rooms}


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ({"user_ids": ["12", "bob"]}, "user_ids[1]"),
        ({"user_ids": []}, "user_ids"),
        ({"user_ids": ["1"], "concurrency": 0}, "concurrency"),
        ({"user_ids": ["1"], "limit_per_user": 0}, "limit_per_user"),
        ({"user_ids": ["1"], "page_size": 11}, "page_size"),
        ({"user_ids": ["1"], "sort_type": 2}, "sort_type"),
    ],
)
async def test_fan_out_validates_before_sending(
    fake: FakeKeyAPI, client: KeyAPI, args: dict[str, object], parameter: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        client.influencers.videos_many(**args)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter
    assert fake.requests == []


async def test_the_same_failure_for_the_first_influencers_stops_the_pull() -> None:
    """A bad shared parameter fails every user alike: stop after a few, not one per user ID."""
    server = VideoServer(fail={str(u): 400 for u in range(1, 41)})
    users = [str(u) for u in range(1, 41)]
    async with server.serve() as client:
        with pytest.raises(BadRequestError):
            await collect(client.influencers.videos_many(users, concurrency=2))
    assert server.requests <= 4


async def test_async_with_stops_a_fan_out_left_early() -> None:
    server = VideoServer()
    async with server.serve() as client:
        async with client.influencers.videos_many([str(u) for u in range(1, 30)]) as fan:
            async for _ in fan:
                break
        # Leaving the block awaited the workers' end: none is left to buy another page.
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("keyapi_async")]
