"""7 and 8. Adaptive pacing: a client set to qps 10 against a plan whose real limit is lower.

The server enforces its limit over every arrival in a sliding second (429s count too) and
answers 429 with Retry-After: 1; it answers at once otherwise. One client, qps=10, sends
single-page requests one after another. Figures come from the server's log, except the
limiter's rate, read from the client after each request.

7: the limit is 5 for a long pull; the ideal is the server's limit (PAGES at 5/s).
8: the limit is 5, then raised to 10 right after a 429 (the worst moment: the limiter has just
backed off); how long until the client runs above 90% of the new limit.

The same two scenarios also run on a simulated clock (the server's rule on the limiter's own
schedule, no network) for today's limiter and for the previous one, which climbed back by 1%
a second up to qps after each 429.
"""

from __future__ import annotations

import asyncio
import math
import selectors
import time
from collections import deque
from collections.abc import Callable

from keyapi_async import KeyAPI, RateLimiter
from keyapi_async.testing import most_in_window

from ._common import Arrivals, Outcome
from ._server import FakeServer, LogEntry

SERVER_QPS = 5.0
RAISED_QPS = 10.0
CLIENT_QPS = 10.0
PAGES = 900
WARM_UP = 20.0  # 7b: seconds at the low limit before waiting for a 429 to raise it after
RAISED_MAX = 150.0  # 7b: seconds to watch after the raise
INFLUENCERS = 1000
MAX_RETRIES = 8
SKIP = 10.0  # 7: 429s are counted from this many seconds after the first request
PER_30S_TARGET = 1  # 7: most 429s in any 30 s after SKIP
SLOWDOWN_TARGET = 1.15  # 7: elapsed / ideal
RECOVER_TARGET = 120.0  # 7b: seconds until above 90% of the raised limit
QUICK = False  # `python -m benchmarks.run --quick`: shorter runs, for development only


def _is_429(entry: LogEntry) -> bool:
    return entry.status == 429 or entry.code == 429


def _most_in(times: list[float], window: float) -> int:
    return most_in_window(times, window)


class _Run:
    def __init__(self) -> None:
        self.started = 0.0  # time.monotonic(), the server log's clock on Linux
        self.elapsed = 0.0
        self.pages = 0
        self.trace: list[tuple[float, float]] = []  # (seconds since start, limiter rate)
        self.raised_at: float | None = None  # 7b: seconds since start
        self.log: list[LogEntry] = []


async def _drive(server: FakeServer, pages: int, raise_limit: bool) -> _Run:
    run = _Run()
    client = KeyAPI(
        api_key=server.api_key, base_url=server.url, qps=CLIENT_QPS, max_retries=MAX_RETRIES
    )
    limiter = client.limiter
    assert isinstance(limiter, RateLimiter)  # its `rate` is the pace in force
    warm_up = WARM_UP / 4 if QUICK else WARM_UP
    watch = RAISED_MAX / 3 if QUICK else RAISED_MAX
    async with client:
        run.started = time.monotonic()
        n = 0
        while True:
            now = time.monotonic() - run.started
            if not raise_limit and n >= pages:
                break
            if raise_limit and run.raised_at is not None and now - run.raised_at >= watch:
                break
            retries = client.usage.retries
            await client.influencers.list(region="US", page_size=1, start_page=1 + n % 300)
            n += 1
            now = time.monotonic() - run.started
            run.trace.append((now, limiter.rate))
            hit = client.usage.retries > retries
            if raise_limit and run.raised_at is None and hit and now >= warm_up:
                await server.set_qps_limit(RAISED_QPS)
                run.raised_at = time.monotonic() - run.started
        run.pages = n
        run.elapsed = time.monotonic() - run.started
    run.log = await server.log()
    return run


async def _run(pages: int, raise_limit: bool) -> _Run:
    with FakeServer(latency=0.0, qps_limit=SERVER_QPS, influencers=INFLUENCERS) as server:
        await asyncio.sleep(1.1)  # an empty QPS window and a clean log to start on
        await server.reset()
        return await _drive(server, pages, raise_limit)


# --- the same scenarios on a simulated clock ----------------------------------------------------


class _Jumps(selectors.DefaultSelector):
    """Never waits: a wait for the next timer moves the simulated clock to it instead."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout:
            self.now += timeout
        return super().select(0)


class _SimulatedLoop(asyncio.SelectorEventLoop):
    """An event loop on a simulated clock: `asyncio.sleep` takes no time, so the limiter's own
    public `acquire()` and `rate_limited()` run 600 simulated seconds in a fraction of one."""

    def __init__(self) -> None:
        self.clock = _Jumps()
        super().__init__(self.clock)

    def time(self) -> float:
        return self.clock.now


class _PreviousLimiter:
    """A model of the limiter before the hold-then-probe recovery: the same schedule and the same
    estimate on a 429, then +1% a second up to qps."""

    HEADROOM, BACK_OFF, MIN_QPS = 1.015, 0.95, 0.2  # as the SDK's then

    def __init__(self, qps: float) -> None:
        self.qps = self.rate = qps
        self._next_slot = self._changed = -math.inf
        self._recent: deque[float] = deque()

    async def acquire(self) -> float:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._recover(now)
        slot = max(now, self._next_slot)
        if slot > now:
            await asyncio.sleep(slot - now)
        self._next_slot = slot + self.HEADROOM / self.rate
        self._recent.append(slot)
        while self._recent[0] <= slot - 2.0:
            self._recent.popleft()
        return slot

    def rate_limited(self, hold: float, sent_at: float) -> None:
        now = asyncio.get_running_loop().time()
        started = sum(1 for start in self._recent if sent_at - 1.0 < start <= sent_at)
        self._recover(now)
        estimate = max(started - 1, self.rate / 2)
        floor = min(self.MIN_QPS, self.qps)
        self.rate = max(floor, min(self.rate, estimate * self.BACK_OFF))
        self._changed = now
        self._next_slot = max(self._next_slot, now + hold)

    def _recover(self, now: float) -> None:
        if self.rate < self.qps and now > self._changed:
            self.rate = min(self.qps, self.rate * 1.01 ** (now - self._changed))
            self._changed = now


async def _simulated_pull(
    limiter: RateLimiter | _PreviousLimiter, seconds: float, raise_at: float | None
) -> tuple[list[float], list[float], list[tuple[float, float]]]:
    answered: list[float] = []
    rejected: list[float] = []
    trace: list[tuple[float, float]] = []
    recent: deque[float] = deque()
    limit, now = SERVER_QPS, 0.0
    while now < seconds:
        if raise_at is not None and now >= raise_at:
            limit = RAISED_QPS
        now = await limiter.acquire()
        recent.append(now)
        while now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) > limit:
            rejected.append(now)
            limiter.rate_limited(hold=1.0, sent_at=now)
        else:
            answered.append(now)
        trace.append((now, limiter.rate))
    return answered, rejected, trace


def _simulate(
    make: Callable[[float], RateLimiter | _PreviousLimiter], seconds: float, raise_at: float | None
) -> tuple[list[float], list[float], list[tuple[float, float]]]:
    """One pull at CLIENT_QPS against the server's rule, on a fresh simulated clock."""
    loop = _SimulatedLoop()
    try:
        return loop.run_until_complete(_simulated_pull(make(CLIENT_QPS), seconds, raise_at))
    finally:
        loop.close()


def _sim_rows() -> list[str]:
    rows = []
    makers: tuple[tuple[str, Callable[[float], RateLimiter | _PreviousLimiter]], ...] = (
        ("today", RateLimiter),
        ("previous (+1%/s)", _PreviousLimiter),
    )
    for name, make in makers:
        answered, rejected, _ = _simulate(make, 600.0, None)
        late = [t for t in rejected if t >= SKIP]
        done = [t for t in answered if t >= SKIP]
        slowdown = (done[-1] - done[0]) / (len(done) / SERVER_QPS)
        # 8 at its worst moment: raised right after a 429 at the low limit.
        first = _simulate(make, 60.0, None)[1]
        raise_at = max(first) + 1e-6 if first else 60.0
        _, _, trace = _simulate(make, raise_at + 200.0, raise_at)
        up = next((t for t, r in trace if t >= raise_at and r >= 0.9 * RAISED_QPS), None)
        recover = f"{up - raise_at:.1f}" if up is not None else "> 200"
        rows.append(
            f"| {name} | {len(late)} | {_most_in(late, 30.0)} | {slowdown:.3f} | {recover} |"
        )
    return rows


# --- outcomes --------------------------------------------------------------------------------


def _converge(run: _Run, pages: int) -> Outcome:
    arrivals = Arrivals.of(run.log, SERVER_QPS)
    rejected = [e.arrived - run.started for e in run.log if _is_429(e)]
    late = [t for t in rejected if t >= SKIP]
    per_30 = _most_in(late, 30.0)
    ideal = pages / SERVER_QPS
    slowdown = run.elapsed / ideal
    mean_30 = len(late) / max(run.elapsed - SKIP, 1e-9) * 30
    ok = run.pages == pages and per_30 <= PER_30S_TARGET and slowdown <= SLOWDOWN_TARGET
    lowest = min((r for t, r in run.trace if t >= SKIP), default=0.0)
    final = run.trace[-1][1] if run.trace else 0.0
    details = [
        f"Server limit {SERVER_QPS:g} arrivals per sliding second (429s count too; Retry-After: "
        f"1), zero latency; one client with qps={CLIENT_QPS:g}, max_retries={MAX_RETRIES}: "
        f"{pages} single-page requests, sequential. Ideal: {pages} pages at {SERVER_QPS:g}/s "
        f"= {ideal:g} s.",
        "",
        'What the limiter does on a 429, and how it recovers: docs/rate-limiting.md, "When '
        'the server still says 429".',
        "",
        f"| pull | time s | time / ideal | requests | 429s | 429s after {SKIP:g} s | most in "
        "30 s | mean per 30 s | limiter rate: lowest / final | max answered in 1 s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {run.pages} pages | {run.elapsed:.1f} | {slowdown:.3f} | {arrivals.count} "
        f"| {len(rejected)} | {len(late)} | {per_30} | {mean_30:.2f} | {lowest:.2f} / "
        f"{final:.2f} | {Arrivals.of([e for e in run.log if not _is_429(e)]).max_in_window} |",
        "",
        "429s at (s after the first request): "
        + (", ".join(f"{t:.1f}" for t in rejected) or "none")
        + ".",
        "",
        "Simulated clock, 600 s at limit 5 (7) and the raise of 7b, today's limiter against "
        "the previous one:",
        "",
        f"| limiter | 429s after {SKIP:g} s | most in 30 s | time / ideal after {SKIP:g} s "
        "| 7b: s to 90% of the raised limit |",
        "| --- | ---: | ---: | ---: | ---: |",
        *_sim_rows(),
    ]
    return Outcome(
        key="7",
        title=f"Adaptive pacing (qps {CLIENT_QPS:g} vs server limit {SERVER_QPS:g}, {pages} pages)",
        measured=(
            f"{run.pages} pages in {run.elapsed:.1f} s = {slowdown:.3f}x ideal; "
            f"{len(late)} 429s after {SKIP:g} s, at most {per_30} in 30 s"
        ),
        target=f"<= {PER_30S_TARGET} 429 per 30 s after {SKIP:g} s; <= {SLOWDOWN_TARGET:g}x ideal",
        status=Outcome.verdict(ok),
        details=details,
        chart={
            "server_qps": SERVER_QPS,
            "client_qps": CLIENT_QPS,
            "answered": [e.arrived - run.started for e in run.log if not _is_429(e)],
            "rejected": rejected,
            "trace": run.trace,
        },
    )


def _raised(run: _Run) -> Outcome:
    raised = run.raised_at
    answered = [e.arrived - run.started for e in run.log if not _is_429(e)]
    up = None
    if raised is not None:
        up = next((t for t, r in run.trace if t >= raised and r >= 0.9 * RAISED_QPS), None)
    # On the server: the first 5 s after the raise that hold more than 90% of the new limit.
    served = None
    if raised is not None:
        for t in (x for x in answered if x >= raised):
            if sum(1 for x in answered if t <= x < t + 5.0) > 0.9 * RAISED_QPS * 5:
                served = t
                break
    rate_s = f"{up - raised:.1f}" if up is not None and raised is not None else "never"
    served_s = f"{served - raised:.1f}" if served is not None and raised is not None else "never"
    ok = up is not None and raised is not None and up - raised <= RECOVER_TARGET
    after = [e for e in run.log if e.arrived - run.started >= (raised or 0.0)]
    details = [
        f"Server limit {SERVER_QPS:g}, raised to {RAISED_QPS:g} (admin endpoint) right after "
        f"the first 429 from {WARM_UP:g} s on; client qps={CLIENT_QPS:g}, sequential "
        "single-page requests, watched for "
        f"{RAISED_MAX:g} s after the raise.",
        "",
        "| raised at s | limiter rate >= 90% after s | server: 5 s above 90% from s "
        "| 429s after the raise |",
        "| ---: | ---: | ---: | ---: |",
        f"| {raised or 0.0:.1f} | {rate_s} | {served_s} | {sum(_is_429(e) for e in after)} |",
    ]
    return Outcome(
        key="7b",
        title=f"Adaptive pacing: limit {SERVER_QPS:g} -> {RAISED_QPS:g} (qps {CLIENT_QPS:g})",
        measured=f"above 90% of the new limit {rate_s} s after the raise (server {served_s} s)",
        target=f"<= {RECOVER_TARGET:g} s",
        status=Outcome.verdict(ok),
        details=details,
    )


def run() -> list[Outcome]:
    pages = PAGES // 6 if QUICK else PAGES
    converge = asyncio.run(_run(pages, raise_limit=False))
    raised = asyncio.run(_run(0, raise_limit=True))
    return [_converge(converge, pages), _raised(raised)]
