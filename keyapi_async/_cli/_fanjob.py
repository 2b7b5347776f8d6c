"""Fan-out: `videos` / `livestreams` for many creators (`--user-ids`, `--ids-file`).

Built on `videos_many` / `livestreams_many` and their `pages()`: each page written is one page
of one creator, noted per creator in the checkpoint. `--limit` and `--max-pages` count per
creator. A creator that fails is set aside (the pull goes on) and listed at the end.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import msgspec

from .. import FanOut, FanOutError, FanOutPage, InvalidParameterError, KeyAPI
from ._checkpoint import Checkpoint, Creator
from ._errors import UsageError
from ._failures import describe_error
from ._options import Signature
from ._plan import Plan

__all__ = ["FanOutJob"]

_MANY = {"videos": "videos_many", "livestreams": "livestreams_many"}


class FanOutJob:
    """One endpoint's pages for many creators; page n of creator u is one request."""

    def __init__(
        self,
        client: KeyAPI,
        group: str,
        signature: Signature,
        query: Mapping[str, Any],
        paging: Mapping[str, Any],
        ids: Sequence[tuple[str, str]],
        concurrency: int | None,
    ) -> None:
        if query.get("unique_id") is not None or query.get("user_id") is not None:
            raise UsageError("pass the creators as --user-ids or --ids-file, not also --user-id")
        if paging.get("start_page", 1) != 1:
            raise UsageError("--start-page is for one creator (--user-id), not a fan-out")
        self._method = getattr(client.influencers, _MANY[signature.method])
        self._where = list(ids)
        self._ids = [i for _, i in ids]
        if not self._ids:
            raise InvalidParameterError("user_ids", "pass at least one user ID")
        # One creator's paginator validates the paging options and resolves them (sends nothing).
        one = {k: v for k, v in paging.items() if k != "concurrency"}
        try:
            plan = getattr(client.influencers, signature.method)(
                **query, user_id=self._ids[0], **one
            ).plan
        except InvalidParameterError as exc:
            if exc.parameter == "user_id":
                raise InvalidParameterError(self._where[0][0], exc.reason) from None
            raise
        page_size = plan.page_size
        capped = plan.limit is not None or paging.get("max_pages") is not None
        # All pages but a creator's last are full: max_pages is a limit of max_pages * page_size.
        limit = min(plan.limit or plan.last_page * page_size, plan.last_page * page_size)
        self._options: dict[str, Any] = {
            **{k: v for k, v in query.items() if v is not None},
            "page_size": page_size,
            "limit_per_user": limit if capped else None,
        }
        if concurrency is not None:
            self._options["concurrency"] = concurrency
        self._pages_per_creator = plan.last_page
        fan = self._open(self._ids)  # validates every ID and option; sends nothing
        del fan
        self._ids = list(dict.fromkeys(self._ids))  # a creator named twice is pulled once
        self._fan: FanOut[Any] | None = None
        self._stopped = False
        self._ended = False
        self.model = signature.model
        self.total: int | None = None
        self.page_size: int = page_size
        self.limit: int | None = limit if capped else None
        self.first_page = 1
        self.last_page = 0  # unused: progress is per creator
        listed = msgspec.json.encode(self._ids)
        self.identity = {
            "endpoint": f"{group} {signature.method}",
            "query": dict(sorted((k, v) for k, v in query.items() if v is not None)),
            "ids_sha256": hashlib.sha256(listed).hexdigest(),
            "id_count": len(self._ids),
            "page_size": page_size,
            "limit_per_creator": self.limit,
        }

    def _open(self, ids: list[str]) -> FanOut[Any]:
        try:
            fan: FanOut[Any] = self._method(ids, **self._options)
        except InvalidParameterError as exc:
            raise self._located(exc) from None
        return fan

    def _located(self, exc: InvalidParameterError) -> InvalidParameterError:
        """The SDK names `user_ids[3]`: name the option or the --ids-file line instead."""
        name, _, rest = exc.parameter.partition("[")
        if name == "user_ids" and rest[:-1].isdigit():
            return InvalidParameterError(self._where[int(rest[:-1])][0], exc.reason)
        if name == "limit_per_user":
            return InvalidParameterError("limit", exc.reason)
        return exc

    def pages(self, state: Checkpoint) -> AsyncIterator[FanOutPage[Any]] | None:
        left = []
        for user_id in self._ids:
            c = state.creators.get(user_id)
            if c is None or not (c.done or c.failed):
                left.append(user_id)
        if not left:
            return None
        fan = self._fan = self._open(left)
        fan.continue_from(
            {u: c.pages + 1 for u in left if (c := state.creators.get(u)) and c.pages}
        )
        if self._stopped:
            fan.stop()
        return self._until_failures(fan, state)

    async def _until_failures(
        self, fan: FanOut[Any], state: Checkpoint
    ) -> AsyncIterator[FanOutPage[Any]]:
        """The pages; FanOutError at the end is the failed creators, noted, not an error."""
        try:
            async for page in fan.pages():
                yield page
        except FanOutError:
            pass
        self.note_failures(state)
        self._ended = not self._stopped

    def note_failures(self, state: Checkpoint) -> None:
        if self._fan is not None:
            for user_id, exc in self._fan.failures.items():
                state.creators.setdefault(user_id, Creator()).failed = describe_error(exc)

    def accept(self, page: FanOutPage[Any], state: Checkpoint) -> tuple[list[Any], bool]:
        creator = state.creators.setdefault(page.user_id, Creator())
        creator.pages += 1
        creator.items += len(page.items)
        creator.done = page.last
        self.note_failures(state)
        uid = page.user_id
        # Each line names its creator, even where the API left the record's own user_id empty.
        items = [
            r if r.user_id == uid else msgspec.structs.replace(r, user_id=uid) for r in page.items
        ]
        return items, False  # the run ends with the stream, not with one creator's page

    def end(self, state: Checkpoint) -> bool:
        return self._ended

    def stop(self) -> None:
        self._stopped = True
        if self._fan is not None:
            self._fan.stop()

    async def aclose(self) -> None:
        if self._fan is not None:
            await self._fan.aclose()

    def resumed(self, output: Any, fmt: str) -> None:
        pass

    def plan(self) -> Plan:
        creators = len(self._ids)
        if self.limit is None:
            return Plan(
                what=f"{creators:,} creators, pages of {self.page_size} until each list ends",
                requests=creators * self._pages_per_creator,  # the endpoint's page ceiling
                bounded=False,
                cap_hint="add --limit N or --max-pages N (per creator)",
            )
        per = self._pages_per_creator
        return Plan(
            what=f"{creators:,} creators, at most {per:,} pages of {self.page_size} each",
            requests=creators * per,
            bounded=True,
            cap_hint="",
        )
