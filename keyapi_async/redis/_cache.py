"""RedisCache: answers kept in Redis for a whole fleet, and each uncached one bought once.

`fill_lock` is a short lock per answer (SET NX PX): the process that takes it buys the answer
while the others poll for its value. The lock expires by itself, so a holder that dies blocks
the others for at most `lock_timeout`; a holder releases only its own lock (token-checked Lua).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from .._cache._envelope import open_sealed, seal
from .._cache._health import Health, log
from .._cache._ttl import TTLs
from .._errors import InvalidParameterError
from .._params import finite_number
from ._keys import check_name

__all__ = ["RedisCache"]

T = TypeVar("T")
PROBE = 1.0  # after Redis fails, calls answer a miss at once for this long, then one tries again
_POLL = (0.005, 0.05)  # a waiting process polls for the value: first after 5 ms, then up to 50 ms

# KEYS: value, lock. ARGV: token, lock ms. -> {0}: the value is there; {1}: the lock is ours;
# {2, ms}: another process holds it for up to ms more.
_FILL = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end
return {2, redis.call('PTTL', KEYS[2])}
"""
# KEYS: lock. ARGV: token. Deletes the lock only if it is still ours (it may have expired and
# been taken by another process meanwhile).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS: lock. ARGV: token, lock ms. A live holder keeps its lock (it may queue at the limiter or
# wait out a Retry-After longer than the lock's timeout).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
LONGEST_WAIT = 120.0  # seconds a waiter waits for a live holder at most, whatever happens


class CorruptEntry(Exception):
    """A value under a cache key that this cache did not write for it."""


def _seconds(name: str, value: Any, high: float) -> float:
    if not finite_number(value) or not 0 < value <= high:
        raise InvalidParameterError(
            name, f"must be a finite number of seconds in (0, {high:g}], got {value!r}"
        )
    return float(value)


class RedisCache:
    """Answers kept in Redis for `ttl` seconds (one number, or a mapping endpoint name ->
    seconds whose "default" entry, else 3600, covers the names it leaves out), shared by every
    client on that Redis: keys `keyapi:cache:[<name>:]...`, scoped by a fingerprint of the API
    key, never the key.

    Two processes asking for the same uncached answer buy it once (`fill_lock`); one that waits
    for another's answer waits at most `lock_timeout` seconds. Every Redis call is bounded by
    `timeout`; if Redis fails, the call is a miss (logged at WARNING) and, for PROBE seconds,
    so is every call, without waiting. The cache does not close `redis`: its owner does.
    """

    __slots__ = (
        "_fill",
        "_health",
        "_held_until",
        "_redis",
        "_release",
        "_renew",
        "_ttls",
        "lock_timeout",
        "name",
        "timeout",
    )

    def __init__(
        self,
        redis: Redis,
        *,
        ttl: float | Mapping[str, float] = 3600,
        name: str | None = None,
        lock_timeout: float = 10.0,
        timeout: float = 1.0,
    ) -> None:
        if not isinstance(redis, Redis):
            raise InvalidParameterError("redis", "must be a redis.asyncio.Redis client")
        if redis.get_connection_kwargs().get("decode_responses"):  # type: ignore[no-untyped-call]
            raise InvalidParameterError(
                "redis", "must be made with decode_responses=False: answers are stored as bytes"
            )
        self._ttls = TTLs(ttl, fallback=3600.0)
        self.name = check_name(name)
        self.lock_timeout = _seconds("lock_timeout", lock_timeout, 600.0)
        self.timeout = _seconds("timeout", timeout, 60.0)
        self._redis = redis
        self._fill = redis.register_script(_FILL)
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)
        self._health = Health(f"RedisCache({self.name or ''})")
        self._held_until = 0.0  # after a failure, calls skip Redis until then (monotonic)

    @property
    def failures(self) -> int:
        """Redis calls that failed (each one a miss or a write not kept)."""
        return self._health.failures

    def ttl_for(self, endpoint: str) -> float:
        return self._ttls(endpoint)

    def _key(self, key: str) -> str:
        # The {...} hash tag keeps a value and its lock in one Redis Cluster slot, for _FILL.
        return f"keyapi:cache:{self.name}:{{{key}}}" if self.name else f"keyapi:cache:{{{key}}}"

    async def get(self, key: str) -> bytes | None:
        stored = await self._call("read", lambda: self._redis.get(self._key(key)))
        if stored is None:
            return None
        body = open_sealed(key, stored)
        if body is None:
            self._health.failed("read", CorruptEntry(f"entry {key.split(':')[0]}:... is garbage"))
        return body

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        if not ttl > 0:  # also NaN
            return
        ms = max(1, round(min(ttl, 1e12) * 1000))
        sealed = seal(key, bytes(value))
        await self._call("write", lambda: self._redis.set(self._key(key), sealed, px=ms))

    def fill_lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold the lock on `key` while buying its answer, or wait for the process that holds
        it. Inside, `get(key)` has the value unless this caller is to buy it: it took the lock,
        waited `lock_timeout` in vain, or Redis failed."""
        return self._fill_lock(key)

    @asynccontextmanager
    async def _fill_lock(self, key: str) -> AsyncIterator[None]:
        token = secrets.token_hex(16)
        held = await self._turn(key, token)
        lock = self._key(key) + ":lock"
        renewing = asyncio.create_task(self._keep(lock, token)) if held else None
        try:
            yield
        finally:
            if renewing is not None:
                renewing.cancel()
                await asyncio.wait((renewing,))
                await self._call("unlock", lambda: self._release(keys=[lock], args=[token]))

    async def _keep(self, lock: str, token: str) -> None:
        """Renew the lock while its holder lives; a dead holder's lock expires by itself."""
        ms = max(1, round(self.lock_timeout * 1000))
        while True:
            await asyncio.sleep(self.lock_timeout / 3)
            await self._call("renew", lambda: self._renew(keys=[lock], args=[token, ms]))

    async def _turn(self, key: str, token: str) -> bool:
        """True: this caller holds the lock. False: the value is there, or go ahead without."""
        keys = [self._key(key), self._key(key) + ":lock"]
        args: list[str | int] = [token, max(1, round(self.lock_timeout * 1000))]
        loop = asyncio.get_running_loop()
        # A live holder renews its lock, so waiting while the lock exists is waiting for an
        # answer on its way; a dead holder's lock expires within lock_timeout, and then this
        # caller takes it. The bound is for a holder alive yet stuck.
        longest = max(LONGEST_WAIT, 3 * self.lock_timeout)
        deadline = loop.time() + longest
        pause = _POLL[0]
        while True:
            answer = await self._call("lock", lambda: self._fill(keys=keys, args=args))
            if not isinstance(answer, list) or not answer:
                return False  # Redis failed: buy it here
            if answer[0] == 1:
                return True
            if answer[0] == 0:
                return False
            left = deadline - loop.time()
            if left <= 0:
                log.info("%s: waited %g s for another process's answer; buying it here",
                         self._health.what, longest)  # fmt: skip
                return False
            held = answer[1] / 1000 if len(answer) > 1 and isinstance(answer[1], int) else 0.0
            # Wake no later than the lock's own expiry (a dead holder's lock goes then).
            await asyncio.sleep(max(0.001, min(pause, left, held if held > 0 else pause)))
            pause = min(pause * 2, _POLL[1])

    async def _call(self, action: str, step: Callable[[], Awaitable[T]]) -> T | None:
        if self._held_until > time.monotonic():
            return None
        try:
            result = await asyncio.wait_for(step(), self.timeout)
        except ResponseError as exc:  # an error reply (e.g. another type under our key)
            self._health.failed(action, exc)
            return None
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self._health.failed(action, exc)
            self._held_until = time.monotonic() + PROBE
            return None
        self._health.ok()
        return result

    async def aclose(self) -> None:
        return None  # `redis` belongs to its owner

    def __repr__(self) -> str:
        return (
            f"RedisCache(name={self.name!r}, ttl={self._ttls!r}, "
            f"lock_timeout={self.lock_timeout:g}, timeout={self.timeout:g})"
        )
