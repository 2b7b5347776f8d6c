"""Canonical records -> wire JSON bytes, drifting the way the real API does.

Every drift still decodes to the canonical value under these rules:
- int: may arrive as a numeric string ("183") or an integer-valued float (183.0);
- float: may arrive as a string ("0.13") or, when whole, as an int (73446);
- a field may be missing, but only when its canonical value is the type default
  (0, 0.0, "", False, {} / []);
- "opt_str" fields (seller_id) hold "" for none and send it as null, as the docs show;
- JSON-in-a-string fields are always strings; when the parsed value is empty they may
  be malformed ('{"15s":'), empty ("") or missing, otherwise possibly pretty-printed;
- gaps, in about a third of drifted records (a stream of their own, so the drift above is
  the same with or without them): a numeric field at its default sent as null or "", a count
  sent as a fraction that rounds to it (183.4, "182.6"), a histogram with a fractional count
  and extra bad buckets (null, text, a list), a category list with entries that are not
  objects; the SDK must drop exactly those (docs README: drift a client must survive);
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
_GAP_SHARE = 0.35  # share of drifted records with gaps
_GAP_FIELD_SHARE = 0.25  # share of their numeric and embedded fields touched
_BAD_BUCKETS: tuple[tuple[str, object], ...] = (("?", None), ("n/a", "many"), ("x", [1]))
_BAD_ENTRIES: tuple[object, ...] = (None, 5, "category", [])
_DEFAULTS: dict[str, object] = {
    "int": 0,
    "float": 0.0,
    "str": "",
    "opt_str": "",
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
    if kind == "opt_str" and value == "":
        return None  # docs: `seller_id: null`
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
    if kind == "opt_str":
        return True, clean_value(kind, value)
    if kind in _BROKEN:
        if not value:
            choices = _BROKEN[kind]
            return True, choices[int(rng.random() * len(choices))]
        return True, msgspec.json.format(_encode(value), indent=1).decode()
    return True, value


def _gap(rng: random.Random, kind: str, value: object) -> tuple[bool, object]:
    """(touched, wire value) for one field of a record with gaps."""
    if kind in ("int", "float") and _is_default(kind, value):
        return True, None if rng.random() < 0.5 else ""
    if kind == "int" and isinstance(value, int):
        offset = (0.1 + 0.3 * rng.random()) * (1 if rng.random() < 0.5 else -1)
        fraction = value + offset
        return True, fraction if rng.random() < 0.5 else repr(fraction)
    if kind == "json_dict" and isinstance(value, dict) and value:
        buckets: dict[str, object] = dict(value)
        first = next(iter(buckets))
        buckets[first] = value[first] + 0.2  # rounds back
        for key, bad in _BAD_BUCKETS:
            if rng.random() < 0.6:
                buckets[key] = bad
        return True, _encode(buckets).decode()
    if kind == "json_list" and isinstance(value, list) and value:
        entries = list(value)
        entries.insert(int(rng.random() * (len(entries) + 1)), rng.choice(_BAD_ENTRIES))
        return True, _encode(entries).decode()
    return False, None


def _count(name: str, value: object) -> int:
    """A count's canonical int: whole, or a gap's fraction rounded."""
    number = float(value) if isinstance(value, str) and not value.lstrip("-").isdigit() else value
    if isinstance(number, float):
        return round(number)
    if isinstance(number, (int, str)):
        return int(number)
    raise ValueError(f"{name}: unexpected {value!r} for int")


def _parse_embedded(kind: str, value: object) -> object:
    empty: object = {} if kind == "json_dict" else []
    if not isinstance(value, str):
        return empty
    try:
        parsed = msgspec.json.decode(value)
    except msgspec.DecodeError:
        return empty
    if isinstance(parsed, dict) and kind == "json_dict":
        return {  # bad buckets dropped, a fractional count rounded
            k: round(v)
            for k, v in parsed.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
    if isinstance(parsed, list) and kind == "json_list":
        return [entry for entry in parsed if isinstance(entry, dict)]
    return empty


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
        if kind in ("int", "float") and value in (None, ""):
            out[name] = _DEFAULTS[kind]  # a gap
        elif kind == "int" and isinstance(value, (int, float, str)) and not isinstance(value, bool):
            out[name] = _count(name, value)
        elif (
            kind == "float" and isinstance(value, (int, float, str)) and not isinstance(value, bool)
        ):
            out[name] = float(value)
        elif kind == "bool" and (isinstance(value, bool) or value in ("true", "false")):
            out[name] = value in (True, "true")
        elif kind in _BROKEN:
            out[name] = _parse_embedded(kind, value)
        elif isinstance(value, str):
            out[name] = value
        elif kind == "opt_str" and value is None:
            out[name] = ""
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
            self._gaps(out, record, kinds, ident, stringly)
            for name, extra in _EXTRAS:
                if rng.random() < 0.4:
                    out[name] = extra
            if rng.random() < 0.3:
                items = list(out.items())
                rng.shuffle(items)
                out = dict(items)
        return out

    def _gaps(
        self,
        out: dict[str, object],
        record: Record,
        kinds: dict[str, str],
        ident: str,
        stringly: Collection[str],
    ) -> None:
        rng = random.Random(f"{self.seed}|gaps|{ident}")
        if rng.random() >= _GAP_SHARE:
            return
        for name, kind in kinds.items():
            if name not in stringly and rng.random() < _GAP_FIELD_SHARE:
                touched, wire = _gap(rng, kind, record[name])
                if touched:
                    out[name] = wire
