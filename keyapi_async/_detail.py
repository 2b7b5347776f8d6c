"""influencers.detail: IDs batched `detail_batch_size` to a request, batches in a page window.

At most `concurrency` batches are in flight and results come out in batch order, so memory is
bounded by the window, not by the number of IDs. Records come out in the order their IDs were
given; an influencer asked for twice (by ID and by handle) comes out once.

`detail_stream` sets aside a batch that fails for its own IDs (a 400, a record that does not
decode) and goes on; FanOutError at the end names each failed ID. A failure about the whole pull
(bad key, no credits, forbidden, retries exhausted) starts nothing new, cancels the batches in
flight (they would fail alike), delivers the batches already received, then is raised. At the
budget the batches in flight were paid for: they finish and are delivered first. `detail` is all or
nothing: the first error cancels the rest and is raised.

Who stops the batches in flight: `async with` the stream (deterministic), else the task
consuming it, when it finishes or is cancelled, else dropping the stream.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from . import _params as p
from ._errors import (
    APIStatusError,
    CreditBudgetExceeded,
    FanOutError,
    InvalidParameterError,
    KeyAPIError,
)
from ._fanout import about_one_user
from ._models import InfluencerDetail
from ._pagination import Page
from ._window import PageWindow

__all__ = ["DetailStream", "detail_all", "wanted_ids"]

Wanted = list[tuple[str, str]]  # (parameter, ID) in the caller's order
Request = Callable[[dict[str, str]], Awaitable[tuple[list[InfluencerDetail], str | None]]]


def wanted_ids(user_ids: object, unique_ids: object) -> Wanted:
    """Validate both ID lists (before anything is sent) and keep the caller's order."""
    wanted: Wanted = []
    if user_ids is not None:
        wanted += [("user_ids", i) for i in p.id_list("user_ids", user_ids, p.numeric_id)]
    if unique_ids is not None:
        wanted += [("unique_ids", h) for h in p.id_list("unique_ids", unique_ids, p.handle)]
    if not wanted:
        name = "unique_ids" if user_ids is None and unique_ids is not None else "user_ids"
        raise InvalidParameterError(name, "pass at least one ID in user_ids or unique_ids")
    return wanted


def _batches(wanted: Wanted, size: int) -> list[Wanted]:
    out: list[Wanted] = []
    for parameter in ("user_ids", "unique_ids"):
        ids = [pair for pair in wanted if pair[0] == parameter]
        out += [ids[k : k + size] for k in range(0, len(ids), size)]
    return out


def _query(batch: Wanted) -> dict[str, str]:
    return {batch[0][0]: ",".join(i for _, i in batch)}


def _about_these_ids(exc: KeyAPIError) -> bool:
    # 403 concerns the key, not the IDs, for detail (unlike one influencer's videos).
    forbidden = isinstance(exc, APIStatusError) and exc.status_code == 403
    return about_one_user(exc) and not forbidden


def _budget(exc: BaseException) -> bool:
    return isinstance(exc, CreditBudgetExceeded)


@dataclass(frozen=True, slots=True)
class _Batch:
    ids: Wanted
    records: list[InfluencerDetail]
    request_id: str | None
    error: KeyAPIError | None


def in_request_order(wanted: Wanted, records: list[InfluencerDetail]) -> list[InfluencerDetail]:
    """Order records as their IDs were asked for; a record matching no ID goes last, not away."""
    by_id = {("user_ids", r.user_id): r for r in records}
    by_id.update({("unique_ids", (r.unique_id or "").lower()): r for r in records})
    ordered: dict[str, InfluencerDetail] = {}  # keyed by user_id: asked for twice, listed once
    for parameter, wanted_id in wanted:
        key = wanted_id.lower() if parameter == "unique_ids" else wanted_id
        record = by_id.get((parameter, key))
        if record is not None:
            ordered.setdefault(record.user_id or f"#{id(record)}", record)
    for record in records:
        ordered.setdefault(record.user_id or f"#{id(record)}", record)
    return list(ordered.values())


async def detail_all(
    request: Request, wanted: Wanted, size: int, concurrency: int
) -> list[InfluencerDetail]:
    """Every record, or the first error (the batches still in flight are cancelled)."""
    batches = _batches(wanted, size)

    async def fetch(n: int) -> list[InfluencerDetail]:
        return (await request(_query(batches[n])))[0]

    window = PageWindow(fetch, 0, len(batches) - 1, concurrency)
    records: list[InfluencerDetail] = []
    try:
        while (got := await window.next()) is not None:
            records += got[1]
    finally:
        await window.aclose()
    return in_request_order(wanted, records)


class DetailStream(AsyncIterator[InfluencerDetail]):
    """Async iterator (and async context manager) of InfluencerDetail, in the IDs' order.
    `failures` maps each ID of a batch set aside to its error.

    `pages()` iterates the same stream one Page per batch instead (for a caller that records
    its progress, like the CLI's checkpoint); `stop()` ends either gracefully: no new batch is
    requested, the ones in flight (paid for) are still delivered."""

    __slots__ = (
        "_batches",
        "_concurrency",
        "_done",
        "_drained",
        "_fatal",
        "_fetch",
        "_pending",
        "_reached_end",
        "_reported",
        "_scoped",
        "_seen",
        "_started",
        "_window",
        "failures",
    )

    def __init__(self, request: Request, wanted: Wanted, size: int, concurrency: int) -> None:
        batches = _batches(wanted, size)

        async def fetch(n: int) -> _Batch:  # holds no reference to the stream
            try:
                records, request_id = await request(_query(batches[n]))
            except KeyAPIError as exc:
                if not _about_these_ids(exc):
                    raise
                return _Batch(batches[n], [], None, exc)
            return _Batch(batches[n], records, request_id, None)

        self._fetch = fetch
        self._batches = len(batches)
        self._concurrency = concurrency
        self._window = PageWindow(fetch, 0, len(batches) - 1, concurrency, drain=_budget)
        self._started = False
        self._scoped = False
        self._drained: deque[tuple[int, _Batch]] = deque()  # paid for, behind a failure
        self._pending: deque[InfluencerDetail] = deque()
        self._seen: set[str] = set()
        self._done = False
        self._reached_end = False
        self._fatal: BaseException | None = None
        self._reported = False
        self.failures: dict[str, KeyAPIError] = {}

    @property
    def batches(self) -> int:
        """How many requests the whole stream makes (batches of IDs), before any is sent."""
        return self._batches

    @property
    def reached_end(self) -> bool:
        """True once every batch was delivered (set-aside ones included)."""
        return self._reached_end

    def stop(self) -> None:
        """Request no new batch; the batches in flight are still delivered, then it ends."""
        self._window.stop()

    def _take(self, batch: _Batch) -> list[InfluencerDetail]:
        if batch.error is not None:
            self.failures.update((i, batch.error) for _, i in batch.ids)
            return []
        fresh = []
        for record in in_request_order(batch.ids, batch.records):
            if record.user_id:  # a record without one (null reads as "") is never a duplicate
                if record.user_id in self._seen:
                    continue  # asked for by ID and by handle: listed once
                self._seen.add(record.user_id)
            fresh.append(record)
        return fresh

    async def _next_page(self) -> Page[InfluencerDetail] | None:
        """The next batch as a Page (page_num: the batch number from 1), or None at the end;
        raises the whole-pull failure, or FanOutError, once what was paid for is out."""
        self._started = True
        if self._drained:
            n, batch = self._drained.popleft()
            return Page(self._take(batch), n + 1, batch.request_id)
        if self._done:
            fatal, self._fatal = self._fatal, None
            if fatal is not None:
                self._reported = True
                raise fatal
            if self.failures and not self._reported:
                self._reported = True
                raise FanOutError(self.failures)
            return None
        try:
            got = await self._window.next()
        except KeyAPIError as exc:
            self._done = True
            self._fatal = exc  # raised once what was paid for is delivered
            self._drained.extend(self._window.drained)
            return await self._next_page()
        except BaseException:
            self._done = True
            raise
        if got is None:
            self._done = True
            self._reached_end = self._window.exhausted
            return await self._next_page()
        self._window.fill()  # keep `concurrency` batches in flight while the caller works
        n, batch = got
        return Page(self._take(batch), n + 1, batch.request_id)

    async def __anext__(self) -> InfluencerDetail:
        while not self._pending:
            page = await self._next_page()
            if page is None:
                raise StopAsyncIteration
            self._pending.extend(page.items)
        return self._pending.popleft()

    def pages(self, *, start: int = 1) -> AsyncIterator[Page[InfluencerDetail]]:
        """One Page per batch, from batch `start` (counted from 1; to continue an earlier run),
        in batch order; a page may be empty (unknown IDs, or a batch set aside). Call it before
        iterating, and iterate either the records or the pages, not both."""
        if self._started:
            raise RuntimeError("pages() must be called before the stream is iterated")
        if start != 1:
            if not isinstance(start, int) or isinstance(start, bool) or start < 1:
                raise InvalidParameterError("start", f"must be an integer >= 1, got {start!r}")
            was = self._window
            self._window = PageWindow(
                self._fetch, start - 1, self._batches - 1, self._concurrency, drain=_budget
            )
            if was.stopping:
                self._window.stop()
            if self._scoped:
                self._window.scope()
        return _Pages(self)

    async def aclose(self) -> None:
        """Cancel the batches in flight and wait until they are gone. Idempotent; iterating
        afterwards buys nothing."""
        self._done = self._reported = True
        self._pending.clear()
        self._drained.clear()
        self._fatal = None
        await self._window.aclose()

    async def __aenter__(self) -> DetailStream:
        self._scoped = True
        self._window.scope()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _Pages(AsyncIterator[Page[InfluencerDetail]]):
    __slots__ = ("_stream",)

    def __init__(self, stream: DetailStream) -> None:
        self._stream = stream

    async def __anext__(self) -> Page[InfluencerDetail]:
        page = await self._stream._next_page()
        if page is None:
            raise StopAsyncIteration
        return page
