"""Repairs, field by field, a record the typed decoder refused, before msgspec converts it.

Only the slow path runs this (keyapi_async._decode), on pages that carry what msgspec's lax mode
does not take. The rules, for every model:
- null, and "" outside text fields, read as the field's default (the field is dropped);
- a fraction in a count rounds to the nearest int (ties to even), sent as a number or a string;
- an ID sent as a number becomes its exact string; a float cannot be exact past 2**53, nor
  be an ID with a fraction, so such a value is refused (Unfit names the field);
- a number in a text field becomes its str().
Anything else is left for msgspec to judge, so a value no rule explains still fails naming its
field.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, get_args, get_origin

import msgspec

__all__ = ["Repairer", "Unfit"]

_EXACT = 2**53  # below this every integer has its own float; from it on, neighbours share one
_INT_RANGE = 2**63
_KINDS = ("id", "text", "int", "float", "bool")


class Unfit(ValueError):
    """A value no repair can make right: the message names the field."""


def _kind(name: str, tp: Any) -> str | None:
    if get_origin(tp) is Annotated:  # a constrained number: its kind is the number's
        tp = get_args(tp)[0]
    if tp is str or tp == (str | None):  # the latter: null taken as "" by the model itself
        # docs: most_views_video is a video ID ("7376938080051170606"), the others end in _id
        return "id" if name.endswith("_id") or name == "most_views_video" else "text"
    if tp is bool:
        return "bool"
    if tp is int:
        return "int"
    if tp is float:
        return "float"
    return None  # parsed JSON, repaired by the model itself


class Repairer:
    """The repairs for one model's records."""

    __slots__ = ("_ids", "_ints", "_known", "_numbers", "_texts")

    def __init__(self, model: type[Any]) -> None:
        kinds = {f.encode_name: _kind(f.encode_name, f.type) for f in msgspec.structs.fields(model)}
        of = {kind: frozenset(n for n, k in kinds.items() if k == kind) for kind in _KINDS}
        self._ids, self._texts, self._ints = of["id"], of["text"], of["int"]
        self._numbers = of["int"] | of["float"] | of["bool"]  # where "" reads as the default
        self._known = frozenset(n for n, k in kinds.items() if k is not None)

    def repair(self, record: dict[str, Any]) -> None:
        """Rewrite `record` in place; raises Unfit for an ID that cannot be exact."""
        # Dispatch on the value's type first: most values need nothing and cost a set lookup.
        for name, value in list(record.items()):
            kind = type(value)
            if kind is str:
                if name in self._ints:
                    rounded = _rounded(value)
                    if rounded is not None:
                        record[name] = rounded
                        continue
                if value == "" and name in self._numbers:
                    del record[name]
            elif kind is int:
                if name in self._ids or name in self._texts:
                    record[name] = _text(name, value)
            elif kind is float:
                if name in self._ints:
                    rounded = _rounded(value)
                    if rounded is not None:
                        record[name] = rounded
                elif name in self._ids:
                    record[name] = _id_text(name, value)
                elif name in self._texts:
                    record[name] = _text(name, value)
            elif value is None and name in self._known:
                del record[name]


def _rounded(value: object) -> int | None:
    """The nearest int to a fraction, or None when `value` is not a finite fraction."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, float) or not math.isfinite(value) or value.is_integer():
        return None
    return round(value) if abs(value) < _INT_RANGE else None


def _text(name: str, value: int | float) -> str:
    try:
        return str(value)
    except ValueError:  # an int past Python's str() digit limit
        raise Unfit(f"`{name}`: a number too long to read as text") from None


def _id_text(name: str, value: int | float) -> str:
    if isinstance(value, int):
        return _text(name, value)  # exact, whatever its size
    if value.is_integer() and abs(value) < _EXACT:  # 2**53 itself may be 2**53 + 1 rounded
        return str(int(value))
    raise Unfit(
        f"`{name}` arrived as the float {value!r}: a float cannot hold this ID exactly "
        f"(only whole numbers below 2**53 can be), so the true ID is unknown"
    )
