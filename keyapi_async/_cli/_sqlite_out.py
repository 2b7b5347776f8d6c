"""`--format sqlite` (stdlib sqlite3): one table per endpoint, upserted on the natural key.

Tables: influencers_list, influencers_detail, influencers_videos, influencers_ranking,
influencers_livestreams, one typed column per documented field (INTEGER, REAL, TEXT; flags such
as created_by_ai 0/1; the histograms and most_category_product as JSON text, for SQLite's json
functions). A record is keyed by user_id, video_id or room_id; a ranking row by the ranking it
belongs to and its place in it (the rank_* columns, below). A record already in the table is
updated in place, so reruns and overlapping pulls never duplicate a row.

Each page is one transaction, committed before the checkpoint is saved: the table never holds
part of a page, and a resumed or repeated page only rewrites the same rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from .. import Influencer, InfluencerDetail, Livestream, RankedInfluencer, Video
from ._columns import Column
from ._errors import UsageError

__all__ = ["RANKING_KEY", "SqliteWriter"]

_SQL_TYPE = {"int": "INTEGER", "bool": "INTEGER", "float": "REAL"}  # else TEXT
_encoder = msgspec.json.Encoder()

# The ranking rows carry no rank (docs: influencer-ranking-analytics.md): a row's place is its
# position in the pages, and a ranking is named by all its query parameters. Two rankings that
# differ only in rank field or a filter hold different influencers at the same position.
RANKING_KEY: tuple[Column, ...] = (
    Column("rank_date", "text"),
    Column("rank_region", "text"),
    Column("rank_type", "int"),
    Column("rank_field", "int"),
    Column("rank_category", "text"),  # influencer_category_name, "" for none
    Column("rank_product_category", "text"),  # product_category_id, "" for none
    Column("rank_position", "int"),  # 1 for the first row of page 1
)
_KEYS: dict[type[Any], tuple[str, ...]] = {
    Influencer: ("user_id",),
    InfluencerDetail: ("user_id",),
    Video: ("video_id",),
    Livestream: ("room_id",),
    RankedInfluencer: tuple(c.name for c in RANKING_KEY),
}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _cell(value: Any, kind: str) -> Any:
    if kind in ("histogram", "json"):
        return _encoder.encode(value).decode()
    return value


def _ranking(query: Mapping[str, Any]) -> tuple[Any, ...]:
    """The ranking's part of the key, as the SDK sends it ("us" is US); "" for no filter (a
    NULL in a primary key would never conflict, so a rerun would add rows)."""
    return (
        str(query["date"]).strip(),
        str(query["region"]).strip().upper(),
        int(query["rank_type"]),
        int(query["influencer_rank_field"]),
        str(query.get("influencer_category_name") or ""),
        str(query.get("product_category_id") or ""),
    )


class SqliteWriter:
    size = 0  # rows are upserted: the file's size says nothing about what a rerun needs
    durable = True  # a page is committed when write() returns

    def __init__(
        self,
        path: Path,
        command: str,
        columns: Sequence[Column],
        query: Mapping[str, Any],
        page_size: int | None,
        model: type[Any],
    ) -> None:
        key = _KEYS.get(model)
        if key is None:
            raise UsageError(f"--format sqlite does not know the key of {command}'s records")
        ranked = model is RankedInfluencer
        self._columns = list(columns)
        self._ranking = _ranking(query) if ranked else None
        self._page_size = page_size or 0
        every = [*RANKING_KEY, *columns] if ranked else list(columns)
        table = _quoted(command.replace(" ", "_"))
        names = ", ".join(_quoted(c.name) for c in every)
        updates = ", ".join(
            f"{_quoted(c.name)} = excluded.{_quoted(c.name)}" for c in every if c.name not in key
        )
        self._insert = (
            f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(every))}) "
            f"ON CONFLICT ({', '.join(map(_quoted, key))}) DO UPDATE SET {updates}"
        )
        try:
            self._db = sqlite3.connect(path, timeout=30)  # another pull may be writing
        except sqlite3.Error as exc:
            raise UsageError(f"cannot open {path} as SQLite: {exc}") from None
        try:
            self._create(table, every, key)
        except sqlite3.Error as exc:
            self._db.close()
            raise UsageError(f"cannot write {path} as SQLite: {exc}") from None

    def _create(self, table: str, every: Sequence[Column], key: tuple[str, ...]) -> None:
        typed = [
            f"{_quoted(c.name)} {_SQL_TYPE.get(c.kind, 'TEXT')}"
            + (" NOT NULL" if c.name in key else "")
            for c in every
        ]
        with self._db:
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} "
                f"({', '.join(typed)}, PRIMARY KEY ({', '.join(map(_quoted, key))}))"
            )
            # A table made by an older version: add the fields it lacks.
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for column, declared in zip(every, typed, strict=True):
                if column.name not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {declared}")

    def write(self, page_num: int, records: Sequence[Any]) -> None:
        rows = []
        for index, record in enumerate(records):
            row = [_cell(getattr(record, c.name), c.kind) for c in self._columns]
            if self._ranking is not None:
                position = (page_num - 1) * self._page_size + index + 1
                row = [*self._ranking, position, *row]
            rows.append(row)
        if not rows:
            return
        try:
            with self._db:  # one transaction: the whole page or nothing
                self._db.executemany(self._insert, rows)
        except OverflowError as exc:  # a count past SQLite's 64-bit INTEGER
            raise ValueError(f"page {page_num} does not fit the SQLite columns: {exc}") from None

    def finish(self) -> None:
        pass

    def close(self) -> None:
        self._db.close()
