"""Adversarial review of the shared-plan features (issue 10): each test states a promise that
the lead branch breaks, against a real redis-server, FakeKeyAPI and real processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from keyapi_async import (
    APIConnectionError,
    AuthenticationError,
    CreditBudgetExceeded,
    InsufficientCreditsError,
    InvalidParameterError,
    KeyAPI,
    KeyAPIError,
    ServerError,
)
from keyapi_async.redis import RedisCache, RedisCreditBudget, RedisRateLimiter
from keyapi_async.testing import FakeKeyAPI, Fault
from tests.redis_server import RedisServer
from tests.test_redis_limiter import until

PLAN = "review-plan"
ROOT = Path(__file__).resolve().parents[1]


class LossyLink:
    """A real TCP hop in front of Redis. While `lose_answers` is set, commands still reach
    Redis and run, but its replies are dropped: a network that loses answers, not requests."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.lose_answers = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.url = f"redis://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/0"

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._relay(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, lossy: bool) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    if not (lossy and self.lose_answers):
                        dst.write(data)
                        await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()


@pytest.fixture
async def lossy(redis_server: RedisServer) -> AsyncIterator[LossyLink]:
    redis_server.start()
    link = LossyLink(redis_server.port)
    await link.start()
    yield link
    await link.close()


async def test_a_settlement_whose_answer_was_lost_is_not_counted_twice(
    lossy: LossyLink, redis: Redis
) -> None:
    """A settle that ran in Redis but whose answer was lost is sent again with the next step
    (the budget keeps it pending). One request sent must count once: `spent` is what the server
    billed, and an over-count stops the fleet early."""
    client = Redis.from_url(lossy.url)
    budget = RedisCreditBudget(client, max_credits=5, name=PLAN, timeout=0.3, probe=0.05)
    try:
        await budget.settle(await budget.reserve(retry=False), sent=False)  # scripts loaded
        lease = await budget.reserve(retry=False)
        lossy.lose_answers = True
        await asyncio.wait_for(budget.settle(lease, sent=True), 5)  # ran; its answer is lost
        lossy.lose_answers = False
        await asyncio.sleep(0.1)  # past `probe`: the next step gets through
        assert await budget.in_flight() == 0
        assert await budget.spent() == 1  # one request was sent: lead counts 2
        assert await budget.remaining() == 4
    finally:
        await client.aclose()


async def granted(budget: RedisCreditBudget, tries: int) -> list[str]:
    """The leases `budget` grants to `tries` new calls, one after another; a call still waiting
    after 0.5 s (credits kept for calls in flight) is not granted."""
    leases = []
    for _ in range(tries):
        try:
            leases.append(await asyncio.wait_for(budget.reserve(retry=False), 0.5))
        except asyncio.TimeoutError:
            break
    return leases


async def test_redis_restarted_empty_never_lets_the_fleet_send_more_than_the_budget(
    redis: Redis, redis_url: str, redis_server: RedisServer
) -> None:
    """docs/fleet.md: "If Redis loses the count ... each running process ... registers its
    leases in flight again, so a restart never hands the budget out twice." But a process only
    registers them at its next step: until then, another process that rejoins first is granted
    the credits those requests in flight already hold."""
    other = Redis.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
    a = RedisCreditBudget(redis, max_credits=3, name=PLAN, probe=0.05)
    b = RedisCreditBudget(other, max_credits=3, name=PLAN, probe=0.05)
    try:
        in_flight = await granted(b, 3)  # B's slow requests, sent, answers not in yet
        assert len(in_flight) == 2  # the third credit is kept for their retries
        assert await a.spent() == 0  # A has seen this life of the state
        redis_server.stop()
        redis_server.start()  # empty
        await asyncio.sleep(0.1)  # past `probe`
        mine = await granted(a, 3)
        for lease in in_flight:
            await b.settle(lease, sent=True)  # B's answers come in: 2 requests were sent
        for lease in mine:
            await a.settle(lease, sent=True)
        sent = len(in_flight) + len(mine)
        assert sent <= 3, f"{sent} requests sent on a budget of 3 (A was granted {len(mine)})"
    finally:
        await other.aclose()


def _arq_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "arq", "examples.fleet.worker.WorkerSettings"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


@pytest.mark.slow
def test_an_arq_worker_stopped_mid_job_throws_no_paid_page_away(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """docs/fleet.md: "a job that arq runs again (its worker died mid-job) finds the file and
    buys nothing". A worker stopped by SIGTERM (every deploy) has its job cancelled; arq runs it
    again on another worker, which buys every page again: the first worker's pages are
    thrown away, paid for twice."""
    pytest.importorskip("arq")
    redis_server.start()
    with SyncRedis.from_url(redis_server.url) as r:
        r.flushdb()
    out = tmp_path / "out"
    with FakeKeyAPI(influencers=300, latency=0.3) as server:
        creator = "6957241711463656669"  # 60 videos: 7 pages, one at a time
        expected = len(server.dataset.videos(creator))
        env = {
            **os.environ,
            "REDIS_URL": redis_server.url, "FLEET_PLAN": "review-arq", "FLEET_QPS": "50",
            "FLEET_MAX_CREDITS": "100", "FLEET_OUT": str(out),
            "KEYAPI_API_KEY": server.api_key, "KEYAPI_BASE_URL": server.url,
        }  # fmt: skip
        first = _arq_worker(env, tmp_path / "first.log")
        producer = subprocess.Popen(
            [sys.executable, "-m", "examples.fleet.producer", creator, "--timeout", "60"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        second = None
        try:
            deadline = time.monotonic() + 30
            while len(server.requests) < 3:  # another process's progress: polled
                assert time.monotonic() < deadline, (tmp_path / "first.log").read_text()
                time.sleep(0.01)
            first.send_signal(signal.SIGTERM)  # a deploy: arq cancels the job, runs it again
            assert first.wait(timeout=30) == 0
            second = _arq_worker(env, tmp_path / "second.log")
            summary, err = producer.communicate(timeout=60)
            assert producer.returncode == 0, err.decode()
        finally:
            for proc in (first, second, producer):
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=30)
        pages = Counter(r.params["page_num"] for r in server.requests)
    assert json.loads(summary)["stored"] == {creator: expected}
    assert len((out / f"{creator}.jsonl").read_bytes().splitlines()) == expected
    assert max(pages.values()) == 1, f"pages bought more than once: {pages}"


@pytest.mark.parametrize(
    "error",
    [
        InsufficientCreditsError("credits exhausted", status_code=402, request_id="r1"),
        ServerError("upstream down", status_code=503, retry_after=2.0),
        AuthenticationError("bad key", status_code=401),
        CreditBudgetExceeded(5),
        APIConnectionError("refused", retryable=False),
        InvalidParameterError("page_size", "must be 1 to 100"),
    ],
    ids=type,
)
def test_errors_cross_a_process_boundary_intact(error: KeyAPIError) -> None:
    """arq (the fleet example), multiprocessing and concurrent.futures pickle a job's exception
    to hand it to another process: it must come back as the same error, message and fields."""
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert vars(back) == vars(error)
    assert back.retryable == error.retryable


@pytest.mark.slow
def test_the_arq_producer_reports_the_error_a_creator_failed_with(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A 402 ends a creator's job: the producer's summary must say InsufficientCreditsError
    (what the operator acts on: top up), not arq's DeserializationError."""
    pytest.importorskip("arq")
    redis_server.start()
    with SyncRedis.from_url(redis_server.url) as r:
        r.flushdb()
    with FakeKeyAPI(influencers=300, fault_rates={Fault.NO_CREDITS: 1.0}) as server:
        creator = "6957241711463656669"
        env = {
            **os.environ,
            "REDIS_URL": redis_server.url, "FLEET_PLAN": "review-402", "FLEET_QPS": "50",
            "FLEET_MAX_CREDITS": "100", "FLEET_OUT": str(tmp_path / "out"),
            "KEYAPI_API_KEY": server.api_key, "KEYAPI_BASE_URL": server.url,
        }  # fmt: skip
        worker = _arq_worker(env, tmp_path / "worker.log")
        try:
            producer = subprocess.run(
                [sys.executable, "-m", "examples.fleet.producer", creator, "--timeout", "30"],
                cwd=ROOT, env=env, capture_output=True, timeout=60,
            )  # fmt: skip
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
    assert producer.returncode == 0, producer.stderr.decode()
    assert json.loads(producer.stdout)["failed"] == {creator: "InsufficientCreditsError"}


@pytest.mark.slow
async def test_a_fill_lock_holder_queued_at_the_limiter_keeps_its_lock(
    fake: FakeKeyAPI, redis: Redis, redis_url: str
) -> None:
    """RedisCache: "When two processes miss the same answer at the same time, the first takes a
    short lock and buys it; the others poll for its value and use it." The lock is taken before
    the holder waits for the limiter: behind its own process's queue of calls, longer than
    lock_timeout, it expires while its holder is alive and still queued, and the other process
    buys the same page too (a page bought twice, one of them for nothing)."""
    connections = [Redis.from_url(redis_url) for _ in range(2)]  # two processes' own
    clients = [
        KeyAPI(
            api_key=fake.api_key, base_url=fake.url,
            limiter=RedisRateLimiter(c, qps=5, name=PLAN),
            cache=RedisCache(c, name=PLAN, lock_timeout=1.0),
        )
        for c in connections
    ]  # fmt: skip
    first, second = clients

    def pages(client: KeyAPI, start: int, count: int) -> Awaitable[object]:
        return client.influencers.list(
            region="US", page_size=1, start_page=start, max_pages=count, concurrency=15
        ).collect()

    try:
        backlog = asyncio.ensure_future(pages(first, 1, 15))  # 15 calls: 3 s at the plan's pace
        await until(lambda: len(fake.requests) >= 1)
        mine = asyncio.ensure_future(pages(first, 200, 1))  # takes the lock, queues behind them
        await asyncio.sleep(0.2)
        await pages(second, 200, 1)  # another process wants the same page
        await asyncio.gather(backlog, mine)
    finally:
        for client in clients:
            await client.aclose()
        for c in connections:
            await c.aclose()
    bought = [r for r in fake.requests if r.params.get("page_num") == "200"]
    assert len(bought) == 1, f"page 200 bought {len(bought)} times"
