"""Client-side pacing: at most `qps` request starts in any sliding second, adapting down on 429.

Starts are spaced evenly on a fixed schedule (a GCRA): each caller takes the next slot, one
interval after the previous slot, or now if the schedule has fallen behind. Evenly spaced starts
never put more than qps into any second, and because slots follow the schedule rather than the
moment a sleeper happened to wake, the rate does not drift below the setting.

Why not aiolimiter: AsyncLimiter(qps, 1) is a bucket of capacity qps that lets ~2 x qps through a
sliding second; AsyncLimiter(1, 1/qps) spaces starts but re-times each one from a late wake-up,
measured here at 93.7% of the setting at qps 50 (benchmarks/results.md).

The 1.5% headroom absorbs the jitter between a start here and its arrival at the server: up to
15 ms before two starts one second apart could land in the same server-side second.

Adaptive pacing: a plan's real limit can be lower than the configured qps. On a 429 the limiter
estimates the server's limit from its own starts in the last second (the server counted at least
one too many of them), drops to 95% of that, and holds every start until the server's Retry-After
has passed, so the window drains instead of collecting more 429s. While no 429 comes, the rate
climbs back by 1% a second, up to qps.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

from ._errors import InvalidParameterError

__all__ = ["RateLimiter"]

HEADROOM = 1.015
BACK_OFF = 0.95  # of the estimated server limit
RECOVERY = 1.01  # rate growth per second without a 429
MIN_QPS = 0.2
SLIP_THRESHOLD = 0.002  # seconds; below this a late start is event-loop noise


class RateLimiter:
    """Paces request starts to `qps` per second. Share one between clients to share a plan's QPS.

    `rate` is the pace in force: `qps`, or less after the server answered 429. A caller
    cancelled while waiting gives up its slot rather than handing it back, so the rate can only
    err low.
    """

    __slots__ = ("_changed", "_next_slot", "_recent", "qps", "rate")

    def __init__(self, qps: float) -> None:
        if isinstance(qps, bool) or not isinstance(qps, (int, float)) or not math.isfinite(qps):
            raise InvalidParameterError("qps", f"must be a number > 0, got {qps!r}")
        if qps <= 0:
            raise InvalidParameterError("qps", f"must be > 0 (None switches pacing off), got {qps}")
        self.qps = float(qps)
        self.rate = self.qps
        self._next_slot = -math.inf
        self._changed = -math.inf  # when `rate` last moved
        self._recent: deque[float] = deque()  # slots of the last second, to estimate on 429

    async def acquire(self) -> float:
        """Wait for the next start slot; returns the slot's time on the event loop's clock."""
        now = asyncio.get_running_loop().time()
        slot = self._take_slot(now)
        if slot > now:
            await asyncio.sleep(slot - now)
        return slot

    def slip(self, late: float) -> None:
        """A request went out `late` seconds after its slot (a late wake-up, a cold connection):
        move the schedule back as much.

        Slots already handed out keep their times; later ones keep their distance from the late
        request, so the server never sees them bunch up behind it.
        """
        if late > SLIP_THRESHOLD:
            self._next_slot += late

    def rate_limited(self, hold: float) -> None:
        """The server answered 429: slow to below its apparent limit, and hold every start for
        `hold` seconds (its Retry-After) so that its window drains."""
        self._on_rate_limited(asyncio.get_running_loop().time(), hold)

    def _take_slot(self, now: float) -> float:
        if self.rate < self.qps:
            self.rate = min(self.qps, self.rate * RECOVERY ** (now - self._changed))
            self._changed = now
        slot = max(now, self._next_slot)
        self._next_slot = slot + HEADROOM / self.rate
        self._recent.append(slot)
        while self._recent and self._recent[0] <= slot - 1.0:
            self._recent.popleft()
        return slot

    def _on_rate_limited(self, now: float, hold: float) -> None:
        started = sum(1 for slot in self._recent if now - 1.0 < slot <= now)
        # The server let through one fewer than it counted. Few starts say little about its limit
        # (another client may share the plan), so one 429 never more than halves the rate.
        estimate = max(started - 1, self.rate / 2)
        self.rate = max(MIN_QPS, min(self.rate, estimate * BACK_OFF))
        self._changed = now
        self._next_slot = max(self._next_slot, now + hold)

    def __repr__(self) -> str:
        if self.rate < self.qps:
            return f"RateLimiter(qps={self.qps:g}, rate={self.rate:.2f})"
        return f"RateLimiter(qps={self.qps:g})"
