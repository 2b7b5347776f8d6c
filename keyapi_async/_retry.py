"""When and how long to wait before trying a request again.

What is retried is decided by the error itself (`KeyAPIError.retryable`): 429, 5xx, connection
errors, timeouts and bodies that are not JSON. Waits grow exponentially from `base_delay` with
full jitter, capped at `max_delay`; a server's Retry-After replaces the computed wait (capped too).
Every retry is logged at DEBUG on the "keyapi_async" logger.

python-backoff runs the loop, as its docs show: `on_exception` over one attempt, a runtime wait
generator that reads the exception it is sent, `giveup` for final errors, `on_backoff` for the log
and the caller's bookkeeping.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import backoff

from ._errors import KeyAPIError
from ._logging import logger

P = ParamSpec("P")
R = TypeVar("R")
MAX_EXPONENT = 62  # 2**62 * any base delay is past every cap; a larger power overflows a float

_testing = False


class _TestingMode:
    """What set_testing() returns: the switch is already made; leaving a `with` block restores
    the setting that was in force before it (stamina's shape)."""

    __slots__ = ("previous",)

    def __init__(self, previous: bool) -> None:
        self.previous = previous

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        global _testing
        _testing = self.previous

    def __bool__(self) -> bool:  # the previous setting, as this function returned before
        return self.previous


def set_testing(enabled: bool) -> _TestingMode:
    """Testing mode: retries and 429 holds happen at once, without sleeping. For test suites.

    `with set_testing(True): ...` switches it on for the block and restores the previous
    setting when the block is left by any route; a bare `set_testing(True)` switches it until
    switched again.
    """
    global _testing
    previous, _testing = _testing, bool(enabled)
    return _TestingMode(previous)


def is_testing() -> bool:
    return _testing


def _is_final(exc: Exception) -> bool:
    return not getattr(exc, "retryable", False)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int
    base_delay: float
    max_delay: float

    def hold_after(self, retry_after: float | None) -> float:
        """How long a 429 holds every request of the limiter: Retry-After, capped; without
        one (the docs promise none), one second, the span of the server's QPS window."""
        if _testing:
            return 0.0
        return min(1.0 if retry_after is None else retry_after, self.max_delay)

    def wait_before_retry(self, retry: int, error: BaseException | None) -> float:
        """Seconds before retry number `retry` (0-based): the server's Retry-After if it sent
        one, else full jitter over an exponential bound; both capped at max_delay."""
        if _testing:
            return 0.0
        hint = getattr(error, "retry_after", None)
        if hint is not None:
            return float(min(hint, self.max_delay))
        bound = min(self.max_delay, self.base_delay * 2 ** min(retry, MAX_EXPONENT))
        return random.uniform(0, bound)

    def _waits(self) -> Generator[float, BaseException | None, None]:
        """backoff's wait generator: it is sent the exception of each failed attempt."""
        error = yield 0.0  # backoff primes the generator with send(None)
        retry = 0
        while True:
            error = yield self.wait_before_retry(retry, error)
            retry += 1

    def retrying(
        self,
        attempt: Callable[P, Awaitable[R]],
        *,
        before_retry: Callable[[dict[str, Any]], Awaitable[None]],
        describe: Callable[[dict[str, Any]], str],
    ) -> Callable[P, Awaitable[R]]:
        """`attempt`, retried under this policy. Built once per client (or view), not per call.

        `before_retry(details)` runs once a retry is decided, before its wait; what it raises
        ends the call (CreditBudgetExceeded when the budget has no credit for the retry).
        `details` is backoff's: the attempt's `args`, `tries`, `wait`, `exception`.
        """
        if self.max_retries == 0:
            return attempt

        async def on_backoff(details: Any) -> None:
            await before_retry(details)
            if logger.isEnabledFor(logging.DEBUG):
                exc = details["exception"]
                logger.debug(
                    "retry %d/%d of %s in %.2fs after %s: %s",
                    details["tries"],
                    self.max_retries,
                    describe(details),
                    details["wait"],
                    type(exc).__name__,
                    exc,
                )

        retried: Callable[P, Awaitable[R]] = backoff.on_exception(
            self._waits,
            KeyAPIError,
            max_tries=self.max_retries + 1,
            jitter=None,  # the wait generator jitters the exponential part only, never Retry-After
            giveup=_is_final,
            on_backoff=on_backoff,
            logger=None,
        )(attempt)
        return retried
