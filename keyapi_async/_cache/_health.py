"""Storage failures of one cache, for the log. A failing store is a miss, never an error: the
caller buys the answer. Failures log a WARNING at most every REMIND seconds (with the count of
those in between), and the first success after a warning one INFO, so a flapping store cannot
flood the log."""

from __future__ import annotations

import threading
import time

from .._logging import logger as log

__all__ = ["REMIND", "Health", "log"]

REMIND = 60.0


class Health:
    """`failures` counts every failed store operation; `down` is whether the last one failed."""

    __slots__ = ("_lock", "_next_warning", "_unlogged", "_warned", "down", "failures", "what")

    def __init__(self, what: str) -> None:
        self.what = what
        self.down = False
        self.failures = 0
        self._unlogged = 0  # failures since the last warning
        self._warned = False  # a warning not yet followed by "works again"
        self._next_warning = 0.0
        self._lock = threading.Lock()  # SQLiteCache reports from its worker thread and the loop

    def failed(self, action: str, exc: BaseException) -> None:
        with self._lock:
            self.failures += 1
            self.down = True
            now = time.monotonic()
            if now < self._next_warning:
                self._unlogged += 1
                return
            more = f" ({self._unlogged} more since the last warning)" if self._unlogged else ""
            detail = str(exc)[:200]
            log.warning(
                "%s: %s failed (%s%s); treated as a miss, the answer is bought%s",
                self.what, action, type(exc).__name__, f": {detail}" if detail else "", more,
            )  # fmt: skip
            self._next_warning = now + REMIND
            self._unlogged = 0
            self._warned = True

    def ok(self) -> None:
        if not self.down:  # the common case, without the lock
            return
        with self._lock:
            self.down = False
            if self._warned:
                self._warned = False
                log.info("%s: works again", self.what)
