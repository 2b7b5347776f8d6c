"""ID files (`--ids-file`): one ID per line, or a JSON object with a `user_id`, so the output of
one command (`influencers list`) is the input of the next; `-` is standard input."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path

import msgspec

from .. import InvalidParameterError
from ._errors import UsageError

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


async def read_ids_file(name: str) -> list[tuple[str, str]]:
    """(where, ID) for each line of the file ('-': stdin); blank lines and # comments skipped.
    A line is a bare ID or a JSON object with a `user_id` (e.g. `influencers list` output).
    UTF-8, with or without a BOM (Excel and Notepad write one)."""
    try:
        if name == "-":
            text = await _stdin_text()
        else:
            text = await asyncio.to_thread(Path(name).read_text, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"--ids-file {name} is not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise UsageError(f"cannot read --ids-file {name}: {exc.strerror or exc}") from None
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        raw = line.strip()
        if raw and not raw.startswith("#"):
            where = f"ids_file line {number}"
            out.append((where, ids_from_line(where, raw)))
    return out


async def _stdin_text() -> str:
    """All of standard input, read off the event loop: a read blocked on a pipe must not keep
    the loop (and its SIGINT/SIGTERM handlers) from running. A daemon thread, so a run stopped
    while its upstream still writes does not wait for it at exit."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes] = loop.create_future()

    def read() -> None:
        try:
            # os.read on the descriptor, not sys.stdin's buffer: a daemon thread blocked holding
            # the buffer's lock aborts the interpreter at exit.
            chunks = []
            while chunk := os.read(sys.stdin.fileno(), 1 << 16):
                chunks.append(chunk)
            data = b"".join(chunks)
        except BaseException as exc:
            loop.call_soon_threadsafe(_settle, done, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, done, data, None)

    threading.Thread(target=read, name="keyapi-async stdin", daemon=True).start()
    return (await done).decode("utf-8-sig")


def _settle(done: asyncio.Future[bytes], data: bytes | None, exc: BaseException | None) -> None:
    if done.done():
        return
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(data or b"")
