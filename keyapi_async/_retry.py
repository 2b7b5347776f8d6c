"""When and how long to wait before trying a request again.

What is retried is decided by the error itself (`KeyAPIError.retryable`): 429, 5xx, connection
errors, timeouts and bodies that are not JSON. Waits grow exponentially from `base_delay` with
full jitter, capped at `max_delay`; a server's Retry-After replaces the computed wait (capped too).
Every retry is logged at DEBUG on the "keyapi_async" logger.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

import backoff

from ._errors import KeyAPIError

logger = logging.getLogger("keyapi_async")

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


def _is_final(exc: BaseException) -> bool:
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

    def _waits(self) -> Generator[float, BaseException | None, None]:
        exc = yield 0.0  # backoff primes the generator with send(None)
        attempt = 0
        while True:
            hint = getattr(exc, "retry_after", None)
            if _testing:
                wait = 0.0
            elif hint is not None:
                wait = min(hint, self.max_delay)
            else:
                wait = random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))
            attempt += 1
            exc = yield wait

    @contextlib.asynccontextmanager
    async def attempts(
        self, what: Callable[[], str], on_retry: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[AsyncIterator[Any]]:
        """Yields backoff's attempt iterator; closed on exit so no generator outlives the call.

        `on_retry` runs once a retry is decided, before its wait; what it raises ends the call
        (CreditBudgetExceeded when the budget has no credit for the retry).
        """

        async def log(details: Any) -> None:
            await on_retry()
            if logger.isEnabledFor(logging.DEBUG):
                exc = details["exception"]
                logger.debug(
                    "retry %d/%d of %s in %.2fs after %s: %s",
                    details["tries"],
                    self.max_retries,
                    what(),
                    details["wait"],
                    type(exc).__name__,
                    exc,
                )

        gen = backoff.aretry_context(
            KeyAPIError,
            self._waits,
            max_tries=self.max_retries + 1,
            jitter=None,  # _waits jitters the exponential part only, never Retry-After
            giveup=_is_final,
            on_backoff=log,
            logger=None,
        )
        async with contextlib.aclosing(gen) as attempts:
            yield attempts
