"""One client shared by 200 concurrent tasks, as in a FastAPI backend under load: every answer
correct, the limiter honoured at the server, no connection-pool exhaustion or deadlock.

Each task makes one call (a list page at a random start_page, a detail call for 1-3 IDs, or a
videos page), so the 200 tasks are a mix and the work is exactly 200 requests: at qps=50 that is
four seconds a test. Everything runs under asyncio.wait_for with a bound derived from the work, so
a deadlock fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from keyapi_async import KeyAPI, Page
from keyapi_async.testing import FakeKeyAPI

pytestmark = pytest.mark.slow  # `-m "not slow"` leaves it out of the quick loop

SEED = 515
TASKS = 200
QPS = 50
LATENCY = 0.02


def bound(requests: int, rate: float) -> float:
    """Seconds the work may take: its time at `rate` requests a second, with slack."""
    return requests / rate * 1.5 + 3.0


def assert_same(record: Any, canonical: dict[str, Any]) -> None:
    """A decoded record carries every documented field with the dataset's value."""
    for name, value in canonical.items():
        assert getattr(record, name) == value, (name, getattr(record, name), value)


class Workload:
    """Random calls, each checked against the fake's dataset."""

    def __init__(self, fake: FakeKeyAPI) -> None:
        ds = fake.dataset
        self.ds = ds
        self.us = ds.query_influencers({"region": "US"})
        self.ids = [str(r["user_id"]) for r in ds.influencers]
        self.by_id = {str(r["user_id"]): r for r in ds.influencers}
        self.video_users = [u for u in self.ids if len(ds.videos(u)) > 10]
        assert len(self.us) > 30
        assert len(self.video_users) > 10

    def call(self, client: KeyAPI, rng: random.Random, kind: str) -> Awaitable[None]:
        return {"list": self.list_page, "detail": self.detail, "videos": self.videos_page}[kind](
            client, rng
        )

    async def list_page(self, client: KeyAPI, rng: random.Random) -> None:
        start = rng.randint(1, math.ceil(len(self.us) / 10))
        page = await client.influencers.list(region="US", start_page=start)
        self._check_page(page, start, self.us[(start - 1) * 10 : start * 10])

    async def detail(self, client: KeyAPI, rng: random.Random) -> None:
        ids = rng.sample(self.ids, rng.randint(1, 3))
        details = await client.influencers.detail(user_ids=ids)
        assert [d.user_id for d in details] == ids
        for record, user_id in zip(details, ids, strict=True):
            assert_same(record, self.by_id[user_id])

    async def videos_page(self, client: KeyAPI, rng: random.Random) -> None:
        user = rng.choice(self.video_users)
        videos = self.ds.videos(user)
        start = rng.randint(1, math.ceil(len(videos) / 10))
        page = await client.influencers.videos(user_id=user, start_page=start)
        self._check_page(page, start, videos[(start - 1) * 10 : start * 10])

    @staticmethod
    def _check_page(page: Page[Any], start: int, expected: list[dict[str, Any]]) -> None:
        assert page.page_num == start
        assert page.request_id
        assert len(page.items) == len(expected)
        for record, canonical in zip(page.items, expected, strict=True):
            assert_same(record, canonical)


def the_mix(tasks: int) -> list[str]:
    kinds = ["list", "detail", "videos"] * (tasks // 3 + 1)
    random.Random(SEED).shuffle(kinds)
    return kinds[:tasks]


async def run_all(
    client: KeyAPI, work: Workload, kinds: list[str], timeout: float
) -> list[BaseException | None]:
    """Start one task per call at once; wait for all of them, at most `timeout` seconds."""
    calls = [
        asyncio.ensure_future(work.call(client, random.Random(SEED + n), kind))
        for n, kind in enumerate(kinds)
    ]
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*calls, return_exceptions=True), timeout=timeout
        )
    except asyncio.TimeoutError:
        stuck = sum(1 for c in calls if not c.done())
        pytest.fail(f"{stuck} of {len(calls)} calls still pending after {timeout:.1f}s")
    return list(results)


def assert_all_succeeded(results: list[BaseException | None]) -> None:
    failures = [r for r in results if r is not None]
    assert not failures, f"{len(failures)} calls failed, first: {failures[0]!r}"


async def watch(sample: Callable[[], int], into: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        into.append(sample())
        await asyncio.sleep(0.005)


def busiest_second(fake: FakeKeyAPI) -> str:
    """Where the server counted the most arrivals in one second, for a failure message."""
    times = sorted(r.arrived for r in fake.requests)
    best, lo, at = 0, 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1.0:
            lo += 1
        if hi - lo + 1 > best:
            best, at = hi - lo + 1, lo
    window = times[at : at + 7]
    gaps = [round((b - a) * 1000, 1) for a, b in itertools.pairwise(window)]
    return f"{best} arrivals from {times[at] - times[0]:.3f}s in; first gaps there (ms): {gaps}"


def open_connections(fake: FakeKeyAPI) -> int:
    runner = fake._runner
    assert runner is not None
    assert runner.server is not None
    return sum(1 for handler in runner.server.connections if handler.transport is not None)


async def test_one_client_shared_by_200_tasks() -> None:
    kinds = the_mix(TASKS)
    async with FakeKeyAPI(influencers=120, latency=LATENCY) as fake:
        work = Workload(fake)
        async with KeyAPI(fake.api_key, base_url=fake.url, qps=QPS, max_retries=0) as client:
            results = await run_all(client, work, kinds, bound(TASKS, QPS))
            assert_all_succeeded(results)
            # One request a call, unless an identical call was in flight and shared it.
            usage = client.usage
            assert usage.requests == len(fake.requests) == TASKS - usage.coalesced
            assert usage.succeeded == TASKS - usage.coalesced
            assert client.usage.retries == 0
        assert fake.max_in_window(1.0) <= QPS, busiest_second(fake)
    gc.collect()


async def test_a_lent_session_with_a_small_pool() -> None:
    """The caller's session with a 5-connection pool: it still completes, paced."""
    kinds = the_mix(TASKS)
    async with FakeKeyAPI(influencers=120, latency=LATENCY) as fake:
        work = Workload(fake)
        connector = aiohttp.TCPConnector(limit=5)
        async with aiohttp.ClientSession(connector=connector) as session:
            client = KeyAPI(
                fake.api_key, base_url=fake.url, qps=QPS, max_retries=0, session=session
            )
            seen: list[int] = []
            stop = asyncio.Event()
            watcher = asyncio.ensure_future(watch(lambda: open_connections(fake), seen, stop))
            try:
                results = await run_all(client, work, kinds, bound(TASKS, QPS))
            finally:
                stop.set()
                await watcher
            assert_all_succeeded(results)
            usage = client.usage
            assert usage.requests == len(fake.requests) == TASKS - usage.coalesced
            await client.aclose()
            assert not session.closed  # the caller's session stays the caller's
        assert fake.max_in_window(1.0) <= QPS, busiest_second(fake)
        assert max(seen) <= 5, "the pool's limit was not in force"
    gc.collect()


async def test_a_pool_smaller_than_the_load_queues_without_deadlock() -> None:
    """Two connections at 0.1 s an answer carry 20 requests a second, under the client's qps:
    calls queue for a connection rather than for the limiter, and all complete in order."""
    tasks, latency, pool = 30, 0.1, 2
    kinds = the_mix(tasks)
    async with FakeKeyAPI(influencers=120, latency=latency) as fake:
        work = Workload(fake)
        connector = aiohttp.TCPConnector(limit=pool)
        async with aiohttp.ClientSession(connector=connector) as session:
            client = KeyAPI(
                fake.api_key, base_url=fake.url, qps=QPS, max_retries=0, session=session
            )
            results = await run_all(client, work, kinds, bound(tasks, pool / latency))
            assert_all_succeeded(results)
            usage = client.usage
            assert usage.requests == len(fake.requests) == tasks - usage.coalesced
            await client.aclose()
        assert fake.max_in_window(1.0) <= pool / latency + 1
    gc.collect()


async def test_a_call_queued_behind_the_limiter_longer_than_timeout_does_not_time_out() -> None:
    """`timeout` bounds an attempt, not the wait for a pacing slot: at qps=4 the fifth of five
    calls waits a second for its slot, twice its timeout, and must still succeed. (When the slot
    was awaited inside aiohttp's request, it counted against the timeout: APITimeoutError for a
    request never sent.)"""
    async with FakeKeyAPI(influencers=120) as fake:
        work = Workload(fake)
        async with KeyAPI(
            fake.api_key, base_url=fake.url, qps=4, timeout=0.5, max_retries=0
        ) as client:
            results = await run_all(client, work, ["list"] * 5, bound(5, 4))
            assert_all_succeeded(results)
            assert client.usage.requests == len(fake.requests) == 5
        arrivals = sorted(r.arrived for r in fake.requests)
        assert arrivals[-1] - arrivals[0] >= 4 / 4 * 0.9  # they were paced, not sent at once
    gc.collect()


async def test_a_burst_held_up_by_a_busy_loop_stays_within_qps() -> None:
    async with FakeKeyAPI(influencers=120) as fake:
        async with KeyAPI(fake.api_key, base_url=fake.url, qps=QPS, max_retries=0) as client:
            calls = [asyncio.ensure_future(client.influencers.list(region="US")) for _ in range(60)]
            await asyncio.sleep(0)  # each call takes its slot: now, then one every 20.3 ms
            time.sleep(0.1)  # noqa: ASYNC251  the loop is busy for 100 ms: 5 slots fall in it
            await asyncio.wait_for(asyncio.gather(*calls), bound(60, QPS))
        assert fake.max_in_window(1.0) <= QPS  # 54 or 55 here
    gc.collect()
