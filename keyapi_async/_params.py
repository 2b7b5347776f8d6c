"""Coded parameter values and the validators that turn arguments into query strings.

Each validator takes (name, value) and returns the wire string, or raises InvalidParameterError
naming the parameter and what is allowed. None never reaches a validator: unset means not sent.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import Any

from ._errors import InvalidParameterError

__all__ = [
    "InfluencerSortField",
    "RankField",
    "RankType",
    "SalesFlag",
    "SortType",
    "VideoSortField",
]

Validator = Callable[[str, Any], str]


class InfluencerSortField(IntEnum):
    """`influencer_sort_field_v2` of influencers.list; 0 is the API's default order."""

    DEFAULT = 0
    TOTAL_FOLLOWERS_CNT = 1
    TOTAL_FOLLOWERS_30D_CNT = 2
    TOTAL_POST_VIDEO_CNT = 3
    PER_VIEWS_AVG_CNT = 4
    INTERACTION_RATE = 5
    TOTAL_PRODUCT_CNT = 6


class VideoSortField(IntEnum):
    """`influencer_video_sort_field` of influencers.videos."""

    TOTAL_VIEWS_CNT = 1
    TOTAL_VIDEO_SALE_CNT = 2
    TOTAL_VIDEO_SALE_GMV_AMT = 3
    CREATE_TIME = 4


class SortType(IntEnum):
    """`sort_type`: sort order."""

    ASC = 0
    DESC = 1


class RankType(IntEnum):
    """`rank_type` of influencers.ranking."""

    DAY = 1
    WEEK = 2  # `date` must be a Monday
    MONTH = 3  # `date` must be the first of a month


class RankField(IntEnum):
    """`influencer_rank_field` of influencers.ranking."""

    TOTAL_FOLLOWERS_CNT = 1
    TOTAL_SALE_CNT = 2


class SalesFlag(IntEnum):
    """`sales_flag` filter of influencers.list: which kind of selling the influencer does."""

    NONE = 0
    VIDEO = 1
    LIVE = 2
    VIDEO_AND_LIVE = 3
    SHOWCASE = 4


MAX_INT = 2**63 - 1  # the API's integers are 64-bit: a larger one would only buy a 400
MAX_ID_DIGITS = 32  # TikTok IDs have 19 or so


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def finite_number(value: Any) -> bool:
    """An int or float that is finite as a float (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def shown(value: Any) -> str:
    """repr for an error message, short, and safe for ints too long to print."""
    if _is_int(value) and value.bit_length() > 200:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def text(name: str, value: Any) -> str:
    """A non-empty string; an empty one would be sent as an empty parameter, which the API
    asks clients not to do (docs README)."""
    if not isinstance(value, str):
        raise InvalidParameterError(name, f"must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidParameterError(name, "must be a non-empty string; leave it unset to omit it")
    return value


_DIGITS = re.compile(r"[0-9]+")


def numeric_id(name: str, value: Any) -> str:
    """A numeric user ID, as a string or an int."""
    if _is_int(value) and 0 <= value < 10**MAX_ID_DIGITS:
        return str(value)
    wire = value.strip() if isinstance(value, str) else ""
    if _DIGITS.fullmatch(wire) and len(wire) <= MAX_ID_DIGITS:
        return wire
    hint = " (a handle goes in unique_id/unique_ids)" if isinstance(value, str) else ""
    raise InvalidParameterError(name, f"must be a numeric user ID, got {shown(value)}{hint}")


_REGION = re.compile(r"[A-Za-z]{2}")


def region(name: str, value: Any) -> str:
    """A two-letter region code, sent upper-case ("us" is US)."""
    wire = text(name, value).strip()
    if not _REGION.fullmatch(wire):
        raise InvalidParameterError(
            name, f"region codes are two letters such as US or GB, got {shown(value)}"
        )
    return wire.upper()


def handle(name: str, value: Any) -> str:
    """A TikTok handle without the leading @; whitespace around it is dropped."""
    wire = text(name, value).strip().removeprefix("@")
    if not wire or "," in wire:
        raise InvalidParameterError(
            name, f"must be a handle like 'bible._.verse', got {shown(value)}"
        )
    if any(c.isspace() for c in wire):  # no handle has one: it could only buy an empty answer
        raise InvalidParameterError(
            name, f"a handle has no whitespace inside (like 'bible._.verse'), got {shown(value)}"
        )
    return wire


def whole(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """An int in lo..hi (hi None: no upper bound). Booleans are refused: True is not a count."""
    if not _is_int(value) or value < lo or (hi is not None and value > hi):
        unbounded = hi is None or (hi == MAX_INT and not (_is_int(value) and value > hi))
        allowed = f">= {lo}" if unbounded else f"{lo}..{'2**63-1' if hi == MAX_INT else hi}"
        raise InvalidParameterError(name, f"must be an integer {allowed}, got {shown(value)}")
    return int(value)


def integer(lo: int, hi: int = MAX_INT) -> Validator:
    """A query parameter that is an int in lo..hi."""

    def check(name: str, value: Any) -> str:
        return str(whole(name, value, lo, hi))

    return check


def code(enum: type[IntEnum]) -> Validator:
    """One of an IntEnum's values, given as the member or a plain int."""
    values = sorted(int(m) for m in enum)
    described = ", ".join(f"{int(m)}={m.name}" for m in enum)

    def check(name: str, value: Any) -> str:
        if not _is_int(value) or value not in values:
            raise InvalidParameterError(
                name, f"must be one of {described} ({enum.__name__}), got {shown(value)}"
            )
        return str(int(value))

    return check


def flag(name: str, value: Any) -> str:
    """0/1, also given as a bool."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if _is_int(value) and value in (0, 1):
        return str(value)
    raise InvalidParameterError(name, f"must be 0, 1 or a bool, got {shown(value)}")


def number(name: str, value: Any) -> str:
    """A finite number >= 0."""
    if _is_int(value) and 0 <= value <= MAX_INT:
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        return repr(value)
    raise InvalidParameterError(name, f"must be a finite number >= 0, got {shown(value)}")


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(name: str, value: Any) -> dt.date:
    """A datetime.date or a 'yyyy-MM-dd' string. A datetime is refused: its time would be lost."""
    if isinstance(value, dt.datetime):
        raise InvalidParameterError(name, "must be a datetime.date, not a datetime")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidParameterError(
        name, f"must be a date as 'yyyy-MM-dd' or datetime.date, got {shown(value)}"
    )


def date(name: str, value: Any) -> str:
    return parse_date(name, value).isoformat()


def id_list(name: str, value: Any, element: Validator) -> list[str]:
    """A list of IDs or one comma-separated string; order kept, duplicates sent once."""
    items: Iterable[Any]
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise InvalidParameterError(
            name, f"must be a list of IDs or a comma-separated string, got {type(value).__name__}"
        )
    out: dict[str, None] = {}
    for i, item in enumerate(items):
        wire = element(f"{name}[{i}]", item.strip() if isinstance(item, str) else item)
        out.setdefault(wire, None)
    return list(out)
