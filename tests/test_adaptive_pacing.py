"""The limiter's schedule on an explicit clock: slips, 429s and recovery; the fake's QPS window.

Nothing here sleeps to measure: the limiter is driven through its private clock-taking methods
and a simulated server counts arrivals the way FakeKeyAPI does. Wall-clock figures for the same
scenarios are in benchmarks/bench_adaptive.py.
"""

from __future__ import annotations

from collections import deque

import aiohttp
import pytest

from keyapi_async import KeyAPI, RateLimiter, RateLimitError
from keyapi_async._limiter import HEADROOM, PROBE_AFTER
from keyapi_async.testing import FakeKeyAPI, most_in_window

# --- a floor never raises the pace --------------------------------------------------------


@pytest.mark.parametrize("qps", [0.1, 0.05])
def test_a_429_never_raises_a_slow_setting(qps: float) -> None:
    limiter = RateLimiter(qps)
    start = limiter._take_slot(100.0)
    limiter._on_rate_limited(start, hold=1.0, sent_at=start)
    assert limiter.rate == qps  # a floor of 0.2/s would double the pace of qps=0.1
    after = limiter._take_slot(start + 1.0)
    assert after - start >= 1 / qps


# --- slips ---------------------------------------------------------------------------------


def drive_with_late_sends(limiter: RateLimiter, n: int, late: float) -> tuple[list[float], float]:
    """n callers take turns from t=100; each request goes out `late` after its slot.

    A slip is seen by a waiting caller before its slot is final, as in `acquire`. Returns the
    actual starts and the next free slot once every request went out.
    """
    sends: list[float] = []  # pending send times, each a slip of `late`
    actual: list[float] = []
    now = 100.0
    for _ in range(n):
        while True:
            slot = limiter._slot_at(now)
            due = sorted(s for s in sends if s <= slot)
            if not due:
                break
            for s in due:
                sends.remove(s)
                limiter._on_slip(s, late)
            now = due[-1]
        start = limiter._take_slot(slot)
        sends.append(start + late)
        actual.append(start + late)
    for s in sorted(sends):
        limiter._on_slip(s, late)
        now = s
    return actual, limiter._slot_at(now)


def test_late_starts_together_do_not_stack_their_lateness() -> None:
    """16 cold connections, each 150 ms slow, on slots 5 ms apart: all 16 slots are handed out
    before the first request goes out, then 16 slips come in."""
    limiter = RateLimiter(200)
    interval = HEADROOM / 200
    actual, next_slot = drive_with_late_sends(limiter, 16, late=0.15)
    on_time = 100.0 + 16 * interval
    # One connection's lateness, not 16 of them (which would be 2.4 s).
    assert next_slot - on_time == pytest.approx(0.15, abs=1e-6)
    assert next_slot - actual[-1] == pytest.approx(interval)
    now = actual[-1]
    for _ in range(400):
        now = limiter._take_slot(now)
        actual.append(now)
    assert most_in_window(actual) <= 200


def test_nobody_bunches_up_behind_a_late_start() -> None:
    """A request 0.15 s late lands behind one that started on time; the next ones keep the
    server's window at qps."""
    limiter = RateLimiter(10)
    first = limiter._take_slot(100.0)
    second = limiter._take_slot(first)  # starts on time while the first is still connecting
    limiter._on_slip(first + 0.15, 0.15)
    starts = [second, first + 0.15]
    now = first + 0.15
    for _ in range(30):
        now = limiter._take_slot(now)
        starts.append(now)
    assert most_in_window(starts) <= 10
    # ... and the rate is not lost: 32 starts within 32 intervals and the slip.
    assert starts[-1] - first <= 31 * HEADROOM / 10 + 0.15 + 1e-9


def test_a_small_lateness_is_absorbed() -> None:
    limiter = RateLimiter(10)
    first = limiter._take_slot(100.0)
    limiter._on_slip(first + 0.003, 0.003)  # wake-up noise: the schedule keeps its rate
    assert limiter._take_slot(first) == pytest.approx(first + HEADROOM / 10)


# --- adaptive pacing against a simulated server ----------------------------------------------


class SimServer:
    """FakeKeyAPI's rule: more than `limit` arrivals in the last second (429s count) -> 429."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.recent: deque[float] = deque()

    def rejects(self, t: float) -> bool:
        self.recent.append(t)
        while t - self.recent[0] >= 1.0:
            self.recent.popleft()
        return len(self.recent) > self.limit


def pull(
    limiter: RateLimiter, server: SimServer, seconds: float, change: tuple[float, float] | None
) -> tuple[list[float], list[float], list[tuple[float, float]]]:
    """A sequential pull with instant answers: (answered, rejected, (t, rate)) from t=0."""
    answered: list[float] = []
    rejected: list[float] = []
    trace: list[tuple[float, float]] = []
    now = 0.0
    while now < seconds:
        if change is not None and now >= change[0]:
            server.limit = change[1]
        now = limiter._take_slot(now)
        if server.rejects(now):
            rejected.append(now)
            limiter._on_rate_limited(now, hold=1.0, sent_at=now)
        else:
            answered.append(now)
        trace.append((now, limiter.rate))
    return answered, rejected, trace


def test_pacing_converges_below_a_lower_server_limit() -> None:
    limiter = RateLimiter(10)
    answered, rejected, trace = pull(limiter, SimServer(5), 600.0, None)
    late = [t for t in rejected if t >= 10.0]
    assert late, "the limiter probes: a few 429s are expected"
    assert most_in_window(late, 30.0) == 1  # at most one probe per 30 s
    assert len(late) <= 600 / 30
    # Converged just below the limit: no sawing down to far less.
    rates = [rate for t, rate in trace if t >= 10.0]
    assert min(rates) >= 0.9 * 5
    assert max(rates) <= 5 * HEADROOM * 1.04
    done = [t for t in answered if t >= 10.0]
    assert len(done) / (done[-1] - done[0]) >= 5 / 1.15


def test_pacing_finds_a_raised_limit() -> None:
    limiter = RateLimiter(10)
    _, rejected, trace = pull(limiter, SimServer(5), 400.0, change=(200.0, 10.0))
    above = next(t for t, rate in trace if t >= 200.0 and rate >= 0.9 * 10)
    assert above - 200.0 <= 120.0
    assert not [t for t in rejected if t >= 200.0]  # qps 10 fits the new limit: no 429 at all
    assert limiter.rate == 10  # never above qps


def test_one_429_never_more_than_halves_the_rate() -> None:
    limiter = RateLimiter(8)
    start = limiter._take_slot(100.0)
    limiter._on_rate_limited(start, hold=0.0, sent_at=start)
    assert limiter.rate >= 8 / 2 * 0.95


def test_a_lone_429_never_more_than_halves_the_rate() -> None:
    limiter = RateLimiter(10)
    start = limiter._take_slot(100.0)  # one start in the last second: says little of the limit
    limiter._on_rate_limited(start, hold=0.0, sent_at=start)
    assert limiter.rate == pytest.approx(10 / 2 * 0.95)


def test_limiter_backs_off_below_the_servers_limit_then_recovers() -> None:
    limiter = RateLimiter(10)
    now = 100.0
    for _ in range(10):  # a second of starts at 10/s
        now = limiter._take_slot(now)
    limiter._on_rate_limited(now, hold=1.0, sent_at=now)
    assert limiter.rate == pytest.approx(9 * 0.95)  # estimated limit 9, minus 5%
    assert limiter._take_slot(now) >= now + 1.0  # everyone waits out Retry-After
    limiter._take_slot(now + 5)
    assert limiter.rate == pytest.approx(9 * 0.95)  # holds just below the estimate ...
    limiter._take_slot(now + PROBE_AFTER + 5)
    assert 9 * 0.95 < limiter.rate < 10  # ... then probes above it ...
    limiter._take_slot(now + 300)
    assert limiter.rate == 10  # ... up to qps


# --- the fake's QPS window -------------------------------------------------------------------


def test_a_limit_below_one_per_second_counts_over_its_own_window() -> None:
    fake = FakeKeyAPI(qps_limit=0.5)  # one arrival per 2 s
    assert not fake._over_qps(10.0)
    assert fake._over_qps(11.2)  # within 2 s of the first
    assert fake._over_qps(12.5)  # the rejected arrival at 11.2 counts too
    assert not fake._over_qps(14.6)


async def test_every_arrival_counts_and_the_limit_can_change_while_running() -> None:
    async with FakeKeyAPI(qps_limit=2) as fake:
        async with KeyAPI(fake.api_key, base_url=fake.url, qps=None, max_retries=0) as client:
            for _ in range(2):
                await client.influencers.list(region="US")
            with pytest.raises(RateLimitError):
                await client.influencers.list(region="US")
            # Raised by another process over the admin endpoint, as the benchmark does.
            async with (
                aiohttp.ClientSession() as s,
                s.post(fake.url + "/__fake__/qps-limit", json={"qps_limit": 50}) as resp,
            ):
                assert resp.status == 204
            assert fake.qps_limit == 50
            for _ in range(3):
                await client.influencers.list(region="US")
        statuses = [r.status for r in fake.requests]
        assert statuses == [200, 200, 429, 200, 200, 200]


def test_a_slip_replaces_the_booked_start_instead_of_adding_one() -> None:
    """`late` is read a moment before the limiter reads its clock: the booking still matches,
    so the start is not counted twice (which would inflate the next 429's estimate)."""
    limiter = RateLimiter(10)
    now = 100.0
    for _ in range(5):
        now = limiter._take_slot(now)
    limiter._on_slip(now + 0.1 + 5e-6, 0.1)  # the clock moved on 5 microseconds meanwhile
    assert list(limiter._recent)[-1] == pytest.approx(now + 0.1, abs=1e-5)
    assert len(limiter._recent) == 5
