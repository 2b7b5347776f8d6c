"""How long each endpoint's answers are kept: one number for all, or one per endpoint name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

from .._endpoints import DECLARED
from .._errors import InvalidParameterError
from .._params import finite_number

__all__ = ["DEFAULT", "ENDPOINTS", "MAX_TTL", "TTL", "TTLs"]

# The names a cache knows endpoints by (the client passes them to ttl_for and cache_key).
ENDPOINTS = tuple(DECLARED)
# In a mapping, this entry sets the time for the endpoints it does not name.
DEFAULT = "default"
MAX_TTL = 10 * 365 * 86_400.0  # ten years: far past any use, and within Redis's PX range

TTL: TypeAlias = "float | Mapping[str, float]"


def _seconds(value: Any, where: str) -> float:
    if not finite_number(value) or not 0 <= value <= MAX_TTL:
        raise InvalidParameterError(
            "ttl", f"{where}must be a finite number of seconds in [0, {MAX_TTL:.0f}], got {value!r}"
        )
    return float(value)


class TTLs:
    """Validated `ttl`: seconds for every endpoint, or a mapping endpoint name -> seconds.

    A mapping's missing names get its "default" entry, else `fallback` (the backend's default).
    0 means: do not cache that endpoint.
    """

    __slots__ = ("_by_endpoint", "_shown")

    def __init__(self, ttl: Any, *, fallback: float) -> None:
        if isinstance(ttl, Mapping):
            allowed = (*ENDPOINTS, DEFAULT)
            for name in ttl:
                if name not in allowed:
                    raise InvalidParameterError(
                        "ttl", f"unknown endpoint name {name!r}: use {', '.join(allowed)}"
                    )
            given = {name: _seconds(ttl[name], f"[{name!r}] ") for name in ttl}
            rest = given.get(DEFAULT, fallback)
            self._by_endpoint = {e: given.get(e, rest) for e in ENDPOINTS}
            self._shown = repr(given)
        else:
            seconds = _seconds(ttl, "")
            self._by_endpoint = dict.fromkeys(ENDPOINTS, seconds)
            self._shown = f"{seconds:g}"

    def __call__(self, endpoint: str) -> float:
        try:
            return self._by_endpoint[endpoint]
        except (KeyError, TypeError):
            raise InvalidParameterError(
                "endpoint", f"must be one of {', '.join(ENDPOINTS)}, got {endpoint!r}"
            ) from None

    def __repr__(self) -> str:
        return self._shown
