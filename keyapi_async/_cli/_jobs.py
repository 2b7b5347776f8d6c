"""What a command fetches, page by page: a paginated endpoint, or detail's ID batches.

A job validates everything when it is made (through the SDK, so the SDK's messages name the
parameter), before anything is sent. It then fetches page `n` on demand, and decides for each
delivered page what is written and whether it was the last.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import msgspec

from .. import _params as p
from .._client import KeyAPI
from .._errors import InvalidParameterError
from .._resources import MAX_CONCURRENCY
from ._options import Signature
from ._output import stored_user_ids

__all__ = ["DetailJob", "Job", "PagedJob", "read_ids_file"]

Fetched = tuple[list[Any], "str | None"]


class Job(Protocol):
    identity: dict[str, Any]  # what decides the records (for the checkpoint's fingerprint)
    model: type[Any]
    first_page: int
    last_page: int
    concurrency: int
    total: int | None  # records expected at most, when known (for the progress line)

    async def fetch(self, page_num: int) -> Fetched: ...

    def accept(self, page_num: int, items: list[Any], written: int) -> tuple[list[Any], bool]:
        """(records to write, whether this page ends the run), given `written` so far."""
        ...

    def resumed(self, output: Path, fmt: str) -> None:
        """Called when resuming: the output holds what earlier runs wrote."""
        ...


def _plain(value: Any) -> Any:
    """A value as it goes on the wire, for the fingerprint: codes and flags as ints."""
    if isinstance(value, (enum.IntEnum, bool)):
        return int(value)
    return value


class PagedJob:
    """A paginated endpoint: page n is one request, through the SDK's paginator."""

    def __init__(
        self,
        client: KeyAPI,
        group: str,
        signature: Signature,
        query: Mapping[str, Any],
        paging: Mapping[str, Any],
    ) -> None:
        self._method = getattr(client.influencers, signature.method)
        pager = self._method(**query, **paging)  # validates every argument; sends nothing
        plan = pager.plan  # the SDK's resolved page range: ceiling, max_pages, limit
        self._query = dict(query)
        self.model = signature.model
        self.page_size = plan.page_size
        self.first_page = plan.start_page
        self.last_page = plan.last_page
        self.limit: int | None = plan.limit
        self.concurrency = plan.concurrency
        self.total = plan.limit
        self.identity = {
            "endpoint": f"{group} {signature.method}",
            "query": {name: _plain(value) for name, value in sorted(query.items())},
            "page_size": plan.page_size,
            "start_page": plan.start_page,
            "max_pages": paging.get("max_pages"),
            "limit": plan.limit,
        }

    async def fetch(self, page_num: int) -> Fetched:
        page = await self._method(**self._query, page_size=self.page_size, start_page=page_num)
        return page.items, page.request_id

    def accept(self, page_num: int, items: list[Any], written: int) -> tuple[list[Any], bool]:
        # The SDK's rule: a list ends at a page shorter than page_size (an empty one included),
        # at the last page the options allow, or when `limit` is reached.
        at_end = len(items) < self.page_size or page_num >= self.last_page
        if self.limit is not None:
            items = items[: max(self.limit - written, 0)]
            at_end = at_end or written + len(items) >= self.limit
        return items, at_end

    def resumed(self, output: Path, fmt: str) -> None:
        pass


class _UserId(msgspec.Struct):
    user_id: str | None = None


class DetailJob:
    """influencers.detail over a list of IDs: page n is the n-th batch, one request each.

    Batches are consecutive runs of the given IDs, `detail_batch_size` at most and all user
    IDs or all handles, so each `detail()` call is exactly one request and the output keeps the
    order the IDs were given. An influencer named twice (by user ID and by handle) is written
    once, as `detail()` does; on resume the ones already written are read back from the output.
    """

    def __init__(
        self,
        client: KeyAPI,
        group: str,
        signature: Signature,
        query: Mapping[str, Any],
        file_ids: Iterable[tuple[str, str]],
        concurrency: Any,
    ) -> None:
        wanted: dict[tuple[str, str], str] = {}  # (kind, key) -> wire ID, in the given order

        def want(kind: str, wire: str) -> None:
            wanted.setdefault((kind, wire.lower() if kind == "unique_ids" else wire), wire)

        if query.get("user_ids") is not None:
            for wire in p.id_list("user_ids", query["user_ids"], p.numeric_id):
                want("user_ids", wire)
        if query.get("unique_ids") is not None:
            for wire in p.id_list("unique_ids", query["unique_ids"], p.handle):
                want("unique_ids", wire)
        for where, raw in file_ids:
            if raw.isdigit():
                want("user_ids", p.numeric_id(where, raw))
            else:
                want("unique_ids", p.handle(where, raw))
        if not wanted:
            raise InvalidParameterError(
                "user_ids", "pass at least one ID in user_ids or unique_ids (or --ids-file)"
            )
        self.concurrency = p.whole("concurrency", concurrency, 1, MAX_CONCURRENCY)
        size = client.detail_batch_size
        batches: list[tuple[str, list[str]]] = []
        for (kind, _), wire in wanted.items():
            if batches and batches[-1][0] == kind and len(batches[-1][1]) < size:
                batches[-1][1].append(wire)
            else:
                batches.append((kind, [wire]))
        self._client = client
        self._batches = batches
        self._seen: set[str] = set()
        self.model = signature.model
        self.first_page = 1
        self.last_page = len(batches)
        self.total: int | None = None
        listed = msgspec.json.encode([[kind, wire] for (kind, _), wire in wanted.items()])
        self.identity = {
            "endpoint": f"{group} {signature.method}",
            "ids_sha256": hashlib.sha256(listed).hexdigest(),
            "id_count": len(wanted),
            "batch_size": size,
        }

    async def fetch(self, page_num: int) -> Fetched:
        kind, ids = self._batches[page_num - 1]
        records = await self._client.influencers.detail(**{kind: ids})
        return records, None

    def accept(self, page_num: int, items: list[Any], written: int) -> tuple[list[Any], bool]:
        fresh = []
        for record in items:
            user_id = record.user_id
            if user_id and user_id in self._seen:
                continue
            if user_id:
                self._seen.add(user_id)
            fresh.append(record)
        return fresh, page_num >= self.last_page

    def resumed(self, output: Path, fmt: str) -> None:
        if fmt in ("parquet", "sqlite"):
            self._seen.update(stored_user_ids(output, fmt))
            return
        if fmt == "jsonl":
            with output.open("rb") as lines:
                for line in lines:
                    user_id = msgspec.json.decode(line, type=_UserId).user_id
                    if user_id:
                        self._seen.add(user_id)
            return
        with output.open(newline="", encoding="utf-8") as text:
            for row in csv.DictReader(text):
                if row.get("user_id"):
                    self._seen.add(row["user_id"])


def read_ids_file(name: str) -> list[tuple[str, str]]:
    """(where, ID) for each line of the file ('-': stdin); blank lines and # comments skipped."""
    if name == "-":
        text = sys.stdin.read()
    else:
        with open(name, encoding="utf-8") as handle:
            text = handle.read()
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        raw = line.strip()
        if raw and not raw.startswith("#"):
            out.append((f"ids_file line {number}", raw))
    return out
