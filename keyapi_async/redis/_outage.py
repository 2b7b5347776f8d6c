"""Calls to Redis that never hang and never leak a redis-py exception, and the outage they track.

An outage starts at the first failed call (logged at WARNING, once) and ends at the first call
that succeeds again (logged at INFO). While it lasts, Redis is probed at most every `probe`
seconds, so a dead server costs one timeout per probe, not one per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from redis.exceptions import RedisError

from .._logging import logger as log
from ._errors import SharedStateUnavailable

__all__ = ["Outage", "SharedState"]

T = TypeVar("T")


class Outage:
    """Outage bookkeeping for one limiter or budget. `outages` counts outages begun; `down` is
    whether one is going on."""

    __slots__ = (
        "_next_probe", "down", "meanwhile", "outages", "probe", "resumed", "timeout", "what",
    )  # fmt: skip

    def __init__(
        self,
        what: str,
        *,
        meanwhile: str,
        timeout: float,
        probe: float,
        resumed: str = "shared pacing resumed",
    ) -> None:
        self.what = what
        self.meanwhile = meanwhile  # what the limiter does during an outage, for the log
        self.resumed = resumed  # and once it is over
        self.timeout = timeout
        self.probe = probe
        self.down = False
        self.outages = 0
        self._next_probe = 0.0

    def should_try(self) -> bool:
        """Whether to call Redis now: always while it is up, once per `probe` while it is down."""
        return not self.down or asyncio.get_running_loop().time() >= self._next_probe

    async def call(self, step: Awaitable[T]) -> T:
        """Await one Redis step within `timeout`; any failure becomes SharedStateUnavailable."""
        try:
            result = await asyncio.wait_for(step, self.timeout)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self._failed(exc)
            raise SharedStateUnavailable(
                f"Redis did not answer for {self.what}: {type(exc).__name__}"
            ) from exc
        if self.down:
            self.down = False
            log.info("Redis answers again for %s: %s", self.what, self.resumed)
        return result

    def _failed(self, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            self.outages += 1
            log.warning(
                "Redis unavailable for %s (%s): %s", self.what, type(exc).__name__, self.meanwhile
            )
        self._next_probe = asyncio.get_running_loop().time() + self.probe


class SharedState:
    """What a Redis-backed limiter or budget tells of its link to Redis (through `_outage`)."""

    __slots__ = ()
    _outage: Outage

    @property
    def outages(self) -> int:
        """Outages begun (Redis not answering)."""
        return self._outage.outages

    @property
    def shared(self) -> bool:
        """False while Redis is unavailable: the limiter paces locally (or raises), the budget
        refuses."""
        return not self._outage.down
