"""Several OS processes, each with its own client and RedisCreditBudget, share one budget.

The witness is the FakeKeyAPI they all talk to (on its own thread): it counts every request
that reached it, whichever process sent it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis import Redis

from keyapi_async.testing import FakeKeyAPI, Fault
from tests.redis_server import RedisServer

pytestmark = pytest.mark.slow  # `-m "not slow"` leaves it out of the quick loop

ROOT = Path(__file__).resolve().parents[1]


def worker(
    server: FakeKeyAPI, redis_url: str, name: str, *options: object
) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "tests.redis_budget_worker", "--redis", redis_url]
    argv += ["--name", name, "--base-url", server.url, "--api-key", server.api_key]
    return subprocess.Popen(
        [*argv, *map(str, options)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def result(proc: subprocess.Popen[bytes]) -> dict[str, object]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.fixture
def clean_redis(redis_server: RedisServer) -> str:
    redis_server.start()
    with Redis.from_url(redis_server.url) as r:
        r.flushdb()
    return redis_server.url


def test_four_processes_never_send_more_than_the_budget(clean_redis: str) -> None:
    with FakeKeyAPI(influencers=300) as server:
        # 4 x 30 pages wanted, 50 credits: unpaced, the processes race for the last ones.
        procs = [
            worker(server, clean_redis, "fleet-budget", "--max-credits", 50, "--pages", 30,
                   "--start", 1 + 30 * i, "--concurrency", 4)
            for i in range(4)
        ]  # fmt: skip
        results = [result(p) for p in procs]
        assert len(server.requests) == 50  # counted at the server: every credit, none twice
    assert sum(r["requests"] for r in results) == 50  # type: ignore[misc]
    assert {r["error"] for r in results} <= {"CreditBudgetExceeded", None}
    assert "CreditBudgetExceeded" in {r["error"] for r in results}
    # Read once every process is gone: a process's own reading may predate another's settlement.
    assert shared_spent(clean_redis, "fleet-budget", 50) == 50


def shared_spent(url: str, name: str, max_credits: int) -> int:
    from redis.asyncio import Redis as AsyncRedis

    from keyapi_async.redis import RedisCreditBudget

    async def read() -> int:
        redis = AsyncRedis.from_url(url, socket_timeout=2.0)
        try:
            return await RedisCreditBudget(redis, max_credits=max_credits, name=name).spent()
        finally:
            await redis.aclose()

    return asyncio.run(read())


def test_a_process_killed_holding_leases_costs_them_and_the_rest_carry_on(
    clean_redis: str,
) -> None:
    with (
        FakeKeyAPI(influencers=300) as server,
        FakeKeyAPI(influencers=300, fault_rates={Fault.STALL: 1.0}, stall=30) as stalling,
    ):
        # It sends 4 requests that hang, holding 4 leases of 1 s each, and dies with them.
        # The two after it want 30 pages each, more than the 26 left.
        doomed = worker(stalling, clean_redis, "fleet-kill", "--max-credits", 30, "--pages", 20,
                        "--concurrency", 4, "--lease-ttl", 1.0)  # fmt: skip
        deadline = time.monotonic() + 30
        while len(stalling.requests) < 4:  # polled: another process's progress has no event
            assert time.monotonic() < deadline, "the doomed worker never sent its 4 requests"
            assert doomed.poll() is None, doomed.communicate()[1].decode()
            time.sleep(0.01)
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate(timeout=10)  # reaped, its pipes closed
        procs = [
            worker(server, clean_redis, "fleet-kill", "--max-credits", 30, "--pages", 30,
                   "--start", 1 + 30 * i)
            for i in range(2)
        ]  # fmt: skip
        results = [result(p) for p in procs]
        # The dead leases expired as spent (they were sent); the others had the other 26.
        assert len(server.requests) == 26
    assert [r["error"] for r in results] == ["CreditBudgetExceeded"] * 2
    assert sum(r["requests"] for r in results) == 26  # type: ignore[misc]
    assert shared_spent(clean_redis, "fleet-kill", 30) == 30  # 4 dead leases + 26 sent
