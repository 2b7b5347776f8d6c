"""The one line a finished pull ends with, on stderr, terminal or not (`--quiet`: none)."""

from __future__ import annotations

from typing import Any

from .. import Usage
from ._errors import PROG

__all__ = ["summary"]


def _count(n: int, noun: str, plural: str = "") -> str:
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def summary(
    usage: Usage,
    *,
    pages: int,
    records: int,
    total: int,
    where: str,
    region: Any,
    elapsed: float,
) -> str:
    """`pages` and `records` are this run's; `total` what the output holds from all runs."""
    head = f"{_count(records, 'record')} ({_count(pages, 'page')}) -> {where}"
    if total != records:
        head += f" ({total:,} in all with the earlier runs)"
    if total == 0:
        head = f"0 records: nothing matched ({_count(pages, 'page')}) -> {where}"
        if region is not None:
            head += (
                f"; is region {str(region).strip().upper()} right? region codes are two "
                "upper-case letters such as US"
            )
    figures = [
        _count(usage.credits, "credit"),
        _count(usage.retries, "retry", "retries"),
        f"{usage.rate_limited:,} 429s",
        _count(usage.cache_hits, "cache hit"),
        f"{elapsed:.1f}s",
    ]
    saved = usage.cache_hits + usage.coalesced  # answers that cost no request
    if saved:
        figures.insert(1, f"{_count(saved, 'credit')} saved")
    return f"{PROG}: {head} | {', '.join(figures)}"
