"""The text writers: JSON Lines (the default) or CSV, to a file or stdout, one page per write.

A page's lines are encoded first and written with a single write of the whole chunk, then
flushed, so the output only ever grows by complete lines, and a checkpoint taken afterwards can
record the exact size. JSON Lines are the SDK records encoded by msgspec, with the documented
field names and the four JSON-in-a-string fields as the parsed objects (never JSON inside a JSON
string), so each line decodes to an equal record. CSV has the model's documented field names as
header, one row per record, a parsed histogram or category list as compact JSON text, null as an
empty cell. With `--fields`, both carry only the columns named, in that order.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import msgspec

__all__ = ["TextWriter", "csv_header", "encode_page"]

_encoder = msgspec.json.Encoder()


def csv_header(model: type[Any]) -> list[str]:
    return [f.encode_name for f in msgspec.structs.fields(model)]


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return _encoder.encode(value).decode()


def encode_page(
    records: Sequence[Any],
    fmt: str,
    header: list[str] | None,
    columns: list[str] | None = None,
) -> bytes:
    """One page as bytes: JSON Lines, or CSV rows (preceded by `header` when given).

    `columns`: the fields to write, in order (None: every field of the record's model).
    """
    if fmt == "jsonl":
        if not records:
            return b""
        if columns is None:
            return _encoder.encode_lines(records)
        return _encoder.encode_lines([{n: getattr(r, n) for n in columns} for r in records])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    for record in records:
        names = columns or header or csv_header(type(record))
        writer.writerow([_cell(getattr(record, name, None)) for name in names])
    return buffer.getvalue().encode()


class _Binary(Protocol):
    def write(self, data: bytes, /) -> Any: ...
    def flush(self) -> Any: ...


class TextWriter:
    """JSON Lines or CSV: a file (appended to, from a given size) or stdout."""

    durable = True  # each page is in the file once write() returns

    def __init__(self, path: Path | None, fmt: str, columns: list[str], *, keep_bytes: int) -> None:
        """Open `path` (None: stdout), keeping its first `keep_bytes` bytes (0: start empty)."""
        self.path = path
        self.fmt = fmt
        self._columns = columns
        self._stream: _Binary | None = None
        self._fd: int | None = None
        if path is None:
            self._stream = _stdout()
            self.size = 0
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
            try:
                os.ftruncate(fd, keep_bytes)
                os.lseek(fd, keep_bytes, os.SEEK_SET)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            self.size = keep_bytes
        self._header_pending = fmt == "csv" and self.size == 0

    def write(self, page_num: int, records: Sequence[Any]) -> None:
        """Append the records with one write of the whole chunk, flushed."""
        header = self._columns if self._header_pending else None
        if header is None and not records:
            return
        self._write(encode_page(records, self.fmt, header, self._columns))
        self._header_pending = False

    def finish(self) -> None:
        """An empty CSV still gets its header."""
        if self._header_pending:
            self.write(0, [])

    def _write(self, chunk: bytes) -> None:
        if self._fd is not None:
            view = memoryview(chunk)
            while view:  # a regular file takes it in one call; the loop is for the odd case
                written = os.write(self._fd, view)
                view = view[written:]
        else:
            assert self._stream is not None
            self._stream.write(chunk)
            self._stream.flush()
        self.size += len(chunk)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _stdout() -> _Binary:
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    return _TextAdapter() if buffer is None else buffer


class _TextAdapter:
    """stdout replaced by a text-only stream (an embedding app): write decoded text."""

    def write(self, data: bytes, /) -> None:
        sys.stdout.write(data.decode())

    def flush(self) -> None:
        sys.stdout.flush()
