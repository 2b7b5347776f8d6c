"""Client-side pacing: at most `qps` request starts in any sliding second.

aiolimiter's AsyncLimiter(qps, 1) is a leaky bucket of capacity qps: it lets a full bucket
through at once and then refills, so a sliding second can see about 2 x qps. A bucket of capacity
1 that drains one slot every 1/qps seconds spaces the starts evenly instead, and evenly spaced
starts never put more than qps into any second. The 1% headroom absorbs the few milliseconds
between a start here and its arrival at the server.
"""

from __future__ import annotations

import math

from aiolimiter import AsyncLimiter

from ._errors import InvalidParameterError

__all__ = ["RateLimiter"]

_HEADROOM = 1.01


class RateLimiter:
    """Paces request starts to `qps` per second. Share one between clients to share a plan's QPS.

    Bind it to one event loop: create it inside the loop that uses it.
    """

    __slots__ = ("_bucket", "qps")

    def __init__(self, qps: float) -> None:
        if isinstance(qps, bool) or not isinstance(qps, (int, float)) or not math.isfinite(qps):
            raise InvalidParameterError("qps", f"must be a number > 0, got {qps!r}")
        if qps <= 0:
            raise InvalidParameterError("qps", f"must be > 0 (None switches pacing off), got {qps}")
        self.qps = float(qps)
        self._bucket = AsyncLimiter(1, _HEADROOM / self.qps)

    async def acquire(self) -> None:
        """Wait for the next start slot."""
        await self._bucket.acquire()

    def __repr__(self) -> str:
        return f"RateLimiter(qps={self.qps:g})"
