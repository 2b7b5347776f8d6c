"""6. Memory: stream 100,000 influencers (10,000 pages) through `async for`, keeping none.

Runs in a fresh child process so nothing the other benchmarks allocated sits in the baseline.
The child warms up (imports, session, connections, a few pages), reads its RSS, then samples
RSS every 500 items while streaming: growth = highest sample - baseline. ru_maxrss is no use
here: on Linux a child inherits the peak of the parent it was forked from. The US list has 311
full pages, so the child pulls 300-page passes (concurrency 4) until it has 100,000.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

import psutil  # type: ignore[import-untyped, unused-ignore]

from keyapi_async import KeyAPI

from ._common import Outcome
from ._server import FakeServer

ITEMS = 100_000
PASS_ITEMS = 3_000  # 300 full pages of region=US
TARGET_MB = 25.0
ROOT = Path(__file__).resolve().parents[1]


SAMPLE_EVERY = 500  # items


class _Rss:
    """This process's resident set size, sampled."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.samples: list[float] = []

    def now(self) -> float:
        return float(self._process.memory_info().rss) / 2**20

    def sample(self) -> None:
        self.samples.append(self.now())


async def _stream(client: KeyAPI, items: int, rss: _Rss | None = None) -> int:
    seen = 0
    while seen < items:
        pager = client.influencers.list(
            region="US", limit=min(PASS_ITEMS, items - seen), concurrency=4
        )
        async for _influencer in pager:
            seen += 1  # nothing kept
            if rss is not None and seen % SAMPLE_EVERY == 0:
                rss.sample()
    return seen


async def _child(url: str, api_key: str) -> dict[str, float | int]:
    rss = _Rss()
    async with KeyAPI(api_key=api_key, base_url=url, qps=None) as client:
        await _stream(client, 100)  # warm: session, connections, the decoder's caches
        gc.collect()
        baseline = rss.now()
        sent = client.usage.requests
        started = time.perf_counter()
        seen = await _stream(client, ITEMS, rss)
        elapsed = time.perf_counter() - started
        requests = client.usage.requests - sent
    return {
        "items": seen,
        "requests": requests,
        "seconds": elapsed,
        "baseline_mb": baseline,
        "peak_mb": max(rss.samples),
        "end_mb": rss.samples[-1],
        "samples": len(rss.samples),
    }


def run() -> Outcome:
    with FakeServer(latency=0.0) as server:
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_memory", server.url, server.api_key],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    if child.returncode != 0:
        raise RuntimeError(f"the memory child failed:\n{child.stderr[-2000:]}")
    got = json.loads(child.stdout)
    growth = got["peak_mb"] - got["baseline_mb"]
    ok = growth < TARGET_MB and got["items"] == ITEMS
    details = [
        f"{got['items']:,} items in {got['requests']:,} requests ({got['seconds']:.1f} s, "
        f"{got['items'] / got['seconds']:,.0f} items/s) in a fresh process; RSS sampled "
        f"{got['samples']} times (every {SAMPLE_EVERY} items).",
        "",
        "| RSS after warm-up | highest RSS while streaming | growth | RSS at the end |",
        "| ---: | ---: | ---: | ---: |",
        f"| {got['baseline_mb']:.1f} MB | {got['peak_mb']:.1f} MB | {growth:.2f} MB "
        f"| {got['end_mb']:.1f} MB |",
    ]
    return Outcome(
        key="6",
        title="Memory (stream 100k items, 10k pages)",
        measured=f"RSS +{growth:.2f} MB at peak",
        target=f"< {TARGET_MB:g} MB",
        status=Outcome.verdict(ok),
        details=details,
        chart={"growth_mb": growth},
    )


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_child(sys.argv[1], sys.argv[2]))))
