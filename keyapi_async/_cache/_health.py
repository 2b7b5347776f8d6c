"""Storage failures of one cache, for the log. A failing store is a miss, never an error: the
caller buys the answer. A run of failures logs one WARNING (and a reminder every REMIND seconds
while it lasts), the first success after it one INFO."""

from __future__ import annotations

import logging
import threading
import time

__all__ = ["REMIND", "Health", "log"]

log = logging.getLogger("keyapi_async")
REMIND = 60.0


class Health:
    """`failures` counts every failed store operation; `down` is whether the last one failed.
    `hold(seconds)` makes `holding()` true for that long: a store that just timed out is not
    asked again (and waited for again) by every call queued behind it."""

    __slots__ = ("_hold_until", "_lock", "_next_warning", "_streak", "down", "failures", "what")

    def __init__(self, what: str) -> None:
        self.what = what
        self.down = False
        self.failures = 0
        self._streak = 0
        self._next_warning = 0.0
        self._hold_until = 0.0
        self._lock = threading.Lock()  # SQLiteCache reports from its worker thread and the loop

    def failed(self, action: str, exc: BaseException) -> None:
        with self._lock:
            self._failed(action, exc)

    def _failed(self, action: str, exc: BaseException) -> None:
        self.failures += 1
        self._streak += 1
        now = time.monotonic()
        if not self.down or now >= self._next_warning:
            detail = str(exc)[:200]
            log.warning(
                "%s: %s failed (%s%s); treated as a miss, the answer is bought",
                self.what, action, type(exc).__name__, f": {detail}" if detail else "",
            )  # fmt: skip
            self._next_warning = now + REMIND
        self.down = True

    def ok(self) -> None:
        if not self.down:  # the common case, without the lock
            return
        with self._lock:
            if not self.down:
                return
            self.down = False
            self._hold_until = 0.0
            log.info("%s: works again after %d failed operations", self.what, self._streak)
            self._streak = 0

    def hold(self, seconds: float) -> None:
        self._hold_until = time.monotonic() + seconds

    def holding(self) -> bool:
        return self._hold_until > time.monotonic()
