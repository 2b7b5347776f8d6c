"""Client-side pacing: at most `qps` request starts in any sliding second, adapting down on 429.

Starts are spaced evenly on a fixed schedule (a GCRA): callers take turns, first come first
served, and each starts one interval after the previous start's slot, or now if the schedule has
fallen behind. Evenly spaced starts never put more than qps into any second, and because slots
follow the schedule rather than the moment a sleeper happened to wake, the rate does not drift
below the setting. A start later than its slot by more than wake-up noise (a stalled event loop,
a cold connection: see `slip`) moves the schedule to one interval after that actual start, if
that is later: the schedule follows the latest actual start, so late starts together do not add
up their lateness. Since a slot is only decided when its caller's turn comes, no later caller can
bunch up behind the late one.

Why not aiolimiter: AsyncLimiter(qps, 1) is a bucket of capacity qps that lets ~2 x qps through a
sliding second; AsyncLimiter(1, 1/qps) spaces starts but re-times each one from a late wake-up,
falling several percent short at qps 50 (benchmark 5 in benchmarks/results.md).

The 1.5% headroom absorbs the jitter between a start here and its arrival at the server: up to
15 ms before two starts one second apart could land in the same server-side second.

Adaptive pacing: a plan's real limit can be lower than the configured qps. On a 429 the limiter
estimates the server's limit from its own starts in the second before the rejected one (the
server counted one too many of them), drops to 95% of that, and holds every start until the
server's Retry-After has passed, so the window drains instead of collecting more 429s. The
estimate is kept as a ceiling: without a 429 the rate climbs back fast to just below it, stays
there for PROBE_AFTER seconds, then probes above it slowly, up to qps. Against a fixed limit that
is one 429 per probe; a raised limit is found by the probe.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from collections import deque
from typing import Protocol

from ._errors import InvalidParameterError
from ._params import finite_number, shown

__all__ = ["Limiter", "RateLimiter"]


class Limiter(Protocol):
    """Anything that paces: `await limiter.acquire()` returns when a request may start.

    Optional hooks the client uses when present (RateLimiter and RedisRateLimiter have them):
    with `slip(seconds)` or `rate_limited(hold, start)`, `acquire()` must return the start time on
    the loop's clock; `bind(fingerprint)` scopes shared state by a hash of the key;
    `await credits_exhausted(message)` hears of a 402.
    """

    async def acquire(self) -> object: ...


HEADROOM = 1.015
BACK_OFF = 0.95  # of the estimated server limit: the pace held after a 429
CATCH_UP = 1.10  # rate growth per second while below that pace (after a halving)
PROBE_AFTER = 40.0  # seconds without a 429 before probing above the estimate
PROBE = 1.03  # rate growth per second while probing, up to qps
MIN_QPS = 0.2
# Seconds. A start later than this moves the schedule back; below it, lateness is wake-up noise
# the schedule absorbs (the rate stays exact) and the headroom covers (15 ms, see above).
SLIP_THRESHOLD = 0.005


class RateLimiter:
    """Paces request starts to `qps` per second. Share one between clients to share a plan's QPS.

    `rate` is the pace in force: `qps`, or less after the server answered 429. Create it in the
    event loop that uses it.
    """

    __slots__ = (
        "_ceiling",
        "_changed",
        "_limited",
        "_next_slot",
        "_recent",
        "_turn",
        "qps",
        "rate",
    )

    def __init__(self, qps: float) -> None:
        if not finite_number(qps) or qps <= 0:
            raise InvalidParameterError(
                "qps", f"must be a finite number > 0 (None switches pacing off), got {shown(qps)}"
            )
        self.qps = float(qps)
        self.rate = self.qps
        self._next_slot = -math.inf
        self._changed = -math.inf  # when `rate` was last brought up to date
        self._limited = -math.inf  # when the last 429 came
        self._ceiling = math.inf  # the server's limit as estimated at the last 429
        self._recent: deque[float] = deque()  # actual starts of the last 2 s, in order
        self._turn = asyncio.Lock()  # FIFO: a slot is decided only when its caller's turn comes

    async def acquire(self) -> float:
        """Wait for the next start slot; returns the start's time on the event loop's clock."""
        loop = asyncio.get_running_loop()
        async with self._turn:
            now = loop.time()
            slot = self._slot_at(now)
            while now < slot:
                await asyncio.sleep(slot - now)
                now = loop.time()
                slot = max(slot, self._earliest())  # moved back meanwhile by a slip or a 429
            return self._started(slot, now)

    def slip(self, late: float) -> None:
        """A request went out `late` seconds after its slot (a late wake-up, a cold connection):
        the schedule follows its actual start.

        Slots already handed out keep their times; later ones keep their distance from the late
        request, so the server never sees them bunch up behind it.
        """
        self._on_slip(asyncio.get_running_loop().time(), late)

    def rate_limited(self, hold: float, sent_at: float) -> None:
        """The server answered 429 to the request started at `sent_at`: slow to below its
        apparent limit, and hold every start for `hold` seconds (its Retry-After) so that its
        window drains."""
        self._on_rate_limited(asyncio.get_running_loop().time(), hold, sent_at)

    def _earliest(self) -> float:
        """The earliest next start: one interval after the latest, and never the (n+1)-th start
        within n intervals (n = qps rounded down), which a late start landing among on-time
        ones could otherwise make."""
        earliest = self._next_slot
        n = int(self.qps)
        if n >= 1 and len(self._recent) >= n:
            earliest = max(earliest, self._recent[-n] + n * HEADROOM / self.qps)
        return earliest

    def _slot_at(self, now: float) -> float:
        """The next slot for a caller whose turn it is at `now`."""
        self._recover(now)
        return max(now, self._earliest())

    def _recover(self, now: float) -> None:
        """Without a 429, climb fast back to just below the estimated limit, hold there, then
        probe above it slowly: against a fixed limit, one 429 per probe, not a saw."""
        dt = now - self._changed
        if self.rate >= self.qps or dt <= 0:
            return
        self._changed = now
        target = min(self.qps, self._ceiling * BACK_OFF)
        if self.rate < target:
            self.rate = min(target, self.rate * CATCH_UP**dt)
            return
        probing = now - max(self._limited + PROBE_AFTER, now - dt)
        if probing > 0:
            self.rate = min(self.qps, self.rate * PROBE**probing)

    def _started(self, slot: float, now: float) -> float:
        """Book a start at `now` for `slot`: the schedule follows the slot unless `now` is late."""
        start = now if now - slot > SLIP_THRESHOLD else slot
        self._next_slot = start + HEADROOM / self.rate
        self._record(start)
        return start

    def _record(self, start: float) -> None:
        recent = self._recent
        if not recent or recent[-1] <= start:
            recent.append(start)
        else:
            recent.insert(bisect.bisect_right(recent, start), start)
        while recent and recent[0] <= recent[-1] - 2.0:  # a 429 may come a second late
            recent.popleft()

    def _take_slot(self, now: float) -> float:
        """Book the next slot at `now` without waiting (for tests of the schedule)."""
        slot = self._slot_at(now)
        return self._started(slot, slot)

    def _on_slip(self, now: float, late: float) -> None:
        """The request booked at `now - late` really started at `now`."""
        if late <= SLIP_THRESHOLD:
            return
        booked = now - late
        recent = self._recent
        if recent:  # replace its booking by its actual start
            i = min(range(len(recent)), key=lambda j: abs(recent[j] - booked))
            if abs(recent[i] - booked) < 1e-3:  # `late` was read a moment before `now`
                del recent[i]
        self._record(now)
        # Follow the latest actual start; late starts together do not add up their lateness.
        self._next_slot = max(self._next_slot, now + HEADROOM / self.rate)

    def _on_rate_limited(self, now: float, hold: float, sent_at: float) -> None:
        # The server counted the starts of the second before the rejected one, itself included.
        started = sum(1 for start in self._recent if sent_at - 1.0 < start <= sent_at)
        # The server let through one fewer than it counted. Few starts say little about its limit
        # (another client may share the plan), so one 429 never more than halves the rate.
        self._recover(now)
        estimate = max(started - 1, self.rate / 2)
        self._ceiling = estimate
        floor = min(MIN_QPS, self.qps)  # a floor must never speed up a slow setting
        self.rate = max(floor, min(self.rate, estimate * BACK_OFF))
        self._changed = self._limited = now
        self._next_slot = max(self._next_slot, now + hold)

    def __repr__(self) -> str:
        if self.rate < self.qps:
            return f"RateLimiter(qps={self.qps:g}, rate={self.rate:.2f})"
        return f"RateLimiter(qps={self.qps:g})"
