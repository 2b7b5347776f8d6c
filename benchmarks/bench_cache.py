"""The cost of a cache hit against a request, in one run: `python -m benchmarks.bench_cache`.

A MemoryCache and a SQLiteCache (a file in a temp dir) serve one detail answer's raw body;
the same answer is bought from a local FakeKeyAPI through KeyAPI (no pacing), as a miss would
be. Each figure is the median of many single calls, in microseconds. Public names only.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from keyapi_async import KeyAPI, MemoryCache, SQLiteCache
from keyapi_async.testing import FakeKeyAPI

DETAIL_PATH = "/v1/tiktok/influencer/detail/analytics"
KEY = "detail:" + "0" * 64  # a backend takes any name; the client's are shaped like this
TARGET_MEMORY_US = 50.0


async def _median_us(call: Callable[[], Awaitable[Any]], times: int) -> float:
    for _ in range(min(times, 100)):  # warm up
        await call()
    costs = []
    for _ in range(times):
        start = time.perf_counter()
        await call()
        costs.append(time.perf_counter() - start)
    return statistics.median(costs) * 1e6


async def measure(*, requests: int = 300, hits: int = 5000) -> dict[str, float]:
    """Median µs of: a request through KeyAPI, a MemoryCache hit, a SQLiteCache hit; and the
    answer's size in bytes."""
    async with FakeKeyAPI(influencers=200) as fake:
        async with KeyAPI(api_key=fake.api_key, base_url=fake.url, qps=None) as client:
            user_id = (await client.influencers.list(region="US", max_pages=1).collect())[0].user_id
            request_us = await _median_us(
                lambda: client.influencers.detail(user_ids=[user_id]), requests
            )
        headers = {"Authorization": f"Bearer {fake.api_key}"}
        async with aiohttp.ClientSession() as session:
            url = fake.url + DETAIL_PATH
            async with session.get(url, params={"user_ids": user_id}, headers=headers) as answer:
                body = await answer.read()

    memory = MemoryCache()
    await memory.set(KEY, body, ttl=3600)
    memory_us = await _median_us(lambda: memory.get(KEY), hits)

    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SQLiteCache(Path(tmp) / "cache.sqlite")
        await sqlite.set(KEY, body, ttl=3600)
        assert await sqlite.get(KEY) == body
        sqlite_us = await _median_us(lambda: sqlite.get(KEY), hits // 5)
        await sqlite.aclose()
    return {"request": request_us, "memory": memory_us, "sqlite": sqlite_us, "bytes": len(body)}


def table(result: dict[str, float]) -> str:
    rows = [
        ("request to a local FakeKeyAPI (a miss)", result["request"]),
        ("MemoryCache hit", result["memory"]),
        ("SQLiteCache hit", result["sqlite"]),
    ]
    lines = [
        f"One detail answer, {result['bytes']:.0f} bytes; median of single calls.",
        "",
        "| call | µs | vs a request |",
        "|---|---:|---:|",
    ]
    for name, us in rows:
        faster = "-" if us is result["request"] else f"{result['request'] / us:,.0f}x faster"
        lines.append(f"| {name} | {us:,.1f} | {faster} |")
    verdict = "PASS" if result["memory"] < TARGET_MEMORY_US else "MISS"
    lines += ["", f"A memory hit under {TARGET_MEMORY_US:g} µs: {verdict}"]
    return "\n".join(lines)


def main() -> None:
    result = asyncio.run(measure())
    sys.stdout.write(table(result) + "\n")


if __name__ == "__main__":
    main()
