"""8. A fleet on one plan: four processes against a strict server limit of 40.

FakeKeyAPI runs in its own process with qps_limit=40 (429 + Retry-After: 1 over it). Four worker
processes pull pages of one item, an uneven workload: one has 4x the pages of the others. Side
by side in one run: (a) each with RedisRateLimiter(qps=40) on one Redis, sharing the plan; (b)
each with a local RateLimiter(40), what users do today; (c) each with RateLimiter(10), a static
split. Every figure but the acquire cost comes from the server's log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ._common import Arrivals, Outcome
from ._server import FakeServer

LIMIT = 40.0
PAGES = [160, 40, 40, 40]  # one process has 4x the work of the others
SHARE_TARGET = 0.95
SPEEDUP_TARGET = 1.5  # (a) finishes the uneven workload this much faster than (c)
ROOT = Path(__file__).resolve().parents[1]
SETUPS = {"a": ("redis", LIMIT), "b": ("local", LIMIT), "c": ("local", LIMIT / 4)}
LABELS = {
    "a": "(a) RedisRateLimiter(40), shared",
    "b": "(b) 4 x RateLimiter(40)",
    "c": "(c) 4 x RateLimiter(10)",
}


# --- one worker process ----------------------------------------------------------------------


async def _work(args: argparse.Namespace) -> dict[str, Any]:
    from redis.asyncio import Redis

    from keyapi_async import KeyAPI, KeyAPIError, RateLimiter
    from keyapi_async.redis import RedisRateLimiter

    redis = Redis.from_url(args.redis, socket_timeout=2.0, socket_connect_timeout=2.0)
    limiter: Any = RateLimiter(args.qps)
    if args.mode == "redis":
        limiter = RedisRateLimiter(redis, qps=args.qps, name="bench-fleet")
    error = None
    got = 0
    async with KeyAPI(api_key=args.api_key, base_url=args.url, limiter=limiter) as client:
        pages = client.influencers.list(
            region="US", page_size=1, start_page=args.start, max_pages=args.pages, concurrency=4
        )
        try:
            async for _ in pages:
                got += 1
        except KeyAPIError as exc:
            error = type(exc).__name__
        usage = client.usage
    await redis.aclose()
    return {"got": got, "error": error, "requests": usage.requests, "retries": usage.retries}


async def _acquire_cost(url: str, n: int = 2000) -> dict[str, float]:
    """µs per acquire() with nothing to wait for: the Redis round trip against local work."""
    from redis.asyncio import Redis

    from keyapi_async import RateLimiter
    from keyapi_async.redis import RedisRateLimiter

    redis = Redis.from_url(url)
    limiters = {
        "redis": RedisRateLimiter(redis, qps=1e7, name="bench-cost"),
        "local": RateLimiter(1e7),
    }
    cost = {}
    for label, limiter in limiters.items():
        for _ in range(100):  # warm: connection, script cache
            await limiter.acquire()
        t0 = time.perf_counter()
        for _ in range(n):
            await limiter.acquire()
        cost[label] = (time.perf_counter() - t0) / n * 1e6
    await redis.aclose()
    return cost


async def _hammer(url: str, seconds: float, limiters: int) -> int:
    """Acquire as fast as `limiters` concurrent limiters can; returns how many were made."""
    from redis.asyncio import Redis

    from keyapi_async.redis import RedisRateLimiter

    redis = Redis.from_url(url, max_connections=limiters)
    count = 0
    deadline = time.perf_counter() + seconds

    async def loop(i: int) -> None:
        nonlocal count
        limiter = RedisRateLimiter(redis, qps=1e7, name=f"bench-capacity-{i % 4}")
        while time.perf_counter() < deadline:
            await limiter.acquire()
            count += 1

    await asyncio.gather(*(loop(i) for i in range(limiters)))
    await redis.aclose()
    return count


def _worker_main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--redis", required=True)
    ap.add_argument("--role", choices=["pull", "cost", "hammer"], default="pull")
    ap.add_argument("--url", default="")
    ap.add_argument("--api-key", default="")
    ap.add_argument("--mode", choices=["redis", "local"], default="redis")
    ap.add_argument("--qps", type=float, default=LIMIT)
    ap.add_argument("--pages", type=int, default=0)
    ap.add_argument("--start", type=int, default=1)
    args = ap.parse_args(argv)
    result: Any
    if args.role == "pull":
        result = asyncio.run(_work(args))
    elif args.role == "cost":
        result = asyncio.run(_acquire_cost(args.redis))
    else:
        result = asyncio.run(_hammer(args.redis, 3.0, 16))
    print(json.dumps(result), flush=True)


def _spawn(*args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "benchmarks.bench_fleet", "--worker", *args]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def _results(procs: list[subprocess.Popen[str]]) -> list[Any]:
    out = []
    for proc in procs:
        stdout, _ = proc.communicate(timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"a fleet worker failed with exit code {proc.returncode}")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


# --- the run ---------------------------------------------------------------------------------


def _fleet(server: FakeServer, redis_url: str, setup: str) -> dict[str, Any]:
    mode, qps = SETUPS[setup]
    asyncio.run(server.reset())
    time.sleep(1.1)  # an empty QPS window to start on
    asyncio.run(server.reset())
    starts = [1 + sum(PAGES[:i]) for i in range(len(PAGES))]
    procs = [
        _spawn("--redis", redis_url, "--url", server.url, "--api-key", server.api_key,
               "--mode", mode, "--qps", str(qps), "--pages", str(n), "--start", str(s))
        for n, s in zip(PAGES, starts, strict=True)
    ]  # fmt: skip
    workers = _results(procs)
    log = asyncio.run(server.log())
    arrivals = Arrivals.of(log, LIMIT)
    times = sorted(e.arrived for e in log)
    return {
        "arrivals": arrivals,
        "finish": times[-1] - times[0] if times else 0.0,
        "completed": all(w["error"] is None for w in workers)
        and [w["got"] for w in workers] == PAGES,
        "errors": sorted({w["error"] for w in workers if w["error"]}),
        "retries": sum(w["retries"] for w in workers),
    }


def _capacity(redis_url: str) -> tuple[float, int]:
    import redis as redis_sync

    client = redis_sync.Redis.from_url(redis_url)
    before = int(client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))
    counts = _results([_spawn("--redis", redis_url, "--role", "hammer") for _ in range(4)])
    after = int(client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))
    client.close()
    return sum(counts) / 3.0, after - before


def run() -> Outcome:
    from tests.redis_server import RedisServer  # the same real redis-server as the tests

    with RedisServer() as redis, FakeServer(qps_limit=LIMIT, influencers=2000) as server:
        runs = {setup: _fleet(server, redis.url, setup) for setup in SETUPS}
        cost = _results([_spawn("--redis", redis.url, "--role", "cost")])[0]
        per_second, calls = _capacity(redis.url)
    return _outcome(runs, cost, per_second, calls)


def _outcome(
    runs: dict[str, dict[str, Any]], cost: dict[str, float], per_second: float, calls: int
) -> Outcome:
    a, c = runs["a"], runs["c"]
    share = a["arrivals"].rate / LIMIT
    speedup = c["finish"] / a["finish"] if a["finish"] else 0.0
    ok = (
        a["completed"]
        and share >= SHARE_TARGET
        and a["arrivals"].windows_over == 0
        and a["arrivals"].rejected == 0
        and speedup >= SPEEDUP_TARGET
    )
    rows = [
        f"| {LABELS[k]} | {r['arrivals'].count} | {r['arrivals'].rate / LIMIT:.1%} "
        f"| {r['arrivals'].max_in_window} | {r['arrivals'].windows_over} "
        f"| {r['arrivals'].rejected} | {r['retries']} | {r['finish']:.1f} "
        f"| {'yes' if r['completed'] else 'no: ' + ', '.join(r['errors'])} |"
        for k, r in runs.items()
    ]
    details = [
        f"Server limit {LIMIT:g} arrivals per sliding second (429s count too). Four worker "
        f"processes, each its own KeyAPI (default retries), pull {PAGES} pages of one item "
        "(`list(region='US', page_size=1, concurrency=4)`): one has 4x the work. Rate = "
        "(arrivals - 1) / (last - first), at the server; finish = last - first arrival.",
        "",
        "| fleet | requests | rate / limit | max in 1 s | windows over | 429s | retries "
        "| finish s | completed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        *rows,
        "",
        f"(a) finishes {speedup:.2f}x faster than the static split (c). One acquire() with "
        f"nothing to wait for: {cost['redis']:.0f} µs on RedisRateLimiter (one EVALSHA round "
        f"trip to a local Redis) vs {cost['local']:.1f} µs on RateLimiter. One Redis instance "
        f"served {per_second:,.0f} acquisitions/s ({calls:,} script calls in 3 s) to 4 "
        "processes x 16 limiters on this machine, the clients sharing its cores: a floor, "
        "not Redis's ceiling.",
    ]
    return Outcome(
        key="8",
        title="A fleet on one plan (4 processes, server limit 40, uneven work)",
        measured=(
            f"(a) {share:.1%} of {LIMIT:g}, {a['arrivals'].windows_over} windows over, "
            f"{a['arrivals'].rejected} 429s, {speedup:.2f}x faster than (c); (b) "
            f"{runs['b']['arrivals'].rejected} 429s; acquire {cost['redis']:.0f} µs vs "
            f"{cost['local']:.1f} µs local; {per_second:,.0f} acquisitions/s"
        ),
        target=(
            f"(a) >= {SHARE_TARGET:.0%} of {LIMIT:g}, 0 windows over, 0 429s, "
            f">= {SPEEDUP_TARGET:g}x faster than (c)"
        ),
        status=Outcome.verdict(ok),
        details=details,
        chart={
            "labels": [LABELS[k] for k in runs],
            "share": [r["arrivals"].rate / LIMIT for r in runs.values()],
            "finish": [r["finish"] for r in runs.values()],
        },
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker_main(sys.argv[2:])
    else:
        outcome = run()
        print(outcome.measured)
        print("\n".join(outcome.details))
