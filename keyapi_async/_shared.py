"""What a client and its with_options() views share, and one request's way out through it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ._budget import CallLease, CreditBudget
from ._coalesce import InFlight
from ._errors import KeyAPIError
from ._hooks import CallTrace
from ._limiter import Limiter
from ._transport import Transport
from ._usage import Usage


class Shared:
    """What a client and all its with_options() views share: one plan, one bill, one session."""

    __slots__ = (
        "budget",
        "caches",
        "closed",
        "fingerprint",
        "in_flight",
        "limiter",
        "limiter_timed",
        "rate_limited",
        "slip",
        "transport",
        "usage",
    )

    def __init__(
        self,
        transport: Transport,
        limiter: Limiter | None,
        budget: CreditBudget[Any] | None,
        fingerprint: str,
    ) -> None:
        self.transport = transport
        self.fingerprint = fingerprint  # of the key: caches and shared state are scoped by it
        self.limiter = limiter
        self.budget = budget
        self.usage = Usage()
        self.in_flight = InFlight()
        self.caches: list[Any] = []  # the client's and its views': closed with the client
        self.closed = False
        # Optional pacing hooks (RateLimiter's, or any limiter's with the same methods), looked up
        # once: with them acquire() returns the start time on the loop's clock.
        slip = getattr(limiter, "slip", None)
        rate_limited = getattr(limiter, "rate_limited", None)
        self.slip: Callable[[float], object] | None = slip if callable(slip) else None
        self.rate_limited: Callable[[float, float], object] | None = (
            rate_limited if callable(rate_limited) else None
        )
        self.limiter_timed = self.slip is not None or self.rate_limited is not None

    def ensure_open(self) -> None:
        if self.closed:
            raise KeyAPIError("this KeyAPI client is closed")


class OutgoingRequest:
    """One request on its way out: waits for the limiter, then is counted once really sent."""

    __slots__ = ("_lease", "_shared", "_trace", "start")

    def __init__(self, shared: Shared, lease: CallLease | None, trace: CallTrace | None) -> None:
        self._shared = shared
        self._lease = lease
        self._trace = trace
        self.start = 0.0  # on the loop's clock, when the limiter reports it

    async def wait_for_slot(self) -> None:
        shared = self._shared
        limiter = shared.limiter
        if limiter is not None:
            started = await limiter.acquire()
            if shared.limiter_timed:
                self.start = started  # type: ignore[assignment]  # a float, by the hooks' contract
        shared.ensure_open()

    def sent(self) -> None:
        shared = self._shared
        shared.usage.requests += 1
        if self._lease is not None:
            self._lease.sent = True
        if self._trace is not None:
            self._trace.sent += 1
        if shared.slip is not None:
            # A late wake-up or a cold connection (TCP, TLS) delays this request past its slot;
            # the later ones must not catch up with it in the server's window.
            shared.slip(asyncio.get_running_loop().time() - self.start)
