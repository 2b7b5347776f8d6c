"""RedisCache.fill_lock against a real redis-server: one process buys an uncached answer while
the others wait for its value, in one process and between real OS processes, and a holder that
fails, is cancelled, outlives its lock or is SIGKILLed never blocks the others for long."""

from __future__ import annotations

import asyncio

import pytest

from keyapi_async._cache import cache_key
from keyapi_async._fingerprint import key_fingerprint
from keyapi_async.redis import RedisCache
from tests.cache_helpers import line, tell, worker

API_KEY = "sk_test_never_in_redis"
FP = key_fingerprint(API_KEY)
KEY = cache_key("detail", {"user_id": "42"}, FP)


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

    # A live holder renews its lock; it can still lose it (renewals failing while Redis is
    # unreachable): the deletion below stands for that.
    async with slow.fill_lock(KEY):
        await redis.delete(lock)
        assert await expired()
        async with fresh.fill_lock(KEY):
            taken = await redis.get(lock)
            assert taken is not None
            break_out = True
    assert break_out
    # The slow holder left after the fresh one took and released the lock: nothing to assert
    # there; now the other order, the slow one leaving while the fresh one still holds it.
    async with slow.fill_lock(KEY):
        await redis.delete(lock)
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
            assert result["waited"] <= lock_timeout + 0.75  # its own limit is 30 s
            assert waiter.wait(timeout=30) == 0
