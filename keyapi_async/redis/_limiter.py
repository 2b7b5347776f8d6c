"""RedisRateLimiter: one pacing schedule shared by every client naming the same plan.

Each acquire() runs one Lua step in Redis (see _scripts) that reserves the next slot of the
plan's evenly spaced schedule and answers how long to wait; the caller sleeps that long. Within a
process, callers take turns as with RateLimiter, so a process holds at most one slot it has not
started yet and a 429's hold reaches every later start of the fleet.

429s (`rate_limited`) and late starts (`slip`) update the shared schedule in the background:
both are plain methods like RateLimiter's and return a task that a caller may await.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any, Literal

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from .. import _limiter as local
from .._errors import InsufficientCreditsError, InvalidParameterError, KeyAPIError
from .._params import finite_number
from ._errors import SharedStateUnavailable
from ._keys import PlanKeys, bound_keys, check_name
from ._outage import Outage, SharedState
from ._scripts import ACQUIRE, RATE_LIMITED, SLIP

__all__ = ["RedisRateLimiter"]

# Starts are spaced 1 + headroom apart: a fleet's arrivals jitter more than one process's (other
# machines, other network paths), so the default leaves 30 ms a second, twice RateLimiter's.
HEADROOM = 0.03
LINGER_MS = 60_000  # state outlives the reserved horizon by this much: a learned rate survives
_MODES = ("fallback", "raise")


def _positive(name: str, value: Any, *, high: float | None = None) -> float:
    if not finite_number(value) or value <= 0 or (high is not None and value > high):
        bound = f"in (0, {high:g}]" if high is not None else "> 0"
        raise InvalidParameterError(name, f"must be a finite number {bound}, got {value!r}")
    return float(value)


# The shared rate grows back by 1% a second after a 429. (The local limiter's hold-then-probe
# recovery is not in the Lua script yet: a fleet re-finds a lower limit about once a minute.)
RECOVERY = 1.01


class RedisRateLimiter(SharedState):
    """Paces request starts to `qps` per second across every process and machine that shares
    `name` on one Redis.

    `name` scopes the shared state (e.g. the plan); without it, the client binds the limiter to
    a fingerprint of its API key (see `bind`). If Redis does not answer within `timeout`
    seconds, `on_unavailable="fallback"` paces locally at `fallback_share` of `qps` until Redis
    answers again (probed every `probe` seconds); `"raise"` raises SharedStateUnavailable.
    Starts are spaced `1 + headroom` intervals apart, for the jitter between a start and its
    arrival at the server.
    `rate` is the shared pace last seen; `outages` counts outages begun.
    """

    __slots__ = (
        "_fallback",
        "_keys",
        "_outage",
        "_pending",
        "_redis",
        "_scripts",
        "_stopped_until",
        "_turn",
        "credits_stop_ttl",
        "fallback_share",
        "headroom",
        "name",
        "on_unavailable",
        "qps",
        "rate",
    )

    def __init__(
        self,
        redis: Redis,
        *,
        qps: float,
        name: str | None = None,
        on_unavailable: Literal["fallback", "raise"] = "fallback",
        fallback_share: float = 0.25,
        timeout: float = 1.0,
        probe: float = 1.0,
        headroom: float = HEADROOM,
        credits_stop_ttl: float = 300.0,
    ) -> None:
        if not isinstance(redis, Redis):
            raise InvalidParameterError("redis", "must be a redis.asyncio.Redis client")
        self.qps = _positive("qps", qps)
        self.rate = self.qps
        if not finite_number(headroom) or not 0 <= headroom <= 0.5:
            raise InvalidParameterError(
                "headroom", f"must be a finite number in [0, 0.5], got {headroom!r}"
            )
        self.headroom = float(headroom)
        self.name = check_name(name)
        if on_unavailable not in _MODES:
            raise InvalidParameterError(
                "on_unavailable", f"must be 'fallback' or 'raise', got {on_unavailable!r}"
            )
        self.on_unavailable = on_unavailable
        self.fallback_share = _positive("fallback_share", fallback_share, high=1.0)
        # How long a 402 stops the fleet: after a top-up it resumes by itself (or credits_restored)
        self.credits_stop_ttl = _positive("credits_stop_ttl", credits_stop_ttl)
        meanwhile = (
            f"pacing locally at {self.fallback_share:.0%} of the plan until it answers again"
            if on_unavailable == "fallback"
            else "raising SharedStateUnavailable until it answers again"
        )
        self._outage = Outage(
            f"rate limiter {self.name or '(bound to the API key)'}",
            meanwhile=meanwhile,
            timeout=_positive("timeout", timeout),
            probe=_positive("probe", probe),
        )
        self._redis = redis
        # register_script runs EVALSHA and falls back to EVAL (reloading) after a restart or a
        # SCRIPT FLUSH.
        self._scripts = tuple(redis.register_script(s) for s in (ACQUIRE, RATE_LIMITED, SLIP))
        self._keys = None if self.name is None else PlanKeys(self.name)
        self._fallback: local.RateLimiter | None = None
        self._stopped_until = -math.inf  # the 402 flag as last seen, for when Redis is away
        self._pending: set[asyncio.Task[None]] = set()
        self._turn = asyncio.Lock()  # FIFO within the process, one unstarted slot at a time

    def bind(self, key_fingerprint: str) -> None:
        """Scope a limiter made without `name` to an API key, by a fingerprint of it (16-64 hex
        digits of its sha256; never the key). The client calls this; a named limiter ignores it.
        """
        self._keys = bound_keys(
            self._keys, self.name, key_fingerprint, parameter="limiter", what="RedisRateLimiter"
        )

    # --- pacing ---------------------------------------------------------------------------

    async def acquire(self) -> float:
        """Wait for the next start slot; returns the start's time on the event loop's clock.

        Raises InsufficientCreditsError while the fleet's 402 flag is up (nothing is sent).
        """
        keys = self._plan_keys()
        loop = asyncio.get_running_loop()
        async with self._turn:
            if self._outage.should_try():
                try:
                    reply = await self._outage.call(
                        self._scripts[0](
                            keys=[keys.pace, keys.starts, keys.stop],
                            args=[self.qps, LINGER_MS, RECOVERY, 1 + self.headroom],
                        )
                    )
                except SharedStateUnavailable:
                    if self.on_unavailable == "raise":
                        raise
                else:
                    return await self._wait_for(reply, loop)
            self._check_stopped(loop.time())  # the flag as last seen, while Redis is away
            return await self._local().acquire()

    async def _wait_for(self, reply: list[Any], loop: asyncio.AbstractEventLoop) -> float:
        wait_us = int(reply[0])
        if wait_us < 0:  # the 402 flag
            ttl = max(0.0, int(reply[1]) / 1000)
            self._stopped_until = loop.time() + ttl
            message = reply[2].decode() if isinstance(reply[2], bytes) else str(reply[2])
            raise InsufficientCreditsError(message, status_code=402)
        self._stopped_until = -math.inf  # Redis's flag is the truth while it answers
        self.rate = int(reply[1]) / 1000
        slot = loop.time() + wait_us / 1e6
        now = loop.time()
        while now < slot:
            await asyncio.sleep(slot - now)
            now = loop.time()
        return now if now - slot > local.SLIP_THRESHOLD else slot

    def slip(self, late: float) -> asyncio.Future[None]:
        """A request went out `late` seconds after its slot: move the shared schedule back as
        much (as RateLimiter.slip). Runs in the background; await the result to wait for it."""
        if self._outage.down and self._fallback is not None:
            self._fallback.slip(late)
        if not late > local.SLIP_THRESHOLD or self._keys is None:
            return _done()
        args = [self.qps, LINGER_MS, RECOVERY, round(late * 1e6)]
        return self._background(self._scripts[2], lambda: args, lambda _: None)

    def rate_limited(self, hold: float, sent_at: float) -> asyncio.Future[None]:
        """The server answered 429 to the request started at `sent_at` (loop clock): slow every
        client of the plan to below its apparent limit and hold all their starts `hold` seconds.
        Runs in the background; await the result to wait for it."""
        loop = asyncio.get_running_loop()
        if self._fallback is not None:
            self._fallback.rate_limited(hold, sent_at)
        if self._keys is None:
            return _done()

        def args() -> list[float]:
            # Relative to now, measured when the step leaves: Redis places it on its own clock.
            ago = max(0.0, loop.time() - sent_at)
            return [
                self.qps, LINGER_MS, RECOVERY, round(ago * 1e6), round(max(0.0, hold) * 1e6),
                local.BACK_OFF, min(local.MIN_QPS, self.qps),
            ]  # fmt: skip

        def seen(rate: Any) -> None:
            self.rate = int(rate) / 1000

        return self._background(self._scripts[1], args, seen)

    # --- stop on 402 ----------------------------------------------------------------------

    async def credits_exhausted(self, message: str, *, ttl: float | None = None) -> None:
        """Raise the plan's 402 flag for `ttl` seconds (default `credits_stop_ttl`): every client
        sharing the name then raises InsufficientCreditsError before sending. `message` is the
        server's 402 message. The client calls this when the server answers 402."""
        ttl = self.credits_stop_ttl if ttl is None else _positive("ttl", ttl)
        loop = asyncio.get_running_loop()
        self._stopped_until = loop.time() + ttl  # holds this process even if Redis is down
        keys = self._plan_keys()
        await self._outage.call(self._redis.set(keys.stop, message[:500], px=math.ceil(ttl * 1e3)))

    async def credits_restored(self) -> None:
        """Lower the 402 flag (after a top-up) for every client of the plan."""
        self._stopped_until = -math.inf
        await self._outage.call(self._redis.delete(self._plan_keys().stop))

    # --- internals ------------------------------------------------------------------------

    def _plan_keys(self) -> PlanKeys:
        if self._keys is None:
            raise KeyAPIError(
                "RedisRateLimiter(name=None) is scoped by the client's API key: use it through "
                "KeyAPI(limiter=...), or give it a name"
            )
        return self._keys

    def _check_stopped(self, now: float) -> None:
        if now < self._stopped_until:
            raise InsufficientCreditsError(
                "credits exhausted (another client of this plan got 402)", status_code=402
            )

    def _local(self) -> local.RateLimiter:
        if self._fallback is None:
            self._fallback = local.RateLimiter(self.qps * self.fallback_share)
        return self._fallback

    def _background(
        self,
        script: AsyncScript,
        args: Callable[[], list[float]],
        seen: Callable[[Any], None],
    ) -> asyncio.Future[None]:
        keys = self._plan_keys()

        async def run() -> None:
            if not self._outage.should_try():
                return
            try:
                reply = await self._outage.call(
                    script(
                        keys=[keys.pace, keys.starts, keys.stop],
                        args=args(),
                    )
                )
            except SharedStateUnavailable:
                return  # counted and logged by the outage; the fallback got the update
            seen(reply)

        task = asyncio.get_running_loop().create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def flush(self) -> None:
        """Wait for the background updates (429s, slips) sent so far."""
        while self._pending:
            await asyncio.gather(*self._pending)

    def __repr__(self) -> str:
        scope = f"name={self.name!r}" if self.name else "name=None"
        rate = f", rate={self.rate:.2f}" if self.rate < self.qps else ""
        down = ", local fallback" if self._outage.down else ""
        return f"RedisRateLimiter(qps={self.qps:g}, {scope}{rate}{down})"


def _done() -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future
