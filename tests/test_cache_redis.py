"""RedisCache against a real redis-server (tests/redis_server.py): expiry, key hygiene,
fill_lock between real processes (and a SIGKILLed holder), and Redis failing: a WARNING and a
miss, never an exception and never a hang."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from redis.asyncio import Redis

from keyapi_async import InvalidParameterError, ResponseCache
from keyapi_async._cache import FillLocking, cache_key
from keyapi_async._fingerprint import key_fingerprint
from keyapi_async.redis import RedisCache
from tests.cache_helpers import warnings
from tests.redis_server import RedisServer

API_KEY = "sk_test_never_in_redis"
FP = key_fingerprint(API_KEY)
KEY = cache_key("detail", {"user_id": "42"}, FP)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="keyapi_async")
    return caplog


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
    await cache.set(KEY, b"body", ttl=0.05)  # a hit before that: the PX test above

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
