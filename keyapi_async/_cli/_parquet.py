"""`--format parquet` (extra `parquet`: pyarrow): one typed column per documented field.

Types: counts int64, amounts and rates float64, IDs and text string, flags like created_by_ai
bool. The three histograms are MAP<string, int64> in the order the API sent the buckets (DuckDB:
`influencer_video_publish_hour['20']`); most_category_product is JSON text, since the docs do not
fix the keys of its entries (DuckDB: `most_category_product::JSON`).

Memory stays bounded: records are buffered up to ROW_GROUP_ROWS and written as one row group,
so a 1-million-row pull holds one row group at a time. The file is written as FILE.part and
renamed to FILE when closed (a Parquet file is only readable once its footer is written), so FILE
is always a whole Parquet file: the previous run's until this one closes. Closing happens on every
way out (the end, an error, Ctrl-C), so paid pages are kept; only a SIGKILL loses the pages since
the last close, and the checkpoint, saved when FILE is replaced, then still matches FILE.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from ._columns import Column
from ._errors import UsageError

__all__ = ["ROW_GROUP_ROWS", "ParquetWriter", "read_user_ids", "schema_of"]

ROW_GROUP_ROWS = 10_000  # records per row group: ~1,000 pages, a few MB of records in memory
_encoder = msgspec.json.Encoder()


def _arrow_type(kind: str) -> Any:
    return {
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "histogram": pa.map_(pa.string(), pa.int64()),
    }.get(kind, pa.string())  # text, and json as text


def schema_of(columns: Sequence[Column]) -> Any:
    return pa.schema([pa.field(c.name, _arrow_type(c.kind), nullable=False) for c in columns])


def _values(records: Sequence[Any], column: Column) -> list[Any]:
    name = column.name
    if column.kind == "histogram":
        return [list(getattr(r, name).items()) for r in records]
    if column.kind == "json":
        return [_encoder.encode(getattr(r, name)).decode() for r in records]
    return [getattr(r, name) for r in records]


class ParquetWriter:
    size = 0  # FILE's byte size says nothing until it is closed: the record count is checked
    durable = False  # a page is in FILE only once close() has renamed FILE.part over it

    def __init__(self, path: Path, columns: Sequence[Column], *, keep_records: int) -> None:
        self._path = path
        self._part = path.with_name(path.name + ".part")
        self._columns = list(columns)
        self._schema = schema_of(columns)
        self._pages: list[Any] = []  # the row group being gathered, a table per page
        self._rows = 0
        self._closed = False
        self._writer: Any = pq.ParquetWriter(self._part, self._schema)
        try:
            if keep_records:
                self._copy(keep_records)
        except BaseException:
            self._writer.close()
            self._part.unlink(missing_ok=True)
            raise

    def _copy(self, keep: int) -> None:
        """Resuming: the first `keep` records of FILE, one row group at a time."""
        try:
            source = pq.ParquetFile(self._path)
        except (OSError, pa.ArrowException) as exc:
            raise UsageError(
                f"cannot resume {self._path}: not a readable Parquet file ({exc}); delete "
                "the checkpoint to start over"
            ) from None
        with source:
            if source.metadata.num_rows < keep or source.schema_arrow != self._schema:
                raise UsageError(
                    f"{self._path} does not hold the {keep} records its checkpoint records: "
                    "delete the checkpoint to start over"
                )
            for group in range(source.num_row_groups):
                table = source.read_row_group(group)
                self._writer.write_table(table.slice(0, keep))
                keep -= min(keep, table.num_rows)
                if not keep:
                    break

    def write(self, page_num: int, records: Sequence[Any]) -> None:
        # Converted now, page by page: a value Parquet cannot hold (a count past int64) fails
        # this page alone, before it is counted, and the pages before it stay buffered.
        if not records:
            return
        try:
            arrays = [
                pa.array(_values(records, c), type=_arrow_type(c.kind)) for c in self._columns
            ]
        except (pa.ArrowException, OverflowError) as exc:
            raise ValueError(f"page {page_num} does not fit the Parquet columns: {exc}") from None
        self._pages.append(pa.Table.from_arrays(arrays, schema=self._schema))
        self._rows += len(records)
        if self._rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(pa.concat_tables(self._pages), row_group_size=self._rows)
        self._pages = []
        self._rows = 0

    def finish(self) -> None:
        pass  # close() writes the footer, complete or not

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._flush()
        finally:
            self._writer.close()
        os.replace(self._part, self._path)


def read_user_ids(path: Path) -> list[str]:
    """The user_id column of a Parquet output ([] when it has none)."""
    source = pq.ParquetFile(path)
    with source:
        if "user_id" not in source.schema_arrow.names:
            return []
        column = source.read(columns=["user_id"]).column("user_id")
    return [value for value in column.to_pylist() if value]
