"""RedisRateLimiter against a real redis-server (tests/redis_server.py): the shared schedule,
shared 429s and slips, the 402 flag, key hygiene, and Redis going away."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import subprocess
import sys
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from keyapi_async import InsufficientCreditsError, InvalidParameterError, KeyAPI, KeyAPIError
from keyapi_async.redis import RedisRateLimiter, SharedStateUnavailable
from keyapi_async.testing import FakeKeyAPI
from tests.redis_server import RedisServer

PLAN = "acme-plan"


def fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


async def until(condition: Callable[[], bool]) -> None:
    """Wait for a state another task or process brings about (polled: it has no event)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not within 10 s")


async def pull(client: KeyAPI, pages: int, *, start: int = 1) -> int:
    got = client.influencers.list(
        region="US", page_size=1, start_page=start, max_pages=pages, concurrency=4
    )
    return len([x async for x in got])


# --- the package -------------------------------------------------------------------------


def test_core_imports_nothing_from_redis():
    code = "import keyapi_async, sys; assert 'redis' not in sys.modules, 'redis imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_redis_py_the_import_error_names_the_extra():
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "try:\n    import keyapi_async.redis\n"
        "except ImportError as exc:\n    print(exc)\nelse:\n    raise SystemExit('imported')"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert 'pip install "keyapi-async[redis]"' in out.stdout


async def test_bad_settings_name_the_parameter(redis: Redis):
    for kwargs, parameter in [
        ({"qps": 0}, "qps"),
        ({"qps": float("nan")}, "qps"),
        ({"qps": 5, "name": "a{b}"}, "name"),
        ({"qps": 5, "name": ""}, "name"),
        ({"qps": 5, "on_unavailable": "ignore"}, "on_unavailable"),
        ({"qps": 5, "fallback_share": 1.5}, "fallback_share"),
        ({"qps": 5, "timeout": 0}, "timeout"),
    ]:
        with pytest.raises(InvalidParameterError) as info:
            RedisRateLimiter(redis, **kwargs)  # type: ignore[arg-type]
        assert info.value.parameter == parameter
    with pytest.raises(InvalidParameterError, match="redis"):
        RedisRateLimiter("redis://127.0.0.1", qps=5)  # type: ignore[arg-type]


# --- the shared schedule -----------------------------------------------------------------


async def test_two_clients_share_one_pace(fake: FakeKeyAPI, redis: Redis, redis_url: str):
    fake.qps_limit = 20
    redises = [Redis.from_url(redis_url, socket_timeout=1.0) for _ in range(2)]
    clients = [
        KeyAPI(
            api_key=fake.api_key,
            base_url=fake.url,
            limiter=RedisRateLimiter(r, qps=20, name=PLAN),
            max_retries=0,
        )
        for r in redises
    ]
    try:
        got = await asyncio.gather(pull(clients[0], 15), pull(clients[1], 15, start=20))
    finally:
        for c in clients:
            await c.aclose()
        for r in redises:
            await r.aclose()
    assert got == [15, 15]
    assert [r.status for r in fake.requests].count(429) == 0
    assert fake.max_in_window(1.0) <= 20


async def test_keys_hold_no_api_key_and_expire_after_the_horizon(redis: Redis):
    key = "sk_live_do_not_leak_0123456789"
    limiter = RedisRateLimiter(redis, qps=10)
    with pytest.raises(InvalidParameterError) as info:
        limiter.bind(key)  # the raw key is refused, and not echoed
    assert key not in str(info.value)
    limiter.bind(fingerprint(key))
    loop = asyncio.get_running_loop()
    started = await limiter.acquire()
    await limiter.rate_limited(120.0, started)  # a 2-minute hold: the horizon moves out
    await limiter.credits_exhausted("no credits", ttl=30)
    names = [k.decode() async for k in redis.scan_iter("*")]
    assert len(names) == 3
    for name in names:
        assert key not in name
        assert name.startswith(f"keyapi:{{key-{fingerprint(key)}}}:")
        dump = await redis.dump(name)
        assert dump is not None
        assert key.encode() not in dump
    pace = next(n for n in names if n.endswith(":pace"))
    assert await redis.pttl(pace) >= 120_000  # never before the reserved horizon
    assert 0 < await redis.pttl(next(n for n in names if n.endswith(":stop"))) <= 30_000
    assert loop.time() - started < 5


async def test_unbound_limiter_without_name_says_what_to_do(redis: Redis):
    limiter = RedisRateLimiter(redis, qps=10)
    with pytest.raises(KeyAPIError, match="give it a name"):
        await limiter.acquire()


async def test_a_429_slows_and_holds_every_client_of_the_plan(redis: Redis, redis_url: str):
    other_redis = Redis.from_url(redis_url, socket_timeout=1.0)
    mine = RedisRateLimiter(redis, qps=50, name=PLAN)
    theirs = RedisRateLimiter(other_redis, qps=50, name=PLAN)
    loop = asyncio.get_running_loop()
    try:
        starts = [await mine.acquire() for _ in range(10)]
        # Ten starts in the second before: the limit looks like 9, but one 429 at most halves.
        await mine.rate_limited(0.3, starts[-1])
        assert mine.rate == pytest.approx(50 / 2 * 0.95, abs=0.01)
        held_from = loop.time()
        await theirs.acquire()
        waited = loop.time() - held_from
        assert theirs.rate == pytest.approx(mine.rate, abs=0.1)  # learned from Redis
    finally:
        await other_redis.aclose()
    assert waited >= 0.25  # the Retry-After hold reached it


async def test_a_slip_moves_the_schedule_for_every_client(redis: Redis, redis_url: str):
    other_redis = Redis.from_url(redis_url, socket_timeout=1.0)
    mine = RedisRateLimiter(redis, qps=10, name=PLAN)
    theirs = RedisRateLimiter(other_redis, qps=10, name=PLAN)
    loop = asyncio.get_running_loop()
    try:
        await mine.acquire()
        await mine.slip(0.3)
        t0 = loop.time()
        await theirs.acquire()
        waited = loop.time() - t0
    finally:
        await other_redis.aclose()
    assert waited >= 0.3  # its interval (0.1 s) plus the slip


async def test_script_flush_during_a_pull_reloads_the_script(fake: FakeKeyAPI, redis: Redis):
    limiter = RedisRateLimiter(redis, qps=100, name=PLAN)
    async with KeyAPI(api_key=fake.api_key, base_url=fake.url, limiter=limiter) as client:
        task = asyncio.ensure_future(pull(client, 40))
        await until(lambda: len(fake.requests) >= 10)
        await redis.script_flush()
        assert await task == 40
    assert limiter.outages == 0
    assert len(fake.requests) == 40
    assert await redis.exists(f"keyapi:{{{PLAN}}}:pace") == 1  # still paced through Redis


# --- stop on 402 -------------------------------------------------------------------------


async def test_a_402_flag_stops_every_client_before_sending(
    fake: FakeKeyAPI, redis: Redis, redis_url: str
):
    other_redis = Redis.from_url(redis_url, socket_timeout=1.0)
    mine = RedisRateLimiter(redis, qps=50, name=PLAN)
    theirs = RedisRateLimiter(other_redis, qps=50, name=PLAN)
    try:
        await mine.credits_exhausted("Insufficient credits", ttl=60)
        async with KeyAPI(api_key=fake.api_key, base_url=fake.url, limiter=theirs) as client:
            with pytest.raises(InsufficientCreditsError, match="Insufficient credits"):
                await pull(client, 3)
            assert fake.requests == []  # nothing was sent
            await mine.credits_restored()  # a top-up: the fleet resumes
            assert await pull(client, 3) == 3
    finally:
        await other_redis.aclose()


async def test_the_402_flag_holds_this_process_while_redis_is_down(
    redis: Redis, redis_server: RedisServer
):
    limiter = RedisRateLimiter(redis, qps=50, name=PLAN, timeout=0.5)
    await limiter.acquire()
    redis_server.stop()
    with pytest.raises(SharedStateUnavailable):
        await limiter.credits_exhausted("Insufficient credits", ttl=60)
    with pytest.raises(InsufficientCreditsError):
        await limiter.acquire()


# --- Redis unavailable -------------------------------------------------------------------


async def test_redis_killed_and_restarted_during_a_pull_falls_back_and_recovers(
    fake: FakeKeyAPI, redis: Redis, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
):
    limiter = RedisRateLimiter(redis, qps=100, name=PLAN, fallback_share=0.5, probe=0.05)
    caplog.set_level(logging.INFO, logger="keyapi_async")
    async with KeyAPI(api_key=fake.api_key, base_url=fake.url, limiter=limiter) as client:
        task = asyncio.ensure_future(pull(client, 60))
        await until(lambda: len(fake.requests) >= 10)
        redis_server.stop()
        await until(lambda: not limiter.shared)
        sent_down = len(fake.requests)
        await until(lambda: len(fake.requests) >= sent_down + 5)  # paced locally meanwhile
        redis_server.start()
        assert await task == 60
    assert len(fake.requests) == 60
    assert limiter.outages == 1
    assert limiter.shared  # recovered by itself
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "pacing locally at 50%" in warnings[0].getMessage()
    assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_raise_mode_gives_a_clear_error_and_sends_nothing(
    fake: FakeKeyAPI, redis: Redis, redis_server: RedisServer
):
    limiter = RedisRateLimiter(redis, qps=50, name=PLAN, on_unavailable="raise")
    redis_server.stop()
    async with KeyAPI(api_key=fake.api_key, base_url=fake.url, limiter=limiter) as client:
        with pytest.raises(SharedStateUnavailable) as info:
            await pull(client, 3)
    assert isinstance(info.value, KeyAPIError)
    assert fake.requests == []
    assert limiter.outages == 1
    redis_server.start()
    assert await limiter.acquire() > 0  # recovery is automatic


async def test_a_hung_redis_times_out_instead_of_hanging(redis_url: str, redis_server: RedisServer):
    bare = Redis.from_url(redis_url)  # no socket timeouts: the limiter must bound the wait
    limiter = RedisRateLimiter(bare, qps=50, name=PLAN, on_unavailable="raise", timeout=0.3)
    await limiter.acquire()
    redis_server.pause()
    try:
        with pytest.raises(SharedStateUnavailable, match="TimeoutError"):
            # wait_for: the test's own guard, far above the limiter's
            await asyncio.wait_for(limiter.acquire(), 5)
        await asyncio.wait_for(limiter.rate_limited(1.0, 0.0), 5)  # gives up as quietly
    finally:
        redis_server.resume()
        await bare.aclose()
