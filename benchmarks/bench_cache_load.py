"""Benchmark 9: a backend's load, side by side: `python -m benchmarks.run --only 9`.

5,000 detail calls for 500 creators drawn from a Zipf distribution (s = 1.1), 100 in flight,
through one client against a local FakeKeyAPI that takes 20 ms to answer: (a) no cache and
coalescing off, (b) coalescing only, (c) a MemoryCache, (d) a SQLiteCache. Then the cost of one
hit against one request, through the client (lookup and decoding) and at the backend alone.
Public names only.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import bench_cache
from benchmarks._common import Outcome
from keyapi_async import KeyAPI, MemoryCache, SQLiteCache
from keyapi_async.testing import FakeKeyAPI

CALLS = 5_000
CREATORS = 500
IN_FLIGHT = 100
ZIPF_S = 1.1
LATENCY = 0.02  # seconds the fake takes to answer: calls overlap as they would in production
HIT_TARGET_US = 50.0
SETUPS = {
    "a": "no cache, coalescing off",
    "b": "coalescing only",
    "c": "MemoryCache",
    "d": "SQLiteCache",
}


def zipf_draws(seed: int = 9) -> list[int]:
    weights = [1 / (rank**ZIPF_S) for rank in range(1, CREATORS + 1)]
    return random.Random(seed).choices(range(CREATORS), weights, k=CALLS)


async def _load(
    fake: FakeKeyAPI, ids: list[str], draws: list[int], setup: str, tmp: Path
) -> dict[str, Any]:
    options: dict[str, Any] = {"coalesce": setup != "a"}
    if setup == "c":
        options["cache"] = MemoryCache(ttl=3600)
    elif setup == "d":
        options["cache"] = SQLiteCache(str(tmp / "load.sqlite"), ttl=3600)
    fake.reset_log()
    latencies: list[float] = []
    gate = asyncio.Semaphore(IN_FLIGHT)
    async with KeyAPI(fake.api_key, base_url=fake.url, qps=None, **options) as client:

        async def call(user_id: str) -> None:
            async with gate:
                start = time.perf_counter()
                await client.influencers.detail(user_ids=[user_id])
                latencies.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(call(ids[d]) for d in draws))
        elapsed = time.perf_counter() - started
        usage = client.usage
    latencies.sort()
    return {
        "credits": usage.credits,
        "server": len(fake.requests),
        "coalesced": usage.coalesced,
        "hits": usage.cache_hits,
        "p50": statistics.median(latencies) * 1e3,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1e3,
        "elapsed": elapsed,
    }


async def _hit_through_client(fake: FakeKeyAPI, user_id: str, times: int = 5_000) -> float:
    """Median µs of a call the MemoryCache answers: key, lookup, decoding, counting."""
    async with KeyAPI(fake.api_key, base_url=fake.url, qps=None, cache=MemoryCache()) as client:
        await client.influencers.detail(user_ids=[user_id])
        costs = []
        for _ in range(times):
            start = time.perf_counter()
            await client.influencers.detail(user_ids=[user_id])
            costs.append(time.perf_counter() - start)
    return statistics.median(costs) * 1e6


async def _measure() -> tuple[dict[str, dict[str, Any]], float, dict[str, float], int]:
    draws = zipf_draws()
    with tempfile.TemporaryDirectory() as folder:
        async with FakeKeyAPI(influencers=CREATORS + 100, latency=LATENCY) as fake:
            ids = [str(r["user_id"]) for r in fake.dataset.influencers[:CREATORS]]
            runs = {s: await _load(fake, ids, draws, s, Path(folder)) for s in SETUPS}
            fake.latency = 0.0
            client_hit = await _hit_through_client(fake, ids[0])
    costs = await bench_cache.measure()
    return runs, client_hit, costs, len(set(draws))


def run() -> Outcome:
    runs, client_hit, costs, distinct = asyncio.run(_measure())
    a, b, c, d = (runs[k] for k in "abcd")
    saved_by_coalescing = a["credits"] - b["credits"]
    ok = (
        a["credits"] == CALLS
        and saved_by_coalescing > 0
        and c["credits"] <= distinct
        and d["credits"] <= distinct
        and client_hit < HIT_TARGET_US
    )
    rows = [
        f"| ({k}) {SETUPS[k]} | {r['credits']:,} | {r['credits'] * 1000 / CALLS:,.0f} "
        f"| {r['coalesced']:,} | {r['hits']:,} | {r['p50']:.2f} | {r['p99']:.2f} "
        f"| {r['elapsed']:.2f} |"
        for k, r in runs.items()
    ]
    details = [
        f"{CALLS:,} `detail` calls for {CREATORS} creators drawn from Zipf (s = {ZIPF_S}; "
        f"{distinct} distinct creators drawn), {IN_FLIGHT} in flight, one client, a local "
        f"FakeKeyAPI answering in {LATENCY * 1e3:.0f} ms; no pacing. Credits = requests the "
        "server logged. Latency: one call, from entering the SDK to its answer.",
        "",
        "| setup | credits | per 1,000 calls | coalesced | cache hits | p50 ms | p99 ms "
        "| total s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"Coalescing alone saved {saved_by_coalescing:,} credits ({saved_by_coalescing / CALLS:.1%}"
        f" of the calls overlapped an identical one in flight). With a cache, every distinct "
        f"creator is bought at most once per TTL: (c) {c['credits']}, (d) {d['credits']} credits "
        f"for {distinct} creators.",
        "",
        "| one call | µs |",
        "| --- | ---: |",
        f"| a request to the local FakeKeyAPI (a miss, through the client) "
        f"| {costs['request']:,.1f} |",
        f"| a MemoryCache hit through the client (lookup + decoding) | {client_hit:,.1f} |",
        f"| MemoryCache.get alone | {costs['memory']:,.2f} |",
        f"| SQLiteCache.get alone | {costs['sqlite']:,.1f} |",
    ]
    measured = (
        f"credits/1,000 calls: (a) {a['credits'] * 1000 / CALLS:.0f}, (b) "
        f"{b['credits'] * 1000 / CALLS:.0f}, (c) {c['credits'] * 1000 / CALLS:.0f}, (d) "
        f"{d['credits'] * 1000 / CALLS:.0f} ({distinct} creators); memory hit {client_hit:.0f} µs "
        f"vs request {costs['request']:.0f} µs"
    )
    return Outcome(
        key="9",
        title="Credits saved on a Zipf backend load (5,000 detail calls)",
        measured=measured,
        target=(
            f"(b) < (a); (c), (d) <= one credit per creator; a memory hit < {HIT_TARGET_US:g} µs"
        ),
        status=Outcome.verdict(ok),
        details=details,
    )


if __name__ == "__main__":
    outcome = run()
    print(outcome.status, outcome.measured)
    print("\n".join(outcome.details))
