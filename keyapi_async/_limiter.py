"""Client-side pacing: at most `qps` request starts in any sliding second.

Starts are spaced evenly on a fixed schedule (a GCRA): each caller takes the next slot, one
interval after the previous slot, or now if the schedule has fallen behind. Evenly spaced starts
never put more than qps into any second, and because slots follow the schedule rather than the
moment a sleeper happened to wake, the rate does not drift below the setting.

Why not aiolimiter: AsyncLimiter(qps, 1) is a bucket of capacity qps that lets ~2 x qps through a
sliding second; AsyncLimiter(1, 1/qps) spaces starts but re-times each one from a late wake-up,
measured here at 93.7% of the setting at qps 50 (benchmarks/results.md).

The 1.5% headroom absorbs the jitter between a start here and its arrival at the server
(connection set-up, a busy event loop): up to 15 ms before two starts one second apart could land
in the same server-side second.
"""

from __future__ import annotations

import asyncio
import math

from ._errors import InvalidParameterError

__all__ = ["RateLimiter"]

HEADROOM = 1.015


class RateLimiter:
    """Paces request starts to `qps` per second. Share one between clients to share a plan's QPS.

    A caller cancelled while waiting gives up its slot rather than handing it back, so the rate
    can only err low.
    """

    __slots__ = ("_interval", "_next_slot", "qps")

    def __init__(self, qps: float) -> None:
        if isinstance(qps, bool) or not isinstance(qps, (int, float)) or not math.isfinite(qps):
            raise InvalidParameterError("qps", f"must be a number > 0, got {qps!r}")
        if qps <= 0:
            raise InvalidParameterError("qps", f"must be > 0 (None switches pacing off), got {qps}")
        self.qps = float(qps)
        self._interval = HEADROOM / self.qps
        self._next_slot = -math.inf

    async def acquire(self) -> None:
        """Wait for the next start slot."""
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def __repr__(self) -> str:
        return f"RateLimiter(qps={self.qps:g})"
