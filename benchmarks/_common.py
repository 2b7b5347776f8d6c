"""What every benchmark shares: its outcome record, statistics on the server's log, the models."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from keyapi_async import Influencer

Status = Literal["PASS", "MISS", "SKIPPED", "ERROR"]


@dataclass
class Outcome:
    """One benchmark's result: a headline for the summary table, details for results.md."""

    key: str
    title: str
    measured: str
    target: str
    status: Status
    details: list[str] = field(default_factory=list)  # markdown lines
    chart: dict[str, Any] = field(default_factory=dict)  # figures for the PNG

    @staticmethod
    def verdict(ok: bool) -> Status:
        return "PASS" if ok else "MISS"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclass(frozen=True)
class Arrivals:
    """Rate and burstiness of a run, from the server's own arrival times."""

    count: int
    rate: float  # (count - 1) / (last - first)
    max_in_window: int  # most arrivals in any half-open one-second window
    windows_over: int  # windows [t, t + 1) starting at an arrival that hold more than `limit`
    rejected: int  # 429s (HTTP status or envelope code): over the server's limit
    median_gap: float  # seconds between consecutive arrivals: even spacing vs drift...
    max_gap: float  # ...and stalls

    @classmethod
    def of(cls, entries: Sequence[Any], limit: float | None = None) -> Arrivals:
        times = sorted(e.arrived for e in entries)
        counts = _window_counts(times)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        return cls(
            count=len(times),
            rate=(len(times) - 1) / span if span > 0 else 0.0,
            max_in_window=max(counts, default=0),
            windows_over=0 if limit is None else sum(c > limit for c in counts),
            rejected=sum(e.status == 429 or e.code == 429 for e in entries),
            median_gap=median(gaps) if gaps else 0.0,
            max_gap=max(gaps, default=0.0),
        )


def _window_counts(times: Sequence[float], window: float = 1.0) -> list[int]:
    """For each arrival t, how many arrivals fall in [t, t + window)."""
    counts = []
    hi = 0
    for lo, t in enumerate(times):
        while hi < len(times) and times[hi] - t < window:
            hi += 1
        counts.append(hi - lo)
    return counts


# --- the same fields as the SDK's Influencer, without the SDK ---------------------------------
# Built from the SDK model's own field list so the comparison can never drift from it.

_FIELDS = [(f.encode_name, f.type, f.default) for f in msgspec.structs.fields(Influencer)]

BareInfluencer: Any = msgspec.defstruct("BareInfluencer", _FIELDS)


class BareEnvelope(msgspec.Struct):
    """The API envelope as a plain Struct: the floor the SDK is measured against."""

    code: int
    message: str | None = ""
    data: list[BareInfluencer] | None = None  # built at run time
    requestId: str | None = None


def bare_decoder() -> msgspec.json.Decoder[BareEnvelope]:
    # strict=False: drifted numbers-as-strings decode, as in the SDK.
    return msgspec.json.Decoder(BareEnvelope, strict=False)


LIST_PATH = "/v1/tiktok/influencer/list/analytics"
