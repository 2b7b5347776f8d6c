"""Cancellation at random points: concurrent pages, fan-out and detail batches cancelled mid-flight
(or left by `break`), a request cancelled while stalled, calls cancelled while queued behind the
limiter. After each: the pull's task has ended, no "keyapi_async ..." task is left pending, the
same client still answers correctly, and in the end nothing leaks (no connection still open at the
server once the client is closed, no unclosed-resource warning: pytest runs with
filterwarnings=error and gc.collect() runs inside each test).

Waits are bounded (asyncio.wait with a timeout), so a hang fails the test instead of stalling it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from keyapi_async import KeyAPI
from keyapi_async.testing import FakeKeyAPI, Fault

SEED = 20_240_611
ROUNDS = 48
SETTLE = 2.0  # seconds a cancellation may take to land before it counts as a hang


def keyapi_tasks() -> list[asyncio.Task[Any]]:
    return [
        t for t in asyncio.all_tasks() if t.get_name().startswith("keyapi_async") and not t.done()
    ]


async def assert_no_task_left() -> None:
    """No SDK task outlives the pull that started it. Called once the pull's task has ended:
    whatever SDK work is still pending then was cancelled by the SDK on the way out, so it must
    end, and end cancelled, not run on (buying pages nobody will read)."""
    pending = keyapi_tasks()
    if pending:
        await asyncio.wait(pending, timeout=SETTLE)
    left = sorted(t.get_name() for t in pending if not t.done())
    assert not left, f"still pending {SETTLE}s after the pull ended: {left}"
    ran_on = sorted(t.get_name() for t in pending if not t.cancelled())
    assert not ran_on, f"not cancelled when the pull ended: {ran_on}"


async def until(condition: Callable[[], bool], what: str, timeout: float = SETTLE) -> None:
    """Wait for `condition` (checked every 5 ms), failing after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


def open_connections(fake: FakeKeyAPI) -> int:
    """Sockets still open at the fake's server. (Its runner also tracks a closed connection
    while the handler runs on, e.g. a STALL; those have no transport left.)"""
    runner = fake._runner
    assert runner is not None
    assert runner.server is not None
    return sum(1 for handler in runner.server.connections if handler.transport is not None)


async def assert_no_connection_left(fake: FakeKeyAPI) -> None:
    """Once every client is closed, the server sees each of their connections close."""
    await until(lambda: open_connections(fake) == 0, "the server to see every connection close")


async def finish(task: asyncio.Task[Any]) -> None:
    """Wait (bounded) for a pull's task to end; it ends cancelled, or with its result."""
    await asyncio.wait([task], timeout=SETTLE)
    assert task.done(), f"{task.get_name()} did not end within {SETTLE}s of its cancellation"
    if not task.cancelled():
        task.result()  # a pull that finished must have finished cleanly


# --- what the fake's dataset says the answers are ---------------------------------------------


class Expected:
    def __init__(self, fake: FakeKeyAPI) -> None:
        ds = fake.dataset
        self.us = [str(r["user_id"]) for r in ds.query_influencers({"region": "US"})]
        users = [str(r["user_id"]) for r in ds.influencers[:10]]
        self.users = users
        self.videos = {u: [str(v["video_id"]) for v in ds.videos(u)] for u in users}
        self.lives = {u: [str(x["room_id"]) for x in ds.livestreams(u)] for u in users}
        assert len(self.us) > 40, "the dataset should give several pages of US influencers"
        assert sum(map(len, self.videos.values())) > 100
        assert sum(map(len, self.lives.values())) > 10


def assert_prefix(got: list[str], expected: list[str], complete: bool) -> None:
    assert got == expected[: len(got)], "items out of order, repeated or foreign"
    if complete:
        assert got == expected


def assert_per_user_prefix(
    got: list[tuple[str, str]], expected: dict[str, list[str]], complete: bool
) -> None:
    per_user: dict[str, list[str]] = {}
    for user, item in got:
        per_user.setdefault(user, []).append(item)
    for user, items in per_user.items():
        assert_prefix(items, expected[user], complete=False)
    if complete:
        assert per_user == {u: items for u, items in expected.items() if items}


# --- the pulls ----------------------------------------------------------------------------------
# Each appends what it receives to `sink` as it goes, so that what a cancelled pull delivered can
# still be checked, and returns a checker run once the pull's task has ended.

Check = Callable[[bool], None]  # called with: did the pull run to its end?


def pull_items(
    client: KeyAPI, rng: random.Random, ex: Expected, sink: list[Any]
) -> tuple[Awaitable[None], Check]:
    """`async for` over items, maybe leaving by `break` (no aclose: the pager cleans up)."""
    concurrency, stop = rng.randint(1, 8), rng.choice([None, rng.randint(1, 60)])

    async def run() -> None:
        async for influencer in client.influencers.list(region="US", concurrency=concurrency):
            sink.append(influencer.user_id)
            if stop is not None and len(sink) >= stop:
                break

    def check(complete: bool) -> None:
        assert_prefix(sink, ex.us, complete and stop is None)
        if complete and stop is not None:
            assert sink == ex.us[:stop]

    return run(), check


def pull_pages(
    client: KeyAPI, rng: random.Random, ex: Expected, sink: list[Any]
) -> tuple[Awaitable[None], Check]:
    """`pages()` under aclosing, maybe leaving by `break` after some pages."""
    concurrency, stop = rng.randint(1, 8), rng.choice([None, rng.randint(1, 5)])
    page_size, start = rng.randint(3, 10), rng.randint(1, 3)
    expected = ex.us[(start - 1) * page_size :]

    async def run() -> None:
        pager = client.influencers.list(
            region="US", concurrency=concurrency, page_size=page_size, start_page=start
        )
        stream = pager.pages()
        async with contextlib.aclosing(stream):
            pages = 0
            async for page in stream:
                assert page.page_num == start + pages
                sink.extend(i.user_id for i in page.items)
                pages += 1
                if stop is not None and pages >= stop:
                    break

    def check(complete: bool) -> None:
        assert_prefix(sink, expected, complete and stop is None)

    return run(), check


def pull_collect(
    client: KeyAPI, rng: random.Random, ex: Expected, sink: list[Any]
) -> tuple[Awaitable[None], Check]:
    concurrency, limit = rng.randint(1, 8), rng.choice([None, rng.randint(1, 70)])

    async def run() -> None:
        pager = client.influencers.list(region="US", concurrency=concurrency, limit=limit)
        sink.extend(i.user_id for i in await pager.collect())

    def check(complete: bool) -> None:
        if complete:
            assert sink == ex.us[:limit]
        else:
            assert sink == []

    return run(), check


def pull_fan_out(
    client: KeyAPI, rng: random.Random, ex: Expected, sink: list[Any]
) -> tuple[Awaitable[None], Check]:
    """videos_many or livestreams_many, under aclosing, maybe leaving by `break`."""
    videos = rng.random() < 0.6
    concurrency, stop = rng.randint(1, 8), rng.choice([None, rng.randint(1, 80)])
    expected = ex.videos if videos else ex.lives

    async def run() -> None:
        if videos:
            stream: Any = client.influencers.videos_many(ex.users, concurrency=concurrency)
        else:
            stream = client.influencers.livestreams_many(ex.users, concurrency=concurrency)
        async with contextlib.aclosing(stream):
            async for user, item in stream:
                sink.append((user, item.video_id if videos else item.room_id))
                if stop is not None and len(sink) >= stop:
                    break

    def check(complete: bool) -> None:
        assert_per_user_prefix(sink, expected, complete and stop is None)

    return run(), check


def pull_detail(
    client: KeyAPI, rng: random.Random, ex: Expected, sink: list[Any]
) -> tuple[Awaitable[None], Check]:
    """detail: batches of detail_batch_size (3 on this client), several in flight."""
    ids = rng.sample(ex.us, rng.randint(1, 14))

    async def run() -> None:
        sink.extend(d.user_id for d in await client.influencers.detail(user_ids=ids))

    def check(complete: bool) -> None:
        assert sink == (ids if complete else [])

    return run(), check


PULLS = [pull_items, pull_pages, pull_collect, pull_fan_out, pull_detail]


async def still_works(client: KeyAPI, rng: random.Random, ex: Expected) -> None:
    """A normal call on the same client, answered as the dataset says."""
    start = rng.randint(1, len(ex.us) // 10)
    page = await client.influencers.list(region="US", start_page=start)
    assert [i.user_id for i in page.items] == ex.us[(start - 1) * 10 : start * 10]


# --- the tests ----------------------------------------------------------------------------------


async def random_rounds(
    *,
    seed: int,
    qps: float | None,
    pulls: Any,
    cancel_share: float,
    name: str,
    after_round: Callable[[], Awaitable[None]],
) -> None:
    """ROUNDS random pulls on one client, each cancelled at a random moment (or left to end):
    after each, `after_round` checks nothing is left, and the client must still work."""
    rng = random.Random(seed)
    outcomes: dict[str, int] = {}
    async with FakeKeyAPI(influencers=120) as fake:
        ex = Expected(fake)
        client = KeyAPI(
            fake.api_key,
            base_url=fake.url,
            qps=qps,
            timeout=30,
            max_retries=0,  # no fault is injected: any error is a failure
            detail_batch_size=3,
        )
        try:
            for round_ in range(ROUNDS):
                fake.latency = rng.uniform(0.002, 0.02)
                make = rng.choice(pulls)
                sink: list[Any] = []
                pull, check = make(client, rng, ex, sink)
                task = asyncio.ensure_future(pull)
                task.set_name(f"{name} {round_} {make.__name__}")
                if rng.random() < cancel_share:
                    await asyncio.sleep(rng.uniform(0, 0.03))
                    task.cancel()
                await finish(task)
                check(not task.cancelled())
                kind = "cancelled" if task.cancelled() else "ran to its end"
                outcomes[kind] = outcomes.get(kind, 0) + 1
                await after_round()
                await still_works(client, rng, ex)
            # Exact: the SDK counts a request just before writing it, in the same step of the
            # loop, so every counted request reached the server, cancelled or not.
            assert client.usage.requests == len(fake.requests)
        finally:
            await client.aclose()
        await assert_no_connection_left(fake)
    gc.collect()
    # The seed must exercise both sides, or the test proves less than it says.
    assert outcomes.get("cancelled", 0) >= ROUNDS // 4, outcomes
    assert outcomes.get("ran to its end", 0) >= 3, outcomes


@pytest.mark.parametrize("qps", [None, 400], ids=["unpaced", "paced"])
async def test_random_cancellations_leave_nothing_behind(qps: float | None) -> None:
    """Paced at 400/s, a start waits up to a few ms for its slot: some cancellations land there."""
    await random_rounds(
        seed=SEED,
        qps=qps,
        pulls=PULLS,
        cancel_share=0.75,
        name="pull",
        after_round=assert_no_task_left,
    )


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_cancel_while_stalled(concurrency: int) -> None:
    async with FakeKeyAPI(influencers=120, stall=30.0) as fake:
        ex = Expected(fake)
        client = KeyAPI(fake.api_key, base_url=fake.url, qps=None, timeout=60, max_retries=0)
        try:
            # The `concurrency`-th request sends half its answer, then stalls for 30 s.
            fake.script(*[None] * (concurrency - 1), Fault.STALL)
            pull = client.influencers.list(region="US", concurrency=concurrency).collect()
            task = asyncio.ensure_future(pull)
            await until(
                lambda: any(r.fault is Fault.STALL for r in fake.requests),
                "the stalled request to arrive",
            )
            assert not task.done()
            task.cancel()
            await finish(task)
            assert task.cancelled()
            await assert_no_task_left()
            await still_works(client, random.Random(concurrency), ex)
            assert client.usage.requests == len(fake.requests)
        finally:
            await client.aclose()
        await assert_no_connection_left(fake)
    gc.collect()


async def queue_behind_the_limiter(
    client: KeyAPI, fake: FakeKeyAPI, ex: Expected
) -> list[asyncio.Task[Any]]:
    """Three calls at qps=2: the first goes at once, the others wait 0.5 s and 1 s for their
    slots and are cancelled while waiting. Returns the tasks, all ended."""
    calls = [
        asyncio.ensure_future(client.influencers.list(region="US", start_page=n)) for n in (1, 2, 3)
    ]
    done, _ = await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED, timeout=SETTLE)
    assert done == {calls[0]}, "the first call should go at once, the others wait"
    assert len(fake.requests) == 1, "the later calls should still be waiting for their slots"
    assert [i.user_id for i in calls[0].result().items] == ex.us[:10]
    for call in calls[1:]:
        call.cancel()
    await asyncio.wait(calls, timeout=SETTLE)
    assert all(call.cancelled() for call in calls[1:])
    return calls


async def test_cancel_while_queued_in_the_limiter() -> None:
    async with FakeKeyAPI(influencers=120) as fake:
        ex = Expected(fake)
        client = KeyAPI(fake.api_key, base_url=fake.url, qps=2, max_retries=0)
        try:
            await queue_behind_the_limiter(client, fake, ex)
            await assert_no_task_left()
            # The cancelled calls were counted nowhere: they never reached the server.
            assert client.usage.requests == len(fake.requests) == 1
            await still_works(client, random.Random(0), ex)
            assert client.usage.requests == len(fake.requests) == 2
        finally:
            await client.aclose()
        # A call cancelled in the limiter must not strand a connection. (When the slot was
        # awaited inside aiohttp's connection-ready trace, aiohttp dropped the connection it had
        # just made without closing it, and this failed.)
        await assert_no_connection_left(fake)
    gc.collect()


async def test_cancel_while_queued_in_the_limiter_of_a_lent_session() -> None:
    """With a caller's session the slot is awaited before the request starts: nothing to leak."""
    async with FakeKeyAPI(influencers=120) as fake:
        ex = Expected(fake)
        async with aiohttp.ClientSession() as session:
            client = KeyAPI(fake.api_key, base_url=fake.url, qps=2, max_retries=0, session=session)
            await queue_behind_the_limiter(client, fake, ex)
            await assert_no_task_left()
            assert client.usage.requests == len(fake.requests) == 1
            await client.aclose()
        await assert_no_connection_left(fake)
    gc.collect()


class _LeaveLoop(Exception):
    pass


@pytest.mark.parametrize("how", ["break", "exception"])
async def test_leaving_a_fan_out_loop_without_aclose_stops_its_workers(how: str) -> None:
    """No aclose(): the dropped FanOut must stop its workers. (Each worker used to hold the
    FanOut through a bound method, so its __del__ never ran: the workers kept buying pages until
    the queue was full, then waited forever.)"""
    async with FakeKeyAPI(influencers=120, latency=0.005) as fake:
        ex = Expected(fake)
        client = KeyAPI(fake.api_key, base_url=fake.url, qps=None, max_retries=0)

        async def pull() -> None:
            received = 0
            async for _ in client.influencers.videos_many(ex.users, concurrency=4):
                received += 1
                if received == 3:
                    if how == "break":
                        break
                    raise _LeaveLoop

        try:
            with contextlib.suppress(_LeaveLoop):
                await pull()
            await assert_no_task_left()
            sent = len(fake.requests)
            await still_works(client, random.Random(1), ex)
            assert len(fake.requests) == sent + 1, "the fan-out went on buying pages"
            assert client.usage.requests == len(fake.requests)
        finally:
            leftover = keyapi_tasks()  # should a test fail here, leave nothing to the next one
            for task in leftover:
                task.cancel()
            if leftover:
                await asyncio.wait(leftover, timeout=SETTLE)
            await client.aclose()
        await assert_no_connection_left(fake)
    gc.collect()


# --- bare streams: no aclosing, the ways users really hold them ---------------------------------
# Each pull's stream is made outside `run()` and kept by `check`, so it outlives the pull's task:
# only the tie to the consuming task can stop its workers. Checked within PROMPT, not SETTLE.

PROMPT = 0.1


def pull_fan_out_named(
    client: KeyAPI, rng: random.Random, ex: Expected, sink: list[Any]
) -> tuple[Awaitable[None], Check]:
    """A fan-out kept in a variable, bare `async for`, maybe leaving by `break`."""
    concurrency, stop = rng.randint(2, 8), rng.choice([None, rng.randint(1, 80)])
    stream = client.influencers.videos_many(ex.users, concurrency=concurrency)

    async def run() -> None:
        async for user, video in stream:
            sink.append((user, video.video_id))
            if stop is not None and len(sink) >= stop:
                break

    def check(complete: bool) -> None:
        assert stream is not None  # held until the check
        assert_per_user_prefix(sink, ex.videos, complete and stop is None)

    return run(), check


def pull_fan_out_comprehension(
    client: KeyAPI, rng: random.Random, ex: Expected, sink: list[Any]
) -> tuple[Awaitable[None], Check]:
    """`[x async for x in fan]`, maybe raising mid-way; the error is kept."""
    concurrency, stop = rng.randint(2, 8), rng.choice([None, rng.randint(1, 30)])
    stream = client.influencers.livestreams_many(ex.users, concurrency=concurrency)
    kept: list[BaseException] = []

    def take(user: str, room: str) -> bool:
        sink.append((user, room))
        if stop is not None and len(sink) >= stop:
            raise _LeaveLoop
        return True

    async def run() -> None:
        try:
            [x async for x in stream if take(x[0], x[1].room_id)]
        except _LeaveLoop as exc:
            kept.append(exc)

    def check(complete: bool) -> None:
        assert_per_user_prefix(sink, ex.lives, complete and stop is None and not kept)
        if complete and stop is not None and len(sink) >= stop:
            assert kept, "the comprehension should have raised"

    return run(), check


def pull_items_under_timeout(
    client: KeyAPI, rng: random.Random, ex: Expected, sink: list[Any]
) -> tuple[Awaitable[None], Check]:
    """A bare item loop inside asyncio.timeout()."""
    concurrency, budget = rng.randint(2, 8), rng.uniform(0.005, 0.08)
    timed_out: list[bool] = []

    async def run() -> None:
        try:
            async with asyncio.timeout(budget):
                async for influencer in client.influencers.list(
                    region="US", concurrency=concurrency
                ):
                    sink.append(influencer.user_id)
        except TimeoutError:
            timed_out.append(True)

    def check(complete: bool) -> None:
        assert_prefix(sink, ex.us, complete and not timed_out)

    return run(), check


def pull_detail_stream_named(
    client: KeyAPI, rng: random.Random, ex: Expected, sink: list[Any]
) -> tuple[Awaitable[None], Check]:
    """detail_stream kept in a variable, bare `async for`, maybe leaving by `break`."""
    ids = rng.sample(ex.us, rng.randint(1, 40))
    stop = rng.choice([None, rng.randint(1, 40)])
    stream = client.influencers.detail_stream(user_ids=ids, concurrency=rng.randint(1, 8))

    async def run() -> None:
        async for detail in stream:
            sink.append(detail.user_id)
            if stop is not None and len(sink) >= stop:
                break

    def check(complete: bool) -> None:
        assert stream is not None
        assert_prefix(sink, ids, complete and (stop is None or stop >= len(ids)))

    return run(), check


def pull_pages_named(
    client: KeyAPI, rng: random.Random, ex: Expected, sink: list[Any]
) -> tuple[Awaitable[None], Check]:
    """pages() kept in a variable, bare `async for`, maybe leaving by `break`."""
    concurrency, stop = rng.randint(2, 8), rng.choice([None, rng.randint(1, 5)])
    stream = client.influencers.list(region="US", concurrency=concurrency).pages()

    async def run() -> None:
        async for page in stream:
            sink.extend(i.user_id for i in page.items)
            if stop is not None and len(sink) >= stop * 10:
                break

    def check(complete: bool) -> None:
        assert stream is not None
        assert_prefix(sink, ex.us, complete and stop is None)

    return run(), check


BARE_PULLS = [
    pull_fan_out_named,
    pull_fan_out_comprehension,
    pull_items_under_timeout,
    pull_detail_stream_named,
    pull_pages_named,
]


async def assert_workers_gone_promptly() -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PROMPT
    while keyapi_tasks():
        left = sorted(t.get_name() for t in keyapi_tasks())
        assert loop.time() < deadline, f"still pending {PROMPT}s after the pull ended: {left}"
        await asyncio.sleep(0.005)


async def test_random_cancellations_of_bare_streams_leave_nothing_behind() -> None:
    await random_rounds(
        seed=SEED + 1,
        qps=None,
        pulls=BARE_PULLS,
        cancel_share=0.6,
        name="bare pull",
        after_round=assert_workers_gone_promptly,
    )
