"""Command-line options derived from the typed SDK methods.

Each keyword-only parameter of an `Influencers` method becomes one option: the documented name
with dashes (`min_total_followers_cnt` -> `--min-total-followers-cnt`). The string from the command
line is converted by the annotation; a string that does not convert is passed on unchanged, so the
SDK's own validation refuses it with its own message naming the parameter.
"""

from __future__ import annotations

import datetime as dt
import enum
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import PAGING_OPTIONS, Influencers, Paginator

__all__ = ["Param", "Signature", "sdk_default", "signature_of"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def sdk_default(func: Callable[..., Any], name: str) -> str:
    """The default of `func`'s parameter `name`, as the help shows it: the signature is the
    only place a default is stated."""
    value = inspect.signature(func).parameters[name].default
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Param:
    """One keyword-only parameter of an SDK method, as a command-line option."""

    name: str  # the documented name, e.g. min_total_followers_cnt
    kind: str  # text | int | float | date | flag | code | ids
    required: bool
    default: Any
    enum: type[enum.IntEnum] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def paging(self) -> bool:
        return self.name in PAGING_OPTIONS

    @property
    def metavar(self) -> str:
        return {
            "int": "N",
            "float": "X",
            "date": "YYYY-MM-DD",
            "flag": "0|1",
            "code": "CODE",
            "ids": "ID,ID,...",
        }.get(self.kind, "TEXT")

    def describe(self) -> str:
        parts = []
        if self.enum is not None:
            codes = ", ".join(f"{int(m)}={m.name.lower()}" for m in self.enum)
            parts.append(f"{codes} (the number or the name)")
        elif self.kind == "flag":
            parts.append("0 or 1 (also true/false)")
        elif self.kind == "ids":
            parts.append("comma-separated")
        if self.required:
            parts.append("required")
        return "; ".join(parts)

    def convert(self, raw: Any) -> Any:
        """The typed value for the SDK, or `raw` itself when it does not convert."""
        if not isinstance(raw, str):
            return raw  # a default from the signature
        text = raw.strip()
        if self.kind == "int":
            try:
                return int(text)
            except ValueError:
                return raw
        if self.kind == "float":
            try:
                return float(text)
            except ValueError:
                return raw
        if self.kind == "flag":
            low = text.lower()
            return 1 if low in _TRUE else 0 if low in _FALSE else raw
        if self.kind == "code" and self.enum is not None:
            return _code(self.enum, text, raw)
        return raw  # text, date ("yyyy-MM-dd" is what the SDK takes), ids (comma-separated)


def _code(codes: type[enum.IntEnum], text: str, raw: str) -> Any:
    try:
        number = int(text)
    except ValueError:
        member = codes.__members__.get(text.upper().replace("-", "_"))
        return raw if member is None else member
    try:
        return codes(number)
    except ValueError:
        return number  # out of range: the SDK names the parameter and the allowed codes


@dataclass(frozen=True)
class Signature:
    """What the CLI needs from one SDK method."""

    method: str
    summary: str
    params: tuple[Param, ...]
    model: type[Any]
    paginated: bool

    @property
    def query_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if not p.paging)

    @property
    def paging_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.paging)


def _kind(hint: Any) -> tuple[str, type[enum.IntEnum] | None]:
    members = [a for a in (typing.get_args(hint) or (hint,)) if a is not type(None)]
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        members = [hint]
    for member in members:
        if isinstance(member, type) and issubclass(member, enum.IntEnum):
            return "code", member
    plain = {m for m in members if isinstance(m, type)}
    if any(typing.get_origin(m) in (Sequence, list, tuple) for m in members):
        return "ids", None
    if dt.date in plain:
        return "date", None
    if bool in plain:
        return "flag", None
    if float in plain:
        return "float", None
    if int in plain and str not in plain:
        return "int", None
    return "text", None


def signature_of(method: str) -> Signature:
    """Read the method's keyword-only parameters and record type from its annotations."""
    func = getattr(Influencers, method)
    hints = typing.get_type_hints(func)
    params = []
    for name, parameter in inspect.signature(func).parameters.items():
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        kind, codes = _kind(hints[name])
        required = parameter.default is inspect.Parameter.empty
        default = None if required else parameter.default
        params.append(Param(name, kind, required, default, codes))
    returned = hints["return"]
    origin = typing.get_origin(returned)
    (model,) = typing.get_args(returned)
    summary = (inspect.getdoc(func) or "").split("\n", 1)[0]
    return Signature(method, summary, tuple(params), model, origin is Paginator)
