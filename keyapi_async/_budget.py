"""The credit budget: how many requests a client (or several) may send, retries first.

A request holds a lease from `reserve()` until `settle()`: from before it waits for the limiter
until its answer, or until the next request of the same call (a retry, a redirect hop) has its
own lease. The client reserves that next lease before settling the last one, so a call counts as
in flight at the budget from its first reservation to its last settle.

The order at the end of a budget: a retry (or hop) of a call in flight needs one credit left; a
new call needs one for itself plus one for a retry of every call in flight, and waits (first come,
first served) while the credits left are kept for those retries. A transient failure near the end
of a budget is therefore retried, and the pages answered after it are not stranded.

Nothing in the client assumes the budget is in-process: a shared one (Redis, say) can reserve and
settle atomically and pass its own lease tokens. A lease that is never settled (a crashed
process, or a task cancelled during `settle`) should expire and count as spent.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Protocol, TypeVar, runtime_checkable

from ._errors import CreditBudgetExceeded, InvalidParameterError
from ._params import shown, whole

__all__ = ["CreditBudget", "LocalCreditBudget"]

LeaseT = TypeVar("LeaseT")


@runtime_checkable
class CreditBudget(Protocol[LeaseT]):
    """What `KeyAPI(budget=...)` takes. Leases are opaque to the client."""

    async def reserve(self, *, retry: bool) -> LeaseT:
        """Hold one credit for a request about to be sent, or raise CreditBudgetExceeded.

        `retry` is true for a further request of a call already in flight (a retry, a redirect
        hop): it goes before any new call. A new call may wait here for its turn.
        """
        ...

    async def settle(self, lease: LeaseT, *, sent: bool) -> None:
        """Release a lease: `sent` spends its credit; otherwise the credit is given back."""
        ...


class LocalCreditBudget:
    """A budget of `max_credits` requests in this process; share one between clients to share it.

    `spent` counts requests sent; `remaining` is what is neither spent nor held by a request in
    flight. Create it in the event loop that uses it.
    """

    __slots__ = ("_held", "_waiting", "max_credits", "spent")

    def __init__(self, max_credits: int) -> None:
        self.max_credits = whole("max_credits", max_credits, 1)
        self.spent = 0
        self._held = 0  # leases out: one per call in flight (two, briefly, at a retry)
        self._waiting: deque[asyncio.Future[None]] = deque()  # new calls, in arrival order

    @property
    def remaining(self) -> int:
        return self.max_credits - self.spent - self._held

    async def reserve(self, *, retry: bool) -> None:
        left = self.max_credits - self.spent - self._held
        if left < 1:
            raise CreditBudgetExceeded(self.max_credits)
        if retry or (not self._waiting and left >= 1 + self._held):
            self._held += 1
            return
        # Credits are left, but kept for retries of the calls in flight: wait for one to finish.
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.cancelled():
                self._waiting.remove(turn)
            elif turn.exception() is None:
                self._release(sent=False)  # let in just as the caller gave up
            raise

    async def settle(self, lease: None, *, sent: bool) -> None:
        self._release(sent=sent)

    def _release(self, *, sent: bool) -> None:
        self._held -= 1
        if sent:
            self.spent += 1
        if self._waiting:
            self._admit()

    def _admit(self) -> None:
        """Let waiting calls in, first come first served, as far as the credits allow."""
        waiting = self._waiting
        while waiting:
            turn = waiting[0]
            if turn.done():  # cancelled while waiting
                waiting.popleft()
                continue
            left = self.max_credits - self.spent - self._held
            if left < 1:
                turn.set_exception(CreditBudgetExceeded(self.max_credits))
            elif left >= 1 + self._held:
                self._held += 1
                turn.set_result(None)
            else:
                return
            waiting.popleft()

    def __repr__(self) -> str:
        return (
            f"LocalCreditBudget(max_credits={self.max_credits}, spent={self.spent}, "
            f"remaining={self.remaining})"
        )


def budget_from(budget: Any, max_credits: Any) -> CreditBudget[Any] | None:
    if budget is None:
        return None if max_credits is None else LocalCreditBudget(max_credits)
    if max_credits is not None:
        raise InvalidParameterError("budget", "pass budget or max_credits, not both")
    if isinstance(budget, type):
        raise InvalidParameterError(
            "budget", f"takes a budget object, not the class: {budget.__name__}(...)"
        )
    if not all(callable(getattr(budget, name, None)) for name in ("reserve", "settle")):
        raise InvalidParameterError(
            "budget", f"must have async reserve() and settle() methods, got {shown(budget)}"
        )
    return budget  # type: ignore[no-any-return]


class CallLease:
    """One call's lease at the budget: the one held now, and whether its request went out."""

    __slots__ = ("budget", "lease", "sent")

    def __init__(self, budget: CreditBudget[Any], lease: object) -> None:
        self.budget = budget
        self.lease = lease
        self.sent = False

    async def renew(self) -> None:
        """A further request of this call (a retry, a redirect hop) needs a credit."""
        if not self.sent:
            return  # the lease held was not spent: it covers the next request
        lease = await self.budget.reserve(retry=True)  # before settling: still in flight
        spent, self.lease, self.sent = self.lease, lease, False
        await self.budget.settle(spent, sent=True)

    async def release(self) -> None:
        await self.budget.settle(self.lease, sent=self.sent)
