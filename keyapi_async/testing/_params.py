"""Query-parameter parsing shared by the dataset queries and the server.

Empty strings count as unset: the real API should never receive them, but the
fake accepts them (and logs them) so a client sending them still gets data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

_INT = re.compile(r"-?[0-9]+")
_NUM = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ParamError(ValueError):
    """A bad or missing parameter; the server answers 400 with this message."""

    def __init__(self, name: str, *, missing: bool = False) -> None:
        self.param = name
        kind = "Missing required parameter" if missing else "Invalid parameter"
        super().__init__(f"{kind}: {name}")


def opt_str(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    return value if value else None


def req_str(params: Mapping[str, str], name: str) -> str:
    value = opt_str(params, name)
    if value is None:
        raise ParamError(name, missing=True)
    return value


def opt_int(
    params: Mapping[str, str], name: str, lo: int | None = None, hi: int | None = None
) -> int | None:
    raw = opt_str(params, name)
    if raw is None:
        return None
    if not _INT.fullmatch(raw):
        raise ParamError(name)
    value = int(raw)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ParamError(name)
    return value


def req_int(params: Mapping[str, str], name: str, lo: int, hi: int) -> int:
    value = opt_int(params, name, lo, hi)
    if value is None:
        raise ParamError(name, missing=True)
    return value


def opt_float(params: Mapping[str, str], name: str) -> float | None:
    raw = opt_str(params, name)
    if raw is None:
        return None
    if not _NUM.fullmatch(raw):
        raise ParamError(name)
    return float(raw)


def req_date(params: Mapping[str, str], name: str) -> str:
    raw = req_str(params, name)
    if not _DATE.fullmatch(raw):
        raise ParamError(name)
    try:
        dt.date.fromisoformat(raw)
    except ValueError:
        raise ParamError(name) from None
    return raw


def page(params: Mapping[str, str], max_page: int) -> tuple[int, int]:
    """(page_num, page_size), both required; page_size is 1..10."""
    num = req_int(params, "page_num", 1, max_page)
    size = req_int(params, "page_size", 1, 10)
    return num, size
