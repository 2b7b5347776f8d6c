"""7. Adaptive pacing: a client set to qps 10 against a plan whose real limit is 5.

The server enforces 5 arrivals per sliding second (rejected arrivals count too) and answers 429
with Retry-After: 1; it answers at once otherwise. One client, qps=10, pulls 300 pages of one
item sequentially. Every figure comes from the server's log, except the limiter's rate, read
from the client after each page. The ideal is the server's limit: 300 pages at 5/s.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from keyapi_async import KeyAPI, KeyAPIError
from keyapi_async._limiter import BACK_OFF, HEADROOM, RECOVERY

from ._common import Arrivals, Outcome
from ._server import FakeServer, LogEntry

SERVER_QPS = 5.0
CLIENT_QPS = 10.0
PAGES = 300
INFLUENCERS = 1000  # region=US must hold at least PAGES of them
MAX_RETRIES = 8  # the default 4 with one 429 per retry could fail the pull; 8 cannot in practice
REJECTED_TARGET = 0.10  # share of requests answered 429: below this
SLOWDOWN_TARGET = 1.3  # elapsed / ideal: at most this
IDEAL = PAGES / SERVER_QPS


class _Pull:
    """What the client saw: pages, time, the limiter's rate after each page, the error if any."""

    def __init__(self) -> None:
        self.pages = 0
        self.started = 0.0  # time.monotonic(), the server log's clock on Linux
        self.elapsed = 0.0
        self.trace: list[tuple[float, float]] = []  # (seconds since start, limiter rate)
        self.requests = 0
        self.retries = 0
        self.final_rate = 0.0
        self.error: str | None = None


async def _pull(server: FakeServer) -> _Pull:
    pull = _Pull()
    client = KeyAPI(
        api_key=server.api_key, base_url=server.url, qps=CLIENT_QPS, max_retries=MAX_RETRIES
    )
    limiter: Any = client._limiter  # the SDK's RateLimiter: its `rate` is the pace in force
    async with client:
        pager = client.influencers.list(region="US", page_size=1, limit=PAGES)
        pull.started = time.monotonic()
        try:
            async for page in pager.pages():
                pull.pages += len(page.items)
                pull.trace.append((time.monotonic() - pull.started, limiter.rate))
        except KeyAPIError as exc:  # the pull gave up: reported, not raised
            pull.error = f"{type(exc).__name__}: {exc}"
        pull.elapsed = time.monotonic() - pull.started
        pull.requests = client.usage.requests
        pull.retries = client.usage.retries
        pull.final_rate = limiter.rate
    return pull


async def _run() -> tuple[_Pull, list[LogEntry]]:
    with FakeServer(latency=0.0, qps_limit=SERVER_QPS, influencers=INFLUENCERS) as server:
        await asyncio.sleep(1.1)  # an empty QPS window and a clean log to start on
        await server.reset()
        pull = await _pull(server)
        log = await server.log()
    return pull, log


def _is_429(entry: LogEntry) -> bool:
    return entry.status == 429 or entry.code == 429


def run() -> Outcome:
    pull, log = asyncio.run(_run())
    arrivals = Arrivals.of(log, SERVER_QPS)
    answered = Arrivals.of([e for e in log if not _is_429(e)], SERVER_QPS)
    assert arrivals.count == pull.requests, (arrivals.count, pull.requests)
    rejected = arrivals.rejected
    share = rejected / arrivals.count if arrivals.count else 0.0
    slowdown = pull.elapsed / IDEAL
    completed = pull.error is None and pull.pages == PAGES
    ok = completed and share < REJECTED_TARGET and slowdown <= SLOWDOWN_TARGET
    rejected_at = [e.arrived - pull.started for e in log if _is_429(e)]
    lowest = min((rate for _, rate in pull.trace), default=pull.final_rate)
    # The limiter's rate once the page that met each 429 came through (its retry included).
    after = [next((r for t, r in pull.trace if t >= at), pull.final_rate) for at in rejected_at]

    done = "completed" if completed else f"stopped at {pull.pages} pages ({pull.error})"
    details = [
        f"Server limit {SERVER_QPS:g} arrivals per sliding second (429s count too; 429 with "
        f"Retry-After: 1), zero latency; one client with qps={CLIENT_QPS:g}, "
        f"max_retries={MAX_RETRIES}, other settings default: "
        f"`list(region='US', page_size=1, limit={PAGES})`, sequential. "
        f"Ideal: {PAGES} pages at {SERVER_QPS:g}/s = {IDEAL:g} s.",
        "",
        "What the limiter does (keyapi_async/_limiter.py): it spaces starts evenly at its rate "
        f"(x {HEADROOM:g} headroom). On a 429 it estimates the server's limit from its own "
        "starts in the last second (the server counted one too many of them), drops to "
        f"{BACK_OFF:.0%} of that estimate (one 429 never more than halves it), and holds every "
        "start until Retry-After has passed, so the server's window drains instead of "
        f"collecting more 429s. Without a 429 the rate climbs back by {RECOVERY - 1:.0%} a "
        f"second, up to qps. Against a fixed limit it therefore settles into a cycle: climb "
        "until just over the limit, one 429, back off, climb again.",
        "",
        "| pull | time s | time / ideal | requests | 429s | 429 share | retries "
        "| limiter rate: lowest / final | pages/s (server, answered) | max answered in 1 s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {done} | {pull.elapsed:.1f} | {slowdown:.3f} | {arrivals.count} | {rejected} "
        f"| {share:.1%} | {pull.retries} | {lowest:.2f} / {pull.final_rate:.2f} "
        f"| {answered.rate:.2f} | {answered.max_in_window} |",
        "",
        "429s at (s after the first request; in brackets, the limiter's rate once that "
        "page came through): "
        + (", ".join(f"{t:.1f} ({r:.2f}/s)" for t, r in zip(rejected_at, after, strict=True)))
        + "."
        if rejected_at
        else "No 429 at all.",
    ]
    return Outcome(
        key="7",
        title=f"Adaptive pacing (qps {CLIENT_QPS:g} vs server limit {SERVER_QPS:g}, {PAGES} pages)",
        measured=(
            f"{'completed' if completed else 'FAILED'} in {pull.elapsed:.1f} s = "
            f"{slowdown:.2f}x ideal; {rejected} 429s of {arrivals.count} requests ({share:.1%}); "
            f"final rate {pull.final_rate:.2f}/s"
        ),
        target=(
            f"completes; < {REJECTED_TARGET:.0%} 429s; <= {SLOWDOWN_TARGET:g}x ideal "
            f"({IDEAL:g} s at {SERVER_QPS:g}/s)"
        ),
        status=Outcome.verdict(ok),
        details=details,
        chart={
            "server_qps": SERVER_QPS,
            "client_qps": CLIENT_QPS,
            "answered": [e.arrived - pull.started for e in log if not _is_429(e)],
            "rejected": rejected_at,
            "trace": pull.trace,
        },
    )
