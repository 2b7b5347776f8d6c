"""Model fields as the tests read them: a constrained float (`Annotated[float, Meta(...)]`,
which refuses "inf" and "nan") is a float."""

from __future__ import annotations

import typing
from typing import Any

import msgspec


def plain(tp: Any) -> Any:
    return typing.get_args(tp)[0] if typing.get_origin(tp) is typing.Annotated else tp


def field_types(model: type[Any]) -> dict[str, Any]:
    """Wire name -> type, constraints unwrapped."""
    return {f.encode_name: plain(f.type) for f in msgspec.structs.fields(model)}
