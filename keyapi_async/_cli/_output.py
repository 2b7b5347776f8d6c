"""Where records go: the writer interface, the formats, and what each one needs.

`plan()` checks the output options before anything is sent (the format's extra, a file for
the binary formats, `--fields`); `Output.open()` then makes the writer for a run. Each format is
its own module: _text (jsonl, csv), _parquet, _sqlite_out.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ._columns import Column, select
from ._errors import UsageError
from ._text import TextWriter, csv_header, encode_page

__all__ = ["FORMATS", "Output", "Writer", "csv_header", "encode_page", "plan", "stored_user_ids"]

FORMATS = ("jsonl", "csv", "parquet", "sqlite")
_NEEDS_FILE = frozenset({"parquet", "sqlite"})
# format -> (module it imports, requirement, the extra that installs it)
_EXTRAS = {"parquet": ("pyarrow", "pyarrow>=14", "parquet")}


class Writer(Protocol):
    """One run's output. `write` gets each page once, in page order, after it is paid for."""

    # What the checkpoint records as the output's size (a resume refuses a smaller file).
    size: int
    # True: a page is on disk when write() returns, so the checkpoint may be saved after each
    # page. False: only when close() returns (Parquet: its footer), so it is saved then.
    durable: bool

    def write(self, page_num: int, records: Sequence[Any]) -> None: ...

    def finish(self) -> None:
        """The run is complete (called before close)."""
        ...

    def close(self) -> None:
        """On every way out, complete or not: what was written stays readable."""
        ...


@dataclass(frozen=True)
class Output:
    """The checked output options of one command."""

    fmt: str
    command: str  # "influencers list"
    model: type[Any]
    columns: list[Column]
    fields: list[str] | None  # --fields as given (None: every field), for the fingerprint
    query: Mapping[str, Any] = field(default_factory=dict)

    def open(
        self,
        path: Path | None,
        *,
        keep_bytes: int,
        keep_records: int,
        page_size: int | None,
    ) -> Writer:
        """The writer, continuing an output that holds `keep_records` records in `keep_bytes`
        bytes (0, 0: start empty)."""
        try:
            if self.fmt == "parquet":
                from ._parquet import ParquetWriter

                assert path is not None
                return ParquetWriter(path, self.columns, keep_records=keep_records)
            if self.fmt == "sqlite":
                from ._sqlite_out import SqliteWriter

                assert path is not None
                return SqliteWriter(
                    path, self.command, self.columns, self.query, page_size, self.model
                )
            names = [c.name for c in self.columns]
            return TextWriter(path, self.fmt, names, keep_bytes=keep_bytes)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def plan(
    fmt: str,
    fields: str | None,
    *,
    model: type[Any],
    command: str,
    path: Path | None,
    query: Mapping[str, Any],
) -> Output:
    """The output options checked; UsageError (exit 2, nothing sent) for what cannot work."""
    if fmt in _NEEDS_FILE and path is None:
        raise UsageError(f"--format {fmt} writes a file, not stdout: add --output FILE")
    if fmt == "sqlite" and fields is not None:
        raise UsageError(
            "--fields applies to jsonl, csv and parquet; an SQLite table keeps every field "
            "(select the columns in SQL)"
        )
    if fmt in _EXTRAS:
        module, requirement, extra = _EXTRAS[fmt]
        try:
            importlib.import_module(module)
        except ImportError:
            raise UsageError(
                f"--format {fmt} needs {module}: pip install '{requirement}' "
                f"(the keyapi-async[{extra}] extra)"
            ) from None
    columns = select(model, fields, command=command)
    picked = None if fields is None else [c.name for c in columns]
    return Output(fmt, command, model, columns, picked, dict(query))


def stored_user_ids(path: Path, fmt: str) -> list[str]:
    """The user IDs a Parquet output already holds, for detail's --resume. (An SQLite table
    needs none: a record written again updates its own row.)"""
    if fmt != "parquet":
        return []
    from ._parquet import read_user_ids

    return read_user_ids(path)
