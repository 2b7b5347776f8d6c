"""RedisCreditBudget: one credit budget shared by every client naming the same plan.

The same rules as LocalCreditBudget (see keyapi_async/_budget.py), fleet-wide: each reserve and
settle is one atomic Lua step in Redis (see _budget_scripts). A lease is a random id with a
deadline; one that outlives it counts as spent (its process may have sent it and died), and is
given back if its live process settles it as unsent later.

When Redis does not answer, the budget fails closed: `reserve` raises SharedStateUnavailable
and nothing is sent. `settle` never raises (the client settles in `finally`, after a paid page
was answered): a settlement Redis missed is kept and sent with the next step that gets through.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from .._errors import (
    CreditBudgetExceeded,
    InsufficientCreditsError,
    InvalidParameterError,
    KeyAPIError,
)
from .._logging import logger as log
from .._params import finite_number, whole
from ._budget_scripts import RESERVE, SETTLE, STATE
from ._errors import SharedStateUnavailable
from ._keys import PlanKeys, bound_keys, check_name
from ._outage import Outage, SharedState

__all__ = ["RedisCreditBudget"]

# How often a new call asks again while the credits left are kept for retries of calls in
# flight. Only at the very end of a budget, by one waiting call per process.
POLL = 0.05
_LEASED, _WAIT, _RECOVERING, _STOPPED = 1, 2, 3, -1


def _seconds(name: str, value: Any) -> float:
    if not finite_number(value) or value <= 0:
        raise InvalidParameterError(name, f"must be a finite number of seconds > 0, got {value!r}")
    return float(value)


class RedisCreditBudget(SharedState):
    """At most `max_credits` requests in total across every process and machine that shares
    `name` on one Redis; retries of calls in flight go first at the end (as LocalCreditBudget).

    `name` scopes the shared state (e.g. the plan); without it, the client binds the budget to a
    fingerprint of its API key (see `bind`). A lease not settled within `lease_ttl` seconds
    counts as spent (a process died holding it). The count expires `idle_ttl` seconds after the
    fleet last used it. After a 402, `credits_exhausted` stops every client sharing the name for
    `credits_stop_ttl` seconds (the flag RedisRateLimiter of the same name shares).
    If Redis does not answer within `timeout` seconds, `reserve` raises SharedStateUnavailable
    (nothing is sent) until Redis answers again, probed at most every `probe` seconds.
    Every client sharing a name should use the same `max_credits`: each holds the shared count
    to its own.
    """

    __slots__ = (
        "_epoch",
        "_keys",
        "_live",
        "_new_calls",
        "_outage",
        "_pending",
        "_redis",
        "_scripts",
        "_seen",
        "_warned_recovery",
        "credits_stop_ttl",
        "idle_ttl",
        "lease_ttl",
        "max_credits",
        "name",
    )

    def __init__(
        self,
        redis: Redis,
        *,
        max_credits: int,
        name: str | None = None,
        lease_ttl: float = 300.0,
        idle_ttl: float = 86_400.0,
        credits_stop_ttl: float = 300.0,
        timeout: float = 1.0,
        probe: float = 1.0,
    ) -> None:
        if not isinstance(redis, Redis):
            raise InvalidParameterError("redis", "must be a redis.asyncio.Redis client")
        self.max_credits = whole("max_credits", max_credits, 1)
        self.name = check_name(name)
        self.lease_ttl = _seconds("lease_ttl", lease_ttl)
        self.idle_ttl = _seconds("idle_ttl", idle_ttl)
        if self.idle_ttl < self.lease_ttl:
            raise InvalidParameterError(
                "idle_ttl", f"must be at least lease_ttl ({self.lease_ttl:g} s), got {idle_ttl!r}"
            )
        self.credits_stop_ttl = _seconds("credits_stop_ttl", credits_stop_ttl)
        self._outage = Outage(
            f"credit budget {self.name or '(bound to the API key)'}",
            meanwhile="refusing to send until it answers again (the budget fails closed)",
            timeout=_seconds("timeout", timeout),
            probe=_seconds("probe", probe),
            resumed="the shared budget is counting again",
        )
        self._redis = redis
        # register_script runs EVALSHA and falls back to EVAL (reloading) after a restart or a
        # SCRIPT FLUSH.
        self._scripts = tuple(redis.register_script(s) for s in (RESERVE, SETTLE, STATE))
        self._keys = None if self.name is None else PlanKeys(self.name)
        self._epoch = ""  # the life of the shared state last seen (see _budget_scripts)
        self._seen = 0  # the fleet's spent, as last seen: the floor if Redis loses it
        self._live: set[str] = set()  # leases reserved here and not settled yet
        self._warned_recovery = False
        self._pending: list[tuple[str, bool]] = []  # settlements Redis has not taken yet
        self._new_calls = asyncio.Lock()  # new calls of this process take turns, FIFO

    def bind(self, key_fingerprint: str) -> None:
        """Scope a budget made without `name` to an API key, by a fingerprint of it (16-64 hex
        digits of its sha256; never the key). The client calls this; a named budget ignores it.
        """
        self._keys = bound_keys(
            self._keys, self.name, key_fingerprint, parameter="budget", what="RedisCreditBudget"
        )

    # --- the protocol ---------------------------------------------------------------------

    async def reserve(self, *, retry: bool) -> str:
        """Lease one credit for a request about to be sent; returns the lease's id.

        Raises CreditBudgetExceeded when the fleet has spent the budget, InsufficientCreditsError
        while the fleet's 402 flag is up, SharedStateUnavailable when Redis does not answer.
        A new call (`retry=False`) waits while the credits left are kept for retries.
        """
        if retry:
            return await self._lease(retry=True)
        async with self._new_calls:
            return await self._lease(retry=False)

    async def settle(self, lease: str, *, sent: bool) -> None:
        """Spend the lease's credit (`sent`) or give it back. Never raises: if Redis does not
        take it now, it goes with the next step that gets through (or the lease expires and
        counts as spent)."""
        self._live.discard(lease)
        self._pending.append((lease, bool(sent)))
        await self._flush()

    # --- reading --------------------------------------------------------------------------

    async def spent(self) -> int:
        """Requests the fleet has sent (expired leases included). Raises SharedStateUnavailable
        when Redis does not answer."""
        return (await self._state())[0]

    async def remaining(self) -> int:
        """What is neither spent nor held by a request in flight, fleet-wide."""
        spent, held = await self._state()
        return max(0, self.max_credits - spent - held)

    async def in_flight(self) -> int:
        """Leases held now, fleet-wide."""
        return (await self._state())[1]

    # --- stop on 402 ----------------------------------------------------------------------

    async def credits_exhausted(self, message: str, *, ttl: float | None = None) -> None:
        """Raise the plan's 402 flag for `ttl` seconds (default `credits_stop_ttl`): every client
        sharing the name (budget or limiter) then raises InsufficientCreditsError before
        sending. The client calls this when the server answers 402."""
        ttl = self.credits_stop_ttl if ttl is None else _seconds("ttl", ttl)
        keys = self._plan_keys()
        await self._outage.call(self._redis.set(keys.stop, message[:500], px=math.ceil(ttl * 1e3)))

    async def credits_restored(self) -> None:
        """Lower the 402 flag (after a top-up) for every client of the plan."""
        await self._outage.call(self._redis.delete(self._plan_keys().stop))

    # --- internals ------------------------------------------------------------------------

    async def _lease(self, *, retry: bool) -> str:
        while True:
            lease = await self._try_reserve(retry=retry)
            if lease is not None:
                return lease
            # Only a new call waits: for credits other processes free, so ask Redis again.
            await asyncio.sleep(POLL)

    async def _try_reserve(self, *, retry: bool) -> str | None:
        await self._flush()
        self._check_reachable()
        lease = secrets.token_hex(8)
        try:
            reply = await self._call(self._scripts[0], [self.max_credits, int(retry), lease])
        except SharedStateUnavailable:
            # The step may have run with its answer lost: give back what it may have leased.
            self._pending.append((lease, False))
            raise
        except asyncio.CancelledError:
            self._pending.append((lease, False))
            raise
        verdict = int(reply[0])
        if verdict == _LEASED:
            self._live.add(lease)
            return lease
        if verdict == _WAIT:
            return None
        if verdict == _RECOVERING:
            if not self._warned_recovery:
                self._warned_recovery = True
                log.warning(
                    "credit budget %s: Redis lost its count; new calls wait %.0f s (lease_ttl) "
                    "while the fleet's requests in flight are counted again",
                    self.name or "(by key)",
                    int(reply[4]) / 1000,
                )
            return None
        if verdict == _STOPPED:
            message = reply[5].decode() if isinstance(reply[5], bytes) else str(reply[5])
            raise InsufficientCreditsError(message, status_code=402)
        raise CreditBudgetExceeded(self.max_credits)

    async def _flush(self) -> None:
        if not self._pending:
            return
        pairs, self._pending = self._pending, []
        try:
            await self._call(self._scripts[1], [x for lease, sent in pairs for x in (lease, sent)])
        except SharedStateUnavailable:
            self._pending[:0] = pairs  # logged by the outage; tried again with the next step
        except asyncio.CancelledError:
            self._pending[:0] = pairs
            raise

    async def _state(self) -> tuple[int, int]:
        await self._flush()
        reply = await self._call(self._scripts[2], [])
        return int(reply[2]), int(reply[3])

    async def _call(self, script: AsyncScript, tail: list[Any]) -> list[Any]:
        keys = self._plan_keys()
        self._check_reachable()
        live = sorted(self._live)
        args = [
            round(self.lease_ttl * 1e6), math.ceil(self.idle_ttl * 1e3), self._epoch, self._seen,
            len(live), *live, *(int(x) if isinstance(x, bool) else x for x in tail),
        ]  # fmt: skip
        reply: list[Any] = await self._outage.call(
            script(
                keys=[keys.budget, keys.leases, keys.expired, keys.stop, keys.settled],
                args=args,
            )
        )
        epoch = reply[1]
        self._epoch = epoch.decode() if isinstance(epoch, bytes) else str(epoch)
        self._seen = int(reply[2])
        return reply

    def _check_reachable(self) -> None:
        """During an outage, Redis is tried once per `probe`; meanwhile refuse at once."""
        if not self._outage.should_try():
            raise SharedStateUnavailable(
                f"Redis is unavailable for {self._outage.what}: nothing is sent until it answers"
            )

    def _plan_keys(self) -> PlanKeys:
        if self._keys is None:
            raise KeyAPIError(
                "RedisCreditBudget(name=None) is scoped by the client's API key: use it through "
                "KeyAPI(budget=...), or give it a name"
            )
        return self._keys

    def __repr__(self) -> str:
        scope = f"name={self.name!r}" if self.name else "name=None"
        down = ", Redis unavailable" if self._outage.down else ""
        return f"RedisCreditBudget(max_credits={self.max_credits}, {scope}{down})"
