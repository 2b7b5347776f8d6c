"""ID files (`--ids-file`): one ID per line, or a JSON object with a `user_id`, so the output of
one command (`influencers list`) is the input of the next; `-` is standard input."""

from __future__ import annotations

import sys

import msgspec

from .. import InvalidParameterError

__all__ = ["ids_from_line", "read_ids_file"]


class _Line(msgspec.Struct):
    user_id: str | int | None = None


def ids_from_line(where: str, raw: str) -> str:
    """A bare ID, or the `user_id` of a JSON object (a line of an earlier command's output)."""
    if not raw.startswith("{"):
        return raw
    try:
        user_id = msgspec.json.decode(raw, type=_Line).user_id
    except msgspec.MsgspecError as exc:
        raise InvalidParameterError(where, f"is not a JSON object with a user_id ({exc})") from None
    if user_id is None or user_id == "":
        raise InvalidParameterError(where, "is a JSON object without a user_id")
    return str(user_id)


def read_ids_file(name: str) -> list[tuple[str, str]]:
    """(where, ID) for each line of the file ('-': stdin); blank lines and # comments skipped.
    A line is a bare ID or a JSON object with a `user_id` (e.g. `influencers list` output)."""
    if name == "-":
        text = sys.stdin.read()
    else:
        with open(name, encoding="utf-8") as handle:
            text = handle.read()
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        raw = line.strip()
        if raw and not raw.startswith("#"):
            where = f"ids_file line {number}"
            out.append((where, ids_from_line(where, raw)))
    return out
