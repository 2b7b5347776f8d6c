"""The columns of an output: one per documented field of the endpoint's model, typed.

Read from the public model classes with msgspec.structs.fields, so a field added to a model is a
column of every format. `--fields a,b,c` picks and orders them (CSV, Parquet, JSON Lines).
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from ._errors import UsageError

__all__ = ["Column", "columns_of", "select"]

# What a column holds: int, float, text, bool, histogram (counts per bucket: a dict of ints), or
# json (a list of objects, e.g. most_category_product, whose keys the docs do not fix).
Kind = str


@dataclass(frozen=True)
class Column:
    name: str  # the documented field name
    kind: Kind


def _kind(field: msgspec.structs.FieldInfo) -> Kind:
    hint: Any = field.type
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    members = set(typing.get_args(hint)) - {type(None)} or {hint}
    for plain, kind in ((bool, "bool"), (int, "int"), (float, "float"), (str, "text")):
        if plain in members:
            return kind
    # The JSON-in-a-string fields are typed Any on the wire; their defaults tell them apart.
    return "histogram" if isinstance(field.default, dict) else "json"


def columns_of(model: type[Any]) -> list[Column]:
    return [Column(f.encode_name, _kind(f)) for f in msgspec.structs.fields(model)]


def select(model: type[Any], raw: str | None, *, command: str) -> list[Column]:
    """The columns `--fields` names, in its order; all of them when it is not given."""
    every = columns_of(model)
    if raw is None:
        return every
    by_name = {c.name: c for c in every}
    names = [name.strip() for name in raw.split(",")]
    if not any(names):
        raise UsageError(f"--fields is empty: name one or more of {_listed(by_name)}")
    picked: list[Column] = []
    for name in names:
        if name not in by_name:
            shown = repr(name) if name else "an empty name"
            raise UsageError(
                f"--fields: {shown} is not a field of {command}; valid: {_listed(by_name)}"
            )
        if by_name[name] in picked:
            raise UsageError(f"--fields names {name!r} twice")
        picked.append(by_name[name])
    return picked


def _listed(names: Sequence[str] | dict[str, Column]) -> str:
    return ", ".join(names)
