"""What a command fetches, page by page: a paginated endpoint, or detail's ID batches.

A job validates everything when it is made (through the SDK, so the SDK's messages name the
parameter), before anything is sent. `pages(first, written)` then streams its pages through the
SDK's own streams (`Paginator.pages()`, `DetailStream.pages()`), from page `first` when resuming;
`stop()` is their graceful stop and `reached_end` their end-of-list verdict.
"""

from __future__ import annotations

import csv
import enum
import hashlib
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import msgspec

from .. import DetailStream, FanOutError, InvalidParameterError, KeyAPI, Page, PageStream
from ._checkpoint import Checkpoint, Creator
from ._failures import describe_error
from ._options import Signature
from ._output import stored_user_ids
from ._plan import Plan

__all__ = ["DetailJob", "Job", "PagedJob"]


class Job(Protocol):
    identity: dict[str, Any]  # what decides the records (for the checkpoint's fingerprint)
    model: type[Any]
    first_page: int
    last_page: int
    total: int | None  # records expected at most, when known (for the progress line)

    def pages(self, state: Checkpoint) -> AsyncIterator[Any] | None:
        """The pages still to fetch after what `state` records (None: nothing is left)."""
        ...

    def accept(self, page: Any, state: Checkpoint) -> tuple[list[Any], bool]:
        """(records to write, whether this page ends the run); notes the page in `state`."""
        ...

    def plan(self) -> Plan:
        """The requests the whole command makes at most, before anything is sent."""
        ...

    def end(self, state: Checkpoint) -> bool:
        """After the stream ended without a page ending the run: whether the run is complete
        (then what it bought past the last page written is noted in `state`)."""
        ...

    def stop(self) -> None: ...

    async def aclose(self) -> None: ...

    def resumed(self, output: Path, fmt: str) -> None:
        """Called when resuming: the output holds what earlier runs wrote."""
        ...


def _plain(value: Any) -> Any:
    """A value as it goes on the wire, for the fingerprint: codes and flags as ints."""
    if isinstance(value, (enum.IntEnum, bool)):
        return int(value)
    return value


class PagedJob:
    """A paginated endpoint, through the SDK's paginator and its page stream."""

    def __init__(
        self,
        client: KeyAPI,
        group: str,
        signature: Signature,
        query: Mapping[str, Any],
        paging: Mapping[str, Any],
    ) -> None:
        self._method = getattr(client.influencers, signature.method)
        self._paging = dict(paging)
        pager = self._method(**query, **paging)  # validates every argument; sends nothing
        plan = pager.plan  # the SDK's resolved page range: ceiling, max_pages, limit
        self._query = dict(query)
        self._stream: PageStream[Any] | None = None
        self.model = signature.model
        self.page_size = plan.page_size
        self.first_page = plan.start_page
        self.last_page = plan.last_page
        self.limit: int | None = plan.limit
        self.total = plan.limit
        self.identity = {
            "endpoint": f"{group} {signature.method}",
            "query": {name: _plain(value) for name, value in sorted(query.items())},
            "page_size": plan.page_size,
            "start_page": plan.start_page,
            "max_pages": paging.get("max_pages"),
            "limit": plan.limit,
        }

    def pages(self, state: Checkpoint) -> PageStream[Any] | None:
        first = self.first_page if state.last_page is None else state.last_page + 1
        if first > self.last_page:
            return None
        written = state.items
        # Resuming is a new paginator from page `first` over what is left: the same last page.
        paging = {
            **self._paging,
            "start_page": first,
            "max_pages": self.last_page - first + 1,
            "limit": None if self.limit is None else self.limit - written,
        }
        self._stream = self._method(**self._query, **paging).pages()
        return self._stream

    def accept(self, page: Page[Any], state: Checkpoint) -> tuple[list[Any], bool]:
        assert self._stream is not None
        state.last_page = page.page_num
        return page.items, self._stream.reached_end  # decided before the page is handed out

    def plan(self) -> Plan:
        pages = self.last_page - self.first_page + 1
        capped = self.limit is not None or self._paging.get("max_pages") is not None
        return Plan(
            what=f"pages {self.first_page:,}..{self.last_page:,}, {self.page_size} records each",
            requests=pages,
            bounded=capped,
            cap_hint="add --limit N or --max-pages N",
        )

    def end(self, state: Checkpoint) -> bool:
        if self._stream is None or not self._stream.reached_end:
            return False
        # The listing ended at an empty page: bought (a credit), nothing in it to write.
        state.pages += 1
        state.last_page = (state.last_page or self.first_page - 1) + 1
        return True

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()

    async def aclose(self) -> None:
        if self._stream is not None:
            await self._stream.aclose()

    def resumed(self, output: Path, fmt: str) -> None:
        pass


class _UserId(msgspec.Struct):
    user_id: str | None = None


class DetailJob:
    """influencers.detail over a list of IDs, through `detail_stream`: page n is its n-th batch.

    An influencer named twice (by user ID and by handle) is written once, as the stream does;
    on resume the ones already written are read back from the output.
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
        # (kind, key) -> (where, wire ID), in the given order; a handle's case does not count
        wanted: dict[tuple[str, str], tuple[str, str]] = {}

        def want(kind: str, where: str, raw: str) -> None:
            wire = raw.strip().removeprefix("@") if kind == "unique_ids" else raw.strip()
            key = wire.lower() if kind == "unique_ids" else wire
            wanted.setdefault((kind, key), (where, wire))

        for kind in ("user_ids", "unique_ids"):
            given = query.get(kind)
            if given is not None:
                items = given.split(",") if isinstance(given, str) else given
                for i, raw in enumerate(items):
                    want(kind, f"{kind}[{i}]", str(raw))
        for where, raw in file_ids:
            want("user_ids" if raw.isdigit() else "unique_ids", where, raw)
        lists: dict[str, list[tuple[str, str]]] = {"user_ids": [], "unique_ids": []}
        for (kind, _), pair in wanted.items():
            lists[kind].append(pair)
        self._ids = {kind: [raw for _, raw in pairs] for kind, pairs in lists.items() if pairs}
        self._client = client
        self._concurrency = concurrency
        self._where = lists
        self._stream = self._open()  # validates every ID and the concurrency; sends nothing
        self._seen: set[str] = set()
        self.model = signature.model
        self.first_page = 1
        self.last_page = self._stream.batches
        self.total: int | None = None
        listed = msgspec.json.encode([[kind, wire] for (kind, _), (_, wire) in wanted.items()])
        self.identity = {
            "endpoint": f"{group} {signature.method}",
            "ids_sha256": hashlib.sha256(listed).hexdigest(),
            "id_count": len(wanted),
            "batch_size": client.detail_batch_size,
        }

    def _open(self) -> DetailStream:
        if not self._ids:
            raise InvalidParameterError(
                "user_ids", "pass at least one ID in user_ids or unique_ids (or --ids-file)"
            )
        try:
            return self._client.influencers.detail_stream(
                **self._ids, concurrency=self._concurrency
            )
        except InvalidParameterError as exc:
            raise self._located(exc) from None

    def _located(self, exc: InvalidParameterError) -> InvalidParameterError:
        """The SDK names `unique_ids[3]`: name the option or the --ids-file line instead."""
        kind, _, rest = exc.parameter.partition("[")
        if kind not in ("user_ids", "unique_ids") or not rest.endswith("]"):
            return exc
        where = self._where[kind][int(rest[:-1])][0] if rest[:-1].isdigit() else kind
        return InvalidParameterError(where, exc.reason)

    def pages(self, state: Checkpoint) -> AsyncIterator[Page[Any]] | None:
        first = 1 if state.last_page is None else state.last_page + 1
        return None if first > self.last_page else self._until_failures(first, state)

    async def _until_failures(self, first: int, state: Checkpoint) -> AsyncIterator[Page[Any]]:
        """The batches; FanOutError at the end names the IDs set aside: noted, not raised."""
        try:
            async for page in self._stream.pages(start=first):
                yield page
        except FanOutError:
            self._note_failures(state)

    def _note_failures(self, state: Checkpoint) -> None:
        for wire, error in self._stream.failures.items():
            if wire not in state.creators:
                state.creators[wire] = Creator(failed=describe_error(error))

    def plan(self) -> Plan:
        count = self.identity["id_count"]
        size = self.identity["batch_size"]
        return Plan(
            what=f"{count:,} IDs in {self.last_page:,} batches of up to {size}",
            requests=self.last_page,
            bounded=True,
            cap_hint="",
        )

    def accept(self, page: Page[Any], state: Checkpoint) -> tuple[list[Any], bool]:
        state.last_page = page.page_num
        self._note_failures(state)  # a batch set aside is in the checkpoint with the next page
        fresh = []
        for record in page.items:  # the stream drops repeats; these are from an earlier run
            user_id = record.user_id
            if user_id and user_id in self._seen:
                continue
            if user_id:
                self._seen.add(user_id)
            fresh.append(record)
        return fresh, page.page_num >= self.last_page

    def end(self, state: Checkpoint) -> bool:
        return self._stream.reached_end

    def stop(self) -> None:
        self._stream.stop()

    async def aclose(self) -> None:
        await self._stream.aclose()

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
