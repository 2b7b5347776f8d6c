"""Canonical records -> wire JSON bytes, drifting the way the real API does.

Every drift still decodes to the canonical value under these rules:
- int: may arrive as a numeric string ("183") or an integer-valued float (183.0);
- float: may arrive as a string ("0.13") or, when whole, as an int (73446);
- a field may be missing, but only when its canonical value is the type default
  (0, 0.0, "", False, None, {} / []);
- JSON-in-a-string fields are always strings; when the parsed value is empty they may
  be malformed ('{"15s":'), empty ("") or missing, otherwise possibly pretty-printed;
- video create_time / data_size / height / width / created_by_ai always arrive as
  strings ("1736000679", "false"), as the docs show;
- unknown extra fields may appear and keys may come in any order.
About 30% of records carry drift; the choice is seeded by the record's identity.
With drift off, records render clean: JSON numbers and bools, compact JSON strings.
"""

from __future__ import annotations

import random
from collections.abc import Collection

import msgspec

from ._people import Record

__all__ = ["DRIFT_SHARE", "Renderer", "canonical", "clean_value"]

DRIFT_SHARE = 0.3
_FIELD_SHARE = 0.35  # share of fields touched inside a drifted record
_EXTRAS: tuple[tuple[str, object], ...] = (
    ("new_metric", 5),
    ("x_debug", {"deep": [1, {"a": None}]}),
    ("trace_tag", "r-7f3a"),
    ("score_v3", 1.5),
    ("labels", []),
)
_BROKEN = {"json_dict": ('{"15s":', "", '{"2m":0,'), "json_list": ('[{"category_id":', "", "[")}
_DEFAULTS: dict[str, object] = {
    "int": 0,
    "float": 0.0,
    "str": "",
    "opt_str": None,
    "bool": False,
}
_encode = msgspec.json.encode


def _is_default(kind: str, value: object) -> bool:
    if kind in ("json_dict", "json_list"):
        return not value
    return value == _DEFAULTS[kind] and type(value) is type(_DEFAULTS[kind])


def clean_value(kind: str, value: object) -> object:
    """The documented wire form of a canonical value (JSON-in-string fields as strings)."""
    if kind in ("json_dict", "json_list"):
        return _encode(value).decode()
    return value


def _stringly(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _drift_value(rng: random.Random, kind: str, value: object) -> tuple[bool, object]:
    """(keep, wire value) for one drifted field."""
    if _is_default(kind, value) and rng.random() < 0.4:
        return False, None
    if kind == "int" and isinstance(value, int):
        return True, str(value) if rng.random() < 0.5 else float(value)
    if kind == "float" and isinstance(value, float):
        if value.is_integer() and rng.random() < 0.5:
            return True, int(value)
        return True, repr(value)
    if kind == "bool":
        return True, _stringly(value)
    if kind in _BROKEN:
        if not value:
            choices = _BROKEN[kind]
            return True, choices[int(rng.random() * len(choices))]
        return True, msgspec.json.format(_encode(value), indent=1).decode()
    return True, value


def _parse_embedded(kind: str, value: object) -> object:
    empty: object = {} if kind == "json_dict" else []
    if not isinstance(value, str):
        return empty
    try:
        parsed = msgspec.json.decode(value)
    except msgspec.DecodeError:
        return empty
    return parsed if isinstance(parsed, type(empty)) else empty


def canonical(kinds: dict[str, str], wire: dict[str, object]) -> Record:
    """Reference inverse of the drift rules above: a wire object -> its canonical record.

    Unknown fields are dropped. Raises ValueError on a value no rule explains.
    """
    out: Record = {}
    for name, kind in kinds.items():
        if name not in wire:
            out[name] = (
                {} if kind == "json_dict" else [] if kind == "json_list" else _DEFAULTS[kind]
            )
            continue
        value = wire[name]
        if kind == "int" and isinstance(value, (int, float, str)) and not isinstance(value, bool):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"{name}: {value!r} is not a whole number")
            out[name] = int(value)
        elif (
            kind == "float" and isinstance(value, (int, float, str)) and not isinstance(value, bool)
        ):
            out[name] = float(value)
        elif kind == "bool" and (isinstance(value, bool) or value in ("true", "false")):
            out[name] = value in (True, "true")
        elif kind in _BROKEN:
            out[name] = _parse_embedded(kind, value)
        elif isinstance(value, str) or (kind == "opt_str" and value is None):
            out[name] = value
        else:
            raise ValueError(f"{name}: unexpected {value!r} for {kind}")
    return out


class Renderer:
    """Renders and caches each record's JSON bytes (records must outlive the cache)."""

    def __init__(self, seed: int, *, drift: bool = True) -> None:
        self.seed = seed
        self.drift = drift
        self._cache: dict[int, tuple[Record, bytes]] = {}

    def render(
        self,
        record: Record,
        kinds: dict[str, str],
        ident: str,
        stringly: Collection[str] = (),
    ) -> bytes:
        hit = self._cache.get(id(record))
        if hit is not None and hit[0] is record:
            return hit[1]
        data = _encode(self.wire(record, kinds, ident, stringly))
        self._cache[id(record)] = (record, data)
        return data

    def wire(
        self,
        record: Record,
        kinds: dict[str, str],
        ident: str,
        stringly: Collection[str] = (),
    ) -> dict[str, object]:
        """The JSON object sent for a record (uncached)."""
        if not self.drift:
            return {name: clean_value(kind, record[name]) for name, kind in kinds.items()}
        rng = random.Random(f"{self.seed}|drift|{ident}")
        drifted = rng.random() < DRIFT_SHARE
        out: dict[str, object] = {}
        for name, kind in kinds.items():
            value = record[name]
            if name in stringly:
                # Always strings; drift may only drop a default value.
                if drifted and _is_default(kind, value) and rng.random() < _FIELD_SHARE:
                    continue
                out[name] = _stringly(value)
            elif drifted and rng.random() < _FIELD_SHARE:
                keep, wire = _drift_value(rng, kind, value)
                if keep:
                    out[name] = wire
            else:
                out[name] = clean_value(kind, value)
        if drifted:
            for name, extra in _EXTRAS:
                if rng.random() < 0.4:
                    out[name] = extra
            if rng.random() < 0.3:
                items = list(out.items())
                rng.shuffle(items)
                out = dict(items)
        return out
