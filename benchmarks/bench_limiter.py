"""5. Limiter accuracy at qps 5, 20 and 50, counted where it matters: on the server.

Each run sends qps x 8 s (+1) requests through one client from 16 tasks, so requests always
queue at the limiter; the server answers at once and enforces no limit of its own, so its log
shows exactly what the limiter let through. The same load runs through aiolimiter's two usual
set-ups, passed as `limiter=`, to show why the SDK has its own RateLimiter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiolimiter import AsyncLimiter

from keyapi_async import KeyAPI

from ._common import Arrivals, Outcome
from ._server import FakeServer

SETTINGS = (5.0, 20.0, 50.0)
DURATION = 8.0
WORKERS = 16
RATE_TOLERANCE = 0.02

LIMITERS: dict[str, Callable[[float], dict[str, Any]]] = {
    "keyapi_async RateLimiter": lambda qps: {"qps": qps},
    "AsyncLimiter(qps, 1)": lambda qps: {"limiter": AsyncLimiter(qps, 1)},
    "AsyncLimiter(1, 1/qps)": lambda qps: {"limiter": AsyncLimiter(1, 1 / qps)},
}
SDK = "keyapi_async RateLimiter"
BUCKET = "AsyncLimiter(qps, 1)"


async def _drive(server: FakeServer, qps: float, options: dict[str, Any]) -> Arrivals:
    await server.reset()
    remaining = round(qps * DURATION) + 1
    # coalesce=False: the workers ask the same page, and every ask must be a request to pace
    client = KeyAPI(api_key=server.api_key, base_url=server.url, coalesce=False, **options)
    async with client:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await client.influencers.list(region="US", page_size=1)  # one request

        await asyncio.gather(*(worker() for _ in range(WORKERS)))
    return Arrivals.of(await server.log(), qps)


async def _run() -> dict[tuple[str, float], Arrivals]:
    results = {}
    with FakeServer(latency=0.0) as server:
        for qps in SETTINGS:
            for name, options in LIMITERS.items():
                results[name, qps] = await _drive(server, qps, options(qps))
    return results


def run() -> Outcome:
    results = asyncio.run(_run())
    sdk_ok = all(
        abs(results[SDK, qps].rate / qps - 1) <= RATE_TOLERANCE
        and results[SDK, qps].windows_over == 0
        for qps in SETTINGS
    )
    details = [
        f"{WORKERS} tasks on one client, qps x {DURATION:g} s + 1 requests per run, "
        "zero latency; arrivals from the server's log. Achieved = (n - 1) / (last - first "
        "arrival); windows over = one-second windows [t, t + 1) starting at an arrival that "
        "hold more than the setting.",
        "",
        "| limiter | qps | requests | achieved | achieved % | max in 1 s | windows over "
        "| median gap ms | longest gap ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in LIMITERS:
        for qps in SETTINGS:
            a = results[name, qps]
            details.append(
                f"| {name} | {qps:g} | {a.count} | {a.rate:.2f} | {a.rate / qps:.2%} "
                f"| {a.max_in_window} | {a.windows_over} | {a.median_gap * 1e3:.1f} "
                f"| {a.max_gap * 1e3:.1f} |"
            )
    details += [
        "",
        "Evenly spaced starts at qps q are 1000/q ms apart (x 1.015 headroom for the SDK); a "
        "median gap on that spacing with a low achieved rate means some starts were pushed "
        "later (see the longest gap), a short median gap means bursts.",
    ]
    sdk = [results[SDK, qps] for qps in SETTINGS]
    measured = ", ".join(
        f"{a.rate / qps:.2%} / {a.windows_over} over" for qps, a in zip(SETTINGS, sdk, strict=True)
    )
    bucket = ", ".join(
        f"{results[BUCKET, qps].max_in_window / qps:.1f}x" for qps in SETTINGS
    )  # why RateLimiter exists: a full bucket bursts through, then refills
    return Outcome(
        key="5",
        title="Limiter accuracy (qps 5, 20, 50; 8 s each)",
        measured=(
            f"achieved / windows over: {measured}; {BUCKET} max in 1 s: {bucket} the setting"
        ),
        target=f"within {RATE_TOLERANCE:.0%} of the setting, 0 windows over",
        status=Outcome.verdict(sdk_ok),
        details=details,
        chart={
            "settings": list(SETTINGS),
            "achieved": {name: [results[name, q].rate / q for q in SETTINGS] for name in LIMITERS},
            "max_ratio": {
                name: [results[name, q].max_in_window / q for q in SETTINGS] for name in LIMITERS
            },
        },
    )
