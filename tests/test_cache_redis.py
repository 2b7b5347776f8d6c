"""RedisCache against a real redis-server (tests/redis_server.py): expiry, key hygiene,
fill_lock between real processes (and a SIGKILLed holder), and Redis failing: a WARNING and a
miss, never an exception and never a hang."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from keyapi_async import InvalidParameterError, ResponseCache
from keyapi_async._cache import FillLocking, cache_key
from keyapi_async._fingerprint import key_fingerprint
from keyapi_async.redis import RedisCache
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "sk_test_never_in_redis"
FP = key_fingerprint(API_KEY)
KEY = cache_key("detail", {"user_id": "42"}, FP)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="keyapi_async")
    return caplog


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


async def until(condition, *, within: float = 10.0) -> None:
    """Wait for a state Redis or another task brings about (polled: it has no event)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {within} s")


async def test_an_answer_is_kept_with_its_ttl_as_px_expiry(redis):
    cache = RedisCache(redis, ttl={"detail": 120})
    await cache.set(KEY, b"body", ttl=cache.ttl_for("detail"))
    assert await cache.get(KEY) == b"body"
    assert await cache.get(cache_key("detail", {"user_id": "43"}, FP)) is None
    (name,) = [k async for k in redis.scan_iter("keyapi:cache:*")]
    assert 119_000 < await redis.pttl(name) <= 120_000


async def test_an_expired_answer_is_never_served(redis):
    cache = RedisCache(redis)
    await cache.set(KEY, b"body", ttl=0.05)
    assert await cache.get(KEY) == b"body"

    async def gone() -> bool:
        return not [k async for k in redis.scan_iter("keyapi:cache:*")]

    await until(gone)
    assert await cache.get(KEY) is None


async def test_ttl_zero_stores_nothing(redis):
    cache = RedisCache(redis, ttl={"default": 0, "detail": 60})
    await cache.set(KEY, b"body", ttl=cache.ttl_for("list"))
    assert await redis.dbsize() == 0


async def test_another_cache_on_the_same_redis_shares_the_answer(redis_url, redis):
    other = Redis.from_url(redis_url, socket_timeout=1.0)
    await RedisCache(redis).set(KEY, b"body", ttl=60)
    assert await RedisCache(other).get(KEY) == b"body"
    await other.aclose()


async def test_keys_live_under_keyapi_cache_and_never_hold_the_key(redis):
    plain, named = RedisCache(redis), RedisCache(redis, name="acme-app")
    await plain.set(KEY, b"body", ttl=60)
    await named.set(KEY, b"other body", ttl=60)
    async with plain.fill_lock(cache_key("list", {"page": "1"}, FP)):
        names = sorted([k.decode() async for k in redis.scan_iter("*")])
        assert names == sorted(
            [
                f"keyapi:cache:{{{KEY}}}",
                f"keyapi:cache:acme-app:{{{KEY}}}",
                f"keyapi:cache:{{{cache_key('list', {'page': '1'}, FP)}}}:lock",
            ]
        )
        values = [await redis.get(n) for n in names]
    assert await plain.get(KEY) == b"body"
    assert await named.get(KEY) == b"other body"  # names keep apps apart
    for text in [*names, *(v.decode("latin-1") for v in values)]:
        assert API_KEY not in text
        assert FP not in text


def test_bad_settings_are_refused(redis):
    with pytest.raises(InvalidParameterError, match=r"redis\.asyncio\.Redis") as caught:
        RedisCache("redis://127.0.0.1")  # type: ignore[arg-type]
    assert caught.value.parameter == "redis"
    for option, value in [("ttl", -1), ("lock_timeout", 0), ("timeout", float("inf"))]:
        with pytest.raises(InvalidParameterError) as caught:
            RedisCache(redis, **{option: value})
        assert caught.value.parameter == option
    with pytest.raises(InvalidParameterError) as caught:
        RedisCache(redis, name="a plan with spaces")
    assert caught.value.parameter == "name"


async def test_a_client_that_decodes_responses_is_refused(redis_url):
    decoding = Redis.from_url(redis_url, decode_responses=True)
    with pytest.raises(InvalidParameterError, match="decode_responses=False"):
        RedisCache(decoding)
    await decoding.aclose()


async def test_the_repr_shows_no_password(redis_server):
    client = Redis.from_url(f"redis://:hunter2-secret@127.0.0.1:{redis_server.port}/0")
    cache = RedisCache(client, name="acme-app")
    assert "hunter2" not in repr(cache)
    assert repr(cache) == "RedisCache(name='acme-app', ttl=3600, lock_timeout=10, timeout=1)"
    await client.aclose()


def test_it_is_a_response_cache_with_a_fill_lock(redis):
    cache = RedisCache(redis)
    assert isinstance(cache, ResponseCache)
    assert isinstance(cache, FillLocking)


# --- fill_lock within one process -----------------------------------------------------------


async def test_a_waiter_gets_the_holders_value(redis):
    holder, waiter = RedisCache(redis), RedisCache(redis)  # as two processes would
    entered = asyncio.Event()
    found: list[bytes | None] = []

    async def wait() -> None:
        entered.set()
        async with waiter.fill_lock(KEY):
            found.append(await waiter.get(KEY))

    async with holder.fill_lock(KEY):
        assert await holder.get(KEY) is None
        task = asyncio.create_task(wait())
        await entered.wait()
        await asyncio.sleep(0)  # let it reach Redis; it cannot get in while the lock is held
        await holder.set(KEY, b"bought once", ttl=60)
    await asyncio.wait_for(task, 10)
    assert found == [b"bought once"]


async def test_a_holder_that_fails_hands_the_lock_to_a_waiter_at_once(redis):
    holder, waiter = RedisCache(redis, lock_timeout=60), RedisCache(redis, lock_timeout=60)
    lock = f"keyapi:cache:{{{KEY}}}:lock"
    inside = asyncio.Event()
    leave = asyncio.Event()

    async def wait() -> None:
        async with waiter.fill_lock(KEY):
            inside.set()
            await leave.wait()

    async def fail() -> None:
        async with holder.fill_lock(KEY):
            tasks.append(asyncio.create_task(wait()))
            held.append(await redis.get(lock))
            raise RuntimeError("the request failed")

    tasks: list[asyncio.Task[None]] = []
    held: list[bytes | None] = []
    with pytest.raises(RuntimeError, match="the request failed"):
        await fail()
    (task,), (held_by_holder,) = tasks, held
    assert held_by_holder is not None
    await asyncio.wait_for(inside.wait(), 10)  # long before the 60 s lock timeout
    assert await waiter.get(KEY) is None  # so it buys the answer itself...
    assert await redis.get(lock) not in (None, held_by_holder)  # ...holding the lock now
    leave.set()
    await task
    assert await redis.exists(lock) == 0


async def test_a_cancelled_holder_releases_the_lock(redis):
    cache = RedisCache(redis, lock_timeout=60)
    inside = asyncio.Event()

    async def hold() -> None:
        async with cache.fill_lock(KEY):
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(hold())
    await inside.wait()
    assert await redis.exists(f"keyapi:cache:{{{KEY}}}:lock") == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await redis.exists(f"keyapi:cache:{{{KEY}}}:lock") == 0


async def test_a_holder_whose_lock_expired_never_releases_the_next_holders(redis):
    slow, fresh = RedisCache(redis, lock_timeout=0.2), RedisCache(redis, lock_timeout=60)
    lock = f"keyapi:cache:{{{KEY}}}:lock"

    async def expired() -> bool:
        return await redis.exists(lock) == 0

    async with slow.fill_lock(KEY):
        await until(expired)  # it outlived its lock
        async with fresh.fill_lock(KEY):
            taken = await redis.get(lock)
            assert taken is not None
            break_out = True
    assert break_out
    # The slow holder left after the fresh one took and released the lock: nothing to assert
    # there; now the other order, the slow one leaving while the fresh one still holds it.
    async with slow.fill_lock(KEY):
        await until(expired)
        fresh_inside, leave = asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            async with fresh.fill_lock(KEY):
                fresh_inside.set()
                await leave.wait()

        task = asyncio.create_task(hold())
        await fresh_inside.wait()
        taken = await redis.get(lock)
    assert await redis.get(lock) == taken  # the slow holder's exit left the fresh lock alone
    leave.set()
    await task


async def test_the_value_already_there_means_no_lock(redis):
    cache = RedisCache(redis)
    await cache.set(KEY, b"body", ttl=60)
    async with cache.fill_lock(KEY):
        assert await redis.exists(f"keyapi:cache:{{{KEY}}}:lock") == 0
        assert await cache.get(KEY) == b"body"


# --- fill_lock between real processes -------------------------------------------------------


@contextlib.contextmanager
def worker(*args: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.cache_worker", *args], cwd=ROOT, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        yield proc
    finally:
        proc.kill()
        proc.communicate()  # reaps it and closes the pipes


def tell(proc: subprocess.Popen[str], text: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(text + "\n")
    proc.stdin.flush()


def line(proc: subprocess.Popen[str]) -> dict[str, object]:
    assert proc.stdout is not None
    text = proc.stdout.readline()
    assert text, proc.stderr.read() if proc.stderr else "no output"
    return json.loads(text)


def test_a_second_process_waits_for_the_first_ones_answer(redis_url, redis):
    with worker("redis-hold", redis_url, KEY, "30") as holder:
        assert line(holder) == {"locked": True, "found": False}
        with worker("redis-wait", redis_url, KEY, "30") as waiter:
            assert line(waiter) == {"asking": True}
            # Only now may the holder store its answer: a waiter that did not wait finds nothing.
            tell(holder, "go")
            assert line(holder) == {"released": True}
            result = line(waiter)
            assert result["value"] == "bought by the holder"
            assert result["failures"] == 0
            assert waiter.wait(timeout=30) == 0
        assert holder.wait(timeout=30) == 0


def test_a_killed_holder_blocks_the_other_no_longer_than_the_lock_timeout(redis_url, redis):
    lock_timeout = 1.0
    with worker("redis-hold", redis_url, KEY, str(lock_timeout)) as holder:
        assert line(holder) == {"locked": True, "found": False}
        holder.kill()  # SIGKILL: no finally, no release
        holder.wait()
        with worker("redis-wait", redis_url, KEY, "30") as waiter:
            assert line(waiter) == {"asking": True}
            result = line(waiter)
            assert result["value"] is None  # nothing was bought: it buys the answer itself
            assert result["waited"] <= lock_timeout + 0.5
            assert waiter.wait(timeout=30) == 0


# --- Redis failing --------------------------------------------------------------------------


async def test_garbage_under_a_key_is_a_miss(redis, logs):
    cache = RedisCache(redis)
    await redis.set(f"keyapi:cache:{{{KEY}}}", b"not written by the cache")
    assert await cache.get(KEY) is None
    assert any("garbage" in w for w in warnings(logs))


async def test_a_value_of_another_type_is_a_miss_and_other_keys_still_work(redis, logs):
    cache = RedisCache(redis)
    await redis.rpush(f"keyapi:cache:{{{KEY}}}", b"a list")
    assert await cache.get(KEY) is None
    assert any("WRONGTYPE" in w for w in warnings(logs))
    other = cache_key("detail", {"user_id": "43"}, FP)
    await cache.set(other, b"body", ttl=60)
    assert await cache.get(other) == b"body"  # an error reply does not stop the cache


async def test_redis_gone_is_a_miss_and_a_noop_and_comes_back(redis_server: RedisServer, logs):
    client = Redis.from_url(redis_server.url, socket_timeout=0.5, socket_connect_timeout=0.5)
    cache = RedisCache(client, timeout=0.5)
    await cache.set(KEY, b"body", ttl=60)
    redis_server.stop()
    try:
        start = time.monotonic()
        assert await cache.get(KEY) is None
        await cache.set(KEY, b"body", ttl=60)
        async with cache.fill_lock(KEY):
            pass
        assert time.monotonic() - start < 2.0
        assert cache.failures >= 1
        assert any("read failed" in w for w in warnings(logs))
    finally:
        redis_server.start()  # empty again, as after a crash

    async def works() -> bool:
        await cache.set(KEY, b"again", ttl=60)
        return await cache.get(KEY) == b"again"

    await until(works)
    assert any("works again" in r.getMessage() for r in logs.records)
    await client.aclose()


async def test_a_hung_redis_never_hangs_the_cache(redis_server: RedisServer, logs):
    client = Redis.from_url(redis_server.url)  # no socket timeouts: the cache bounds each call
    cache = RedisCache(client, timeout=0.3, lock_timeout=30)
    await cache.set(KEY, b"body", ttl=60)
    redis_server.pause()
    try:
        start = time.monotonic()
        assert await cache.get(KEY) is None
        async with cache.fill_lock(cache_key("list", {}, FP)):
            pass
        await cache.set(KEY, b"body", ttl=60)
        assert time.monotonic() - start < 0.3 + 1.0
        assert any("TimeoutError" in w for w in warnings(logs))
    finally:
        redis_server.resume()

    async def hit() -> bool:
        return await cache.get(KEY) == b"body"

    await until(hit)
    await client.aclose()
