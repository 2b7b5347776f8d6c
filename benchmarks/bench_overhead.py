"""1. SDK overhead: sequential pages at zero latency, SDK against a bare aiohttp + msgspec loop.

Every batch sends the same 125 requests (list region=US, pages 1..125, page_size 10, the SDK's
headers) to a server in another process and decodes the bodies. Batches take turns and the order
flips every round (ABBA), so drift in the machine's speed cancels; each side's figure is its
median per-page time over the rounds. The same runs happen on a standard asyncio loop and on
uvloop, both loops kept alive side by side.

Both sides do the same work: the floor decodes with a bare msgspec Struct and parses the four
JSON-in-a-string fields, as the SDK does (clean pages: the bare Struct cannot read the drift).

A third, unjudged side is the floor on a session carrying one no-op aiohttp TraceConfig: what
aiohttp itself charges per request once any trace hook is installed (the SDK paces from one).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import pstats
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiohttp

from keyapi_async import KeyAPI, __version__

from ._baselines import struct_with_fields_parsed
from ._common import LIST_PATH, BareEnvelope, Outcome, bare_decoder, median
from ._server import FakeServer

TARGET = 1.10
ROUNDS = 16  # many short batches: a burst of load from elsewhere spoils few of them
PAGES = 125  # per batch; US has 311 full pages in the 5,000-influencer dataset
KINDS = ("sdk", "floor", "traced")

try:
    import uvloop
except ImportError:  # the speedups extra is optional (and absent on Windows)
    uvloop = None  # type: ignore[assignment]


@dataclass
class _Side:
    """One event loop's client and sessions, created inside that loop, and its timings."""

    client: KeyAPI
    session: aiohttp.ClientSession
    traced_session: aiohttp.ClientSession
    url: str
    headers: dict[str, str]
    # The same work as the SDK: decode, then parse the four JSON-in-a-string fields.
    decode = staticmethod(struct_with_fields_parsed(bare_decoder()))
    times: dict[str, list[float]] = field(default_factory=dict)  # kind -> s/page per round


_Batch = Callable[[_Side, int], Awaitable[int]]
_Key = tuple[str, int, str]  # pstats: (filename, line, function)
_Row = tuple[int, int, float, float, Any]  # pstats: calls, primitive calls, self, cumulative


async def _no_op(session: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
    pass


def _trace() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(_no_op)
    trace.on_connection_reuseconn.append(_no_op)
    return trace


async def _open(server: FakeServer) -> _Side:
    headers = {
        "Authorization": f"Bearer {server.api_key}",
        "Accept": "application/json",
        "User-Agent": f"keyapi-async/{__version__}",  # what the SDK sends
    }
    side = _Side(
        KeyAPI(api_key=server.api_key, base_url=server.url, qps=None),
        aiohttp.ClientSession(),
        aiohttp.ClientSession(trace_configs=[_trace()]),
        server.url + LIST_PATH,
        headers,
    )
    for kind in KINDS:
        await BATCHES[kind](side, 20)  # warm: connections, caches on both ends
    return side


async def _close(side: _Side) -> None:
    await side.client.aclose()
    await side.session.close()
    await side.traced_session.close()


async def _sdk_batch(side: _Side, pages: int) -> int:
    items = 0
    async for page in side.client.influencers.list(region="US", max_pages=pages).pages():
        items += len(page.items)
    return items


async def _bare(session: aiohttp.ClientSession, side: _Side, pages: int) -> int:
    items = 0
    for n in range(1, pages + 1):
        query = {"region": "US", "page_num": str(n), "page_size": "10"}
        async with session.get(side.url, params=query, headers=side.headers) as resp:
            body = await resp.read()
        envelope: BareEnvelope = side.decode(body)
        items += len(envelope.data or ())
    return items


async def _floor_batch(side: _Side, pages: int) -> int:
    return await _bare(side.session, side, pages)


async def _traced_batch(side: _Side, pages: int) -> int:
    return await _bare(side.traced_session, side, pages)


BATCHES: dict[str, _Batch] = {"sdk": _sdk_batch, "floor": _floor_batch, "traced": _traced_batch}


async def _timed(batch: _Batch, side: _Side) -> float:
    started = time.perf_counter()
    items = await batch(side, PAGES)
    elapsed = time.perf_counter() - started
    assert items == PAGES * 10, items  # every side really fetched and decoded every page
    return elapsed / PAGES


@contextlib.contextmanager
def _loops() -> Iterator[dict[str, asyncio.AbstractEventLoop]]:
    """A standard loop and (if installed) a uvloop, taking turns in this thread.

    Plain loops driven by run_until_complete: asyncio.Runner would do, but needs Python 3.11.
    """
    loops = {"asyncio": asyncio.new_event_loop()}
    if uvloop is not None:
        loops["uvloop"] = uvloop.new_event_loop()
    try:
        yield loops
    finally:
        for loop in loops.values():
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


# --- profile, for a missed target --------------------------------------------------------------


def _bucket(filename: str, name: str) -> str:
    """Where a profiled function's own time belongs, at the level that explains a gap."""
    if filename == "~":
        if "poll" in name or "select" in name:
            return "waiting for the server (epoll)"
        if "msgspec" in name:
            return "msgspec decoding"
        return "other C functions (sockets, ...)"
    for package in ("keyapi_async", "backoff", "aiohttp", "yarl", "multidict", "asyncio"):
        if f"/{package}/" in filename or f"\\{package}\\" in filename:
            return package
    if filename.endswith("contextlib.py"):
        return "contextlib"
    return "other Python"


def _profiled(loop: asyncio.AbstractEventLoop, side: _Side, batch: _Batch) -> dict[_Key, _Row]:
    loop.run_until_complete(batch(side, PAGES))  # settle: profile a warm batch
    profiler = cProfile.Profile()
    profiler.enable()
    loop.run_until_complete(batch(side, PAGES))
    profiler.disable()
    stats: dict[_Key, _Row] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    return stats


def _profile(loop: asyncio.AbstractEventLoop, side: _Side) -> list[str]:
    """Where the SDK's extra time goes, from cProfile (which inflates Python-heavy code)."""
    sdk, floor = _profiled(loop, side, _sdk_batch), _profiled(loop, side, _floor_batch)
    own: dict[str, list[float]] = {}
    for column, stats in enumerate((sdk, floor)):
        for (filename, _, name), row in stats.items():
            own.setdefault(_bucket(filename, name), [0.0, 0.0])[column] += row[2] / PAGES
    lines = [
        f"Where the time goes: cProfile of one warm {PAGES}-page batch per side (asyncio loop). "
        "Profiling slows Python code several times over, so compare rows, not totals. Self time "
        "per page:",
        "",
        "| where | SDK µs/page | floor µs/page | SDK - floor |",
        "| --- | ---: | ---: | ---: |",
    ]
    for bucket, (a, b) in sorted(own.items(), key=lambda kv: kv[1][1] - kv[1][0]):
        lines.append(f"| {bucket} | {a * 1e6:.1f} | {b * 1e6:.1f} | {(a - b) * 1e6:+.1f} |")
    top = sorted(
        (
            (row[3] / PAGES, f"`{filename.rsplit('keyapi_async', 1)[1][1:]}:{line} {name}`")
            for (filename, line, name), row in sdk.items()
            if _bucket(filename, name) == "keyapi_async"
        ),
        reverse=True,
    )
    lines += [
        "",
        "Top SDK functions by cumulative time (callees included, aiohttp's work among them):",
        "",
        "| function | cumulative µs/page |",
        "| --- | ---: |",
    ]
    lines += [f"| {label} | {cum * 1e6:.1f} |" for cum, label in top[:8]]
    return lines


def run() -> Outcome:
    # Clean pages: the floor is a bare Struct, which cannot read the drift the SDK repairs.
    with FakeServer(latency=0.0, drift=False) as server, _loops() as loops:
        sides = {name: loop.run_until_complete(_open(server)) for name, loop in loops.items()}
        plan = [(name, kind) for name in loops for kind in KINDS]
        for round_no in range(ROUNDS):
            for name, kind in plan if round_no % 2 == 0 else plan[::-1]:
                side = sides[name]
                took = loops[name].run_until_complete(_timed(BATCHES[kind], side))
                side.times.setdefault(kind, []).append(took)
        per_page = {
            name: {kind: median(side.times[kind]) for kind in KINDS} for name, side in sides.items()
        }
        ratio = {name: t["sdk"] / t["floor"] for name, t in per_page.items()}
        paired = {  # each round's SDK batch against the floor batch run beside it
            name: median([a / b for a, b in zip(s.times["sdk"], s.times["floor"], strict=True)])
            for name, s in sides.items()
        }
        ok = ratio["asyncio"] <= TARGET
        profile = [] if ok else _profile(loops["asyncio"], sides["asyncio"])
        for name, loop in loops.items():
            loop.run_until_complete(_close(sides[name]))

    details = [
        f"{ROUNDS} rounds x {PAGES} pages per side and loop ({ROUNDS * PAGES:,} pages each), "
        "sequential, zero latency, server in its own process; median per-page time. "
        "Not judged: the floor on a session with one no-op TraceConfig.",
        "",
        "| loop | SDK µs/page | floor µs/page | SDK/floor | median of paired rounds | "
        "SDK - floor µs | floor + TraceConfig µs/page | TraceConfig cost µs |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, t in per_page.items():
        details.append(
            f"| {name} | {t['sdk'] * 1e6:.0f} | {t['floor'] * 1e6:.0f} | {ratio[name]:.3f} "
            f"| {paired[name]:.3f} | {(t['sdk'] - t['floor']) * 1e6:.0f} "
            f"| {t['traced'] * 1e6:.0f} | {(t['traced'] - t['floor']) * 1e6:.0f} |"
        )
    if "uvloop" in sides:
        speedup = per_page["uvloop"]["sdk"] / per_page["asyncio"]["sdk"]
        details += ["", f"SDK on uvloop / SDK on asyncio: **{speedup:.3f}** per page."]
        extra = f"; uvloop: {ratio['uvloop']:.3f}, SDK-uvloop/SDK-asyncio {speedup:.3f}"
    else:
        details += ["", "uvloop is not installed: no uvloop figures."]
        extra = ""
    if profile:
        details += ["", *profile]
    return Outcome(
        key="1",
        title="SDK overhead (2,000 sequential pages, 0 ms)",
        measured=f"SDK/floor {ratio['asyncio']:.3f}{extra}",
        target=f"SDK/floor <= {TARGET:.2f}",
        status=Outcome.verdict(ok),
        details=details,
        chart={"per_page": per_page, "ratio": ratio},
    )
