"""4. Decoding: one real 10-influencer list page, with drift, decoded into 100,000 items.

The body comes from the fake over HTTP: the first page of region=US whose records carry drift
(numbers sent as strings) that every decoder here can undo. Each decoder turns it into 10 records
10,000 times per measurement; the decoders take turns, order flipped every round, and each keeps
its best round.

Like with like: the SDK parses the four JSON-in-a-string fields while decoding (its records hold
the parsed histograms and categories), so every baseline parses them too, each with its own
tool, a malformed one reading as empty as in the SDK: the bare Struct and the wire-order Struct
with msgspec decoders after the page, json.loads and orjson.loads with themselves, pydantic with
a `Json[...]` field. `_check` asserts that the SDK, the bare Struct and pydantic agree on every
value. The judged page has no gaps (nulls, "" or fractions in numeric fields, bad histogram
buckets): the baselines would refuse those or need hand-written repairs. A page with gaps takes
the SDK's slow path (loose decode, repair, convert); its cost is shown after the table, against
the same SDK on the judged page and json.loads on the gap page, and not judged.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
import typing
from collections.abc import Callable
from typing import Any

import aiohttp
import msgspec
import orjson

from keyapi_async import Influencer, decode_records

from ._baselines import (
    CATEGORIES,
    HISTOGRAMS,
    pydantic_decoder,
    struct_with_fields_parsed,
    wire_ordered_decoder,
    with_fields_parsed,
)
from ._common import _FIELDS, LIST_PATH, Outcome, bare_decoder
from ._server import FakeServer

ITEMS = 100_000
ROUNDS = 7  # best of: this machine is a shared VM, and a slow round says nothing about decoding
TARGET_VS_SLOW = 3.0  # SDK at least this much faster than pydantic v2 and json.loads
TARGET_VS_BARE = 1.2  # SDK time / bare Struct time at most this
# A float field is Annotated with its finite bounds; unwrapped here to its number type.
_TYPES = {
    f.encode_name: typing.get_args(f.type)[0]
    if typing.get_origin(f.type) is typing.Annotated
    else f.type
    for f in msgspec.structs.fields(Influencer)
}
NUMERIC = {name for name, tp in _TYPES.items() if tp in (int, float)}
COUNTS = {name for name, tp in _TYPES.items() if tp is int}


async def _page(server: FakeServer, page: int) -> bytes:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    query = {"region": "US", "page_num": str(page), "page_size": "10"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.url + LIST_PATH, params=query, headers=headers) as resp,
    ):
        return await resp.read()


def _gap(record: dict[str, Any]) -> bool:
    """A null, "" or fraction in a numeric field, or a bad histogram bucket or category."""
    for name in NUMERIC:
        value = record.get(name, 0)
        if value is None or value == "":
            return True
        if name in COUNTS and isinstance(value, (float, str)) and not float(value).is_integer():
            return True
    for name in (*HISTOGRAMS, CATEGORIES):
        try:
            parsed = json.loads(record.get(name) or "null")
        except ValueError:
            continue  # malformed: empty for every decoder
        if isinstance(parsed, dict) and not all(type(v) is int for v in parsed.values()):
            return True
        if isinstance(parsed, list) and not all(isinstance(v, dict) for v in parsed):
            return True
    return False


async def _pages(server: FakeServer) -> tuple[int, bytes, int, bytes]:
    """The first full US page with a number sent as a string and no gaps (judged), and the
    first with gaps (the SDK's slow path, shown)."""
    judged: tuple[int, bytes] | None = None
    gaps: tuple[int, bytes] | None = None
    for page in range(1, 80):
        body = await _page(server, page)
        records = json.loads(body)["data"]
        if len(records) != 10:
            continue
        if any(_gap(r) for r in records):
            gaps = gaps or (page, body)
        elif any(isinstance(r.get(k), str) for r in records for k in NUMERIC):
            judged = judged or (page, body)
        if judged and gaps:
            return *judged, *gaps
    raise RuntimeError("no drifted page without gaps, or none with, in the first 79 US pages")


def _out_of_order(body: bytes) -> int:
    """Records whose known keys arrive in another order than the model declares."""
    rank = {name: n for n, (name, _, _) in enumerate(_FIELDS)}
    count = 0
    for record in json.loads(body)["data"]:
        ranks = [rank[k] for k in record if k in rank]
        count += ranks != sorted(ranks)
    return count


SDK, BARE, JSON, PYDANTIC = "keyapi_async", "bare msgspec Struct", "json.loads", "pydantic v2"
WIRE_ORDER = "bare Struct, fields in wire order (not judged)"


def _decoders(clean: bytes) -> dict[str, Callable[[bytes], Any]]:
    decoders: dict[str, Callable[[bytes], Any]] = {
        SDK: lambda body: decode_records(body, model=Influencer),
        BARE: struct_with_fields_parsed(bare_decoder()),
        "orjson.loads": with_fields_parsed(orjson.loads, orjson.loads),
        JSON: with_fields_parsed(json.loads, json.loads),
        PYDANTIC: pydantic_decoder(),
    }
    if _out_of_order(clean):  # only worth showing while the model's order differs
        decoders[WIRE_ORDER] = wire_ordered_decoder(clean)
    return decoders


def _count(decoded: Any) -> int:
    """Records in one decoded page, whatever shape the decoder returns."""
    if isinstance(decoded, list):  # the SDK: decode_records gives the records
        return len(decoded)
    if isinstance(decoded, dict):
        return len(decoded["data"])
    return len(decoded.data)


def _check(decoders: dict[str, Callable[[bytes], Any]], body: bytes) -> None:
    """Every decoder reads all 10 records, and the typed ones agree on every value."""
    for name, decode in decoders.items():
        assert _count(decode(body)) == 10, name
    sdk = [msgspec.structs.asdict(r) for r in decoders[SDK](body)]
    bare = [msgspec.structs.asdict(r) for r in decoders[BARE](body).data]
    assert sdk == bare
    assert any(r["influencer_video_publish_hour"] for r in bare)  # the parsing is real work
    assert [r.model_dump() for r in decoders[PYDANTIC](body).data] == bare
    if WIRE_ORDER in decoders:
        assert [msgspec.structs.asdict(r) for r in decoders[WIRE_ORDER](body).data] == bare


def _time(decode: Callable[[bytes], Any], body: bytes, repeats: int) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        decode(body)
    return time.perf_counter() - started


def _measure(
    decoders: dict[str, Callable[[bytes], Any]], body: bytes, *, check: bool = True
) -> dict[str, float]:
    """Best seconds per ITEMS items for each decoder, interleaved, order flipped every round."""
    if check:
        _check(decoders, body)
    best = dict.fromkeys(decoders, float("inf"))
    names = list(decoders)
    for round_no in range(ROUNDS):
        for name in names if round_no % 2 == 0 else names[::-1]:
            gc.collect()  # start every measurement from the same heap state
            best[name] = min(best[name], _time(decoders[name], body, ITEMS // 10))
    return best


def run() -> Outcome:
    with FakeServer(latency=0.0) as server:
        page, body, gap_page, gap_body = asyncio.run(_pages(server))
    with FakeServer(latency=0.0, drift=False) as server:
        clean = asyncio.run(_page(server, page))
    decoders = _decoders(clean)
    best = _measure(decoders, body)
    best_clean = _measure(decoders, clean)
    slow = {SDK: decoders[SDK], JSON: decoders[JSON]}
    assert _count(slow[SDK](gap_body)) == 10
    best_gaps = _measure(slow, gap_body, check=False)
    sdk = best[SDK]
    vs_pydantic = best[PYDANTIC] / sdk
    vs_json = best[JSON] / sdk
    vs_bare = sdk / best[BARE]
    ok = vs_pydantic >= TARGET_VS_SLOW and vs_json >= TARGET_VS_SLOW and vs_bare <= TARGET_VS_BARE
    details = [
        f"US page {page}: {len(body):,} bytes, 10 influencers with drift "
        f"({_out_of_order(body)} of them with keys out of declared order), decoded "
        f"{ITEMS // 10:,} times ({ITEMS:,} items) per measurement; best of {ROUNDS} "
        "interleaved rounds. For comparison, not judged: the same page served without drift "
        f"(`--no-drift`, {len(clean):,} bytes).",
        "",
        "| decoder | ms per 100k items | items/s | time / SDK time | no drift: ms | "
        "no drift: time / SDK |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in sorted(best, key=best.__getitem__):
        details.append(
            f"| {name} | {best[name] * 1e3:.0f} | {ITEMS / best[name]:,.0f} "
            f"| {best[name] / sdk:.2f} | {best_clean[name] * 1e3:.0f} "
            f"| {best_clean[name] / best_clean[SDK]:.2f} |"
        )
    details += [
        "",
        f"SDK vs pydantic v2: **{vs_pydantic:.2f}x** faster; vs json.loads: **{vs_json:.2f}x**; "
        f"SDK / bare Struct: **{vs_bare:.2f}**. Without drift: "
        f"{best_clean[PYDANTIC] / best_clean[SDK]:.2f}x pydantic, "
        f"{best_clean[JSON] / best_clean[SDK]:.2f}x json.loads, "
        f"{best_clean[SDK] / best_clean[BARE]:.2f}x bare Struct.",
        "",
        f'Not judged: US page {gap_page} has gaps (nulls, "" or fractions in numeric fields, '
        "bad histogram buckets), which only the SDK decodes whole; it takes the slow path "
        f"(loose decode, repair, convert): {best_gaps[SDK] * 1e3:.0f} ms per 100k items, "
        f"{best_gaps[SDK] / sdk:.2f}x the SDK's time on the judged page, "
        f"{best_gaps[JSON] / best_gaps[SDK]:.2f}x faster than json.loads (with the four fields "
        "parsed, nothing repaired) on the same page.",
    ]
    if not ok:
        bare_vs_pydantic = best[PYDANTIC] / best[BARE]
        details += [
            "",
            f"What bounds it: msgspec itself. The bare msgspec Struct, with no SDK code at all, "
            f"is {bare_vs_pydantic:.2f}x pydantic v2 on this page, and the SDK decodes in "
            f"{vs_bare:.2f}x the bare Struct's time. The page is string-heavy (avatar and cover "
            "URLs, signatures, and four fields of JSON inside strings, whose escaped quotes both "
            "parsers must undo), where pydantic-core's parser is closest to msgspec's; and each "
            "record's four embedded JSON texts are parsed by every decoder, pydantic-core in "
            "Rust, msgspec called once per field from Python (the SDK in its __post_init__). "
            "Keeping those four fields as msgspec.Raw measured about 8% faster, but every "
            "record would then keep its whole page's bytes alive, so the SDK does not do it.",
        ]
    return Outcome(
        key="4",
        title="Decoding (100k items from a drifted page)",
        measured=(  # two decimals: a ratio just under a target must not print as meeting it
            f"{vs_pydantic:.2f}x pydantic, {vs_json:.2f}x json.loads, "
            f"{vs_bare:.2f}x bare Struct time"
        ),
        target=f">= {TARGET_VS_SLOW:g}x pydantic & json.loads; <= {TARGET_VS_BARE}x bare Struct",
        status=Outcome.verdict(ok),
        details=details,
        chart={
            "items_per_s": {name: ITEMS / t for name, t in best.items()},
            "items_per_s_clean": {name: ITEMS / t for name, t in best_clean.items()},
        },
    )
