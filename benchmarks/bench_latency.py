"""2. Latency-bound paging and 3. fan-out, at 250 ms server latency and qps 20 on both ends.

The server enforces its own limit of 20 requests per sliding second, so any 429 in its log is a
request the client sent over the limit. Rates are end to end: requests (or pages) divided by
the client's wall time from the first send to the last answer, 250 ms tail included; the rate
between the server's first and last arrival is shown beside it.
"""

from __future__ import annotations

import asyncio
import time

from keyapi_async import KeyAPI

from ._common import Arrivals, Outcome
from ._server import FakeServer

LATENCY = 0.25
QPS = 20.0
TARGET_RATE = 19.0
PAGES = 400
SEQUENTIAL_PAGES = 40
USERS = 200
PER_USER = 10


def _client(server: FakeServer) -> KeyAPI:
    return KeyAPI(api_key=server.api_key, base_url=server.url, qps=QPS)


async def _quiet(server: FakeServer) -> None:
    # Let the server's one-second QPS window empty, then start each run on a clean log.
    await asyncio.sleep(1.1)
    await server.reset()


async def _paging(server: FakeServer, pages: int, concurrency: int) -> tuple[float, Arrivals]:
    await _quiet(server)
    async with _client(server) as client:
        pager = client.influencers.list(
            region="US", page_size=1, concurrency=concurrency, limit=pages
        )
        started = time.perf_counter()
        got = 0
        async for page in pager.pages():
            got += len(page.items)
        elapsed = time.perf_counter() - started
    assert got == pages, got
    return pages / elapsed, Arrivals.of(await server.log(), QPS)


async def _fan_out(server: FakeServer) -> Outcome:
    title = f"Fan-out: videos of {USERS} influencers (250 ms, qps 20, server limit 20)"
    target = f">= {TARGET_RATE:g} req/s, 0 over the limit"
    async with _client(server) as client:
        if not hasattr(client.influencers, "videos_many"):
            return Outcome("3", title, "videos_many not in this SDK yet", target, "SKIPPED")
        users = await client.influencers.list(region="US", limit=USERS, concurrency=8).collect()
    user_ids = [u.user_id for u in users]
    await _quiet(server)
    async with _client(server) as client:
        per_user: dict[str, int] = {}
        started = time.perf_counter()
        async for user_id, _video in client.influencers.videos_many(
            user_ids, concurrency=8, limit_per_user=PER_USER
        ):
            per_user[user_id] = per_user.get(user_id, 0) + 1
        elapsed = time.perf_counter() - started
        sent = client.usage.requests
    arrivals = Arrivals.of(await server.log(), QPS)
    assert arrivals.count == sent, (arrivals.count, sent)
    rate = sent / elapsed
    ok = rate >= TARGET_RATE and arrivals.rejected == 0
    videos = sum(per_user.values())
    details = [
        f"`videos_many({USERS} user_ids, concurrency=8, limit_per_user={PER_USER})`: "
        f"{videos:,} videos of {len(per_user)} influencers, {sent} requests in {elapsed:.2f} s.",
        "",
        "| requests/s (wall) | requests/s (server arrivals) | max in 1 s | 429s |",
        "| ---: | ---: | ---: | ---: |",
        f"| {rate:.2f} | {arrivals.rate:.2f} | {arrivals.max_in_window} | {arrivals.rejected} |",
    ]
    return Outcome(
        "3",
        title,
        f"{rate:.2f} req/s, {arrivals.rejected} over the limit",
        target,
        Outcome.verdict(ok),
        details,
        chart={"rate": rate},
    )


async def _run() -> list[Outcome]:
    with FakeServer(latency=LATENCY, qps_limit=QPS) as server:
        rate, arrivals = await _paging(server, PAGES, 8)
        seq_rate, seq_arrivals = await _paging(server, SEQUENTIAL_PAGES, 1)
        fan_out = await _fan_out(server)
    ok = rate >= TARGET_RATE  # 429s are shown, not judged: the brief's target is the rate
    details = [
        "One paginator: `list(region='US', page_size=1, concurrency=8, limit=400)`; "
        f"sequential: the same with concurrency=1 and limit={SEQUENTIAL_PAGES}.",
        "",
        "| run | pages | pages/s (wall) | pages/s (server arrivals) | max in 1 s | 429s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, pages, r, a in (
        ("concurrency 8", PAGES, rate, arrivals),
        ("sequential", SEQUENTIAL_PAGES, seq_rate, seq_arrivals),
    ):
        details.append(
            f"| {name} | {pages} | {r:.2f} | {a.rate:.2f} | {a.max_in_window} | {a.rejected} |"
        )
    details += ["", f"Concurrent / sequential: **{rate / seq_rate:.1f}x**."]
    paging = Outcome(
        "2",
        "Latency-bound paging (400 pages, 250 ms, qps 20)",
        f"{rate:.2f} pages/s vs {seq_rate:.2f} sequential, {arrivals.rejected} 429s",
        f">= {TARGET_RATE:g} pages/s",
        Outcome.verdict(ok),
        details,
        chart={"rate": rate, "sequential": seq_rate},
    )
    return [paging, fan_out]


def run() -> list[Outcome]:
    return asyncio.run(_run())
