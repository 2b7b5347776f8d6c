"""RedisCreditBudget when Redis fails: killed and restarted empty during a pull, hung, its
scripts flushed. The budget fails closed (nothing is sent that it cannot count), never hangs,
never leaks a redis-py exception, recovers by itself, and never hands out a credit twice."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.asyncio import Redis

from keyapi_async import CreditBudgetExceeded, KeyAPI, KeyAPIError
from keyapi_async.redis import RedisCreditBudget, SharedStateUnavailable
from keyapi_async.testing import FakeKeyAPI
from tests.redis_server import RedisServer

from .test_redis_budget import client_for
from .test_redis_limiter import until

PLAN = "acme-budget"


def pull(client: KeyAPI, *, start: int = 1, pages: int = 60) -> asyncio.Future[object]:
    return asyncio.ensure_future(
        client.influencers.list(
            region="US", page_size=1, start_page=start, max_pages=pages, concurrency=4
        ).collect()
    )


async def test_script_flush_during_a_pull_reloads_the_scripts(
    fake: FakeKeyAPI, redis: Redis
) -> None:
    budget = RedisCreditBudget(redis, max_credits=30, name=PLAN)
    async with client_for(fake, budget, qps=100) as client:
        task = pull(client)
        await until(lambda: len(fake.requests) >= 10)
        await redis.script_flush()
        with pytest.raises(CreditBudgetExceeded):
            await task
    assert budget.outages == 0
    assert len(fake.requests) == 30 == await budget.spent()


async def test_redis_killed_and_restarted_empty_mid_pull_fails_closed_then_recovers(
    fake: FakeKeyAPI,
    redis: Redis,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="keyapi_async")
    # lease_ttl: how long new calls wait once Redis lost the count (a short one for the test)
    budget = RedisCreditBudget(redis, max_credits=40, name=PLAN, probe=0.05, lease_ttl=0.5)
    async with client_for(fake, budget, qps=50, max_retries=0) as client:
        task = pull(client)
        await until(lambda: len(fake.requests) >= 10)
        redis_server.stop()
        with pytest.raises(SharedStateUnavailable) as info:
            await task  # fails closed: the budget cannot count, so nothing more goes out
        assert isinstance(info.value, KeyAPIError)
        sent_while_up = len(fake.requests)
        with pytest.raises(SharedStateUnavailable):
            await pull(client, start=30)
        assert len(fake.requests) == sent_while_up
        assert not budget.shared
        redis_server.start()  # empty: this test server keeps nothing across a restart
        await asyncio.sleep(0.1)  # past `probe`: the next step tries Redis again
        with pytest.raises(CreditBudgetExceeded):
            await pull(client, start=30)  # recovered by itself
    # The requests sent before the crash were not forgotten with Redis's data.
    assert len(fake.requests) == 40 == await budget.spent()
    assert budget.shared
    assert budget.outages == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "fails closed" in warnings[0]
    assert "lost its count" in warnings[1]  # new calls waited while the count was rebuilt
    assert any("counting again" in r.getMessage() for r in caplog.records)


async def test_a_hung_redis_times_out_and_nothing_it_missed_is_lost(
    redis_url: str, redis_server: RedisServer
) -> None:
    bare = Redis.from_url(redis_url)  # no socket timeouts: the budget must bound the wait
    await bare.flushdb()
    budget = RedisCreditBudget(bare, max_credits=5, name=PLAN, timeout=0.3, probe=0.05)
    lease = await budget.reserve(retry=False)
    redis_server.pause()
    try:
        with pytest.raises(SharedStateUnavailable, match="TimeoutError"):
            # wait_for: the test's own guard, far above the budget's
            await asyncio.wait_for(budget.reserve(retry=False), 5)
        await asyncio.wait_for(budget.settle(lease, sent=True), 5)  # never raises or hangs
    finally:
        redis_server.resume()
    await asyncio.sleep(0.1)  # past `probe`
    try:
        # The settlement Redis missed went with the next step, and the reservation whose answer
        # was lost (Redis ran it once it woke up) was given back.
        assert await budget.spent() == 1
        assert await budget.in_flight() == 0
        assert await budget.remaining() == 4
    finally:
        await bare.aclose()


async def test_a_reservation_cancelled_while_redis_hangs_is_given_back(
    redis_url: str, redis_server: RedisServer
) -> None:
    bare = Redis.from_url(redis_url)
    await bare.flushdb()
    budget = RedisCreditBudget(bare, max_credits=5, name=PLAN, timeout=10)
    await budget.settle(await budget.reserve(retry=False), sent=False)  # scripts loaded
    redis_server.pause()
    try:
        task = asyncio.ensure_future(budget.reserve(retry=False))
        await asyncio.sleep(0.1)  # the step is on its way to the sleeping server
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        redis_server.resume()
    try:
        assert await budget.in_flight() == 0
        assert await budget.remaining() == 5
    finally:
        await bare.aclose()
