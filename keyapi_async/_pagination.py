"""Paging: awaitable for one page, async-iterable for items, `pages()` for Page objects.

No total count is returned (docs README): a list ends at an empty page or one shorter than
page_size. Up to `concurrency` pages are in flight, yielded in page order; at most
concurrency - 1 of them can lie past the end, and none past what `limit` or `max_pages` needs.
Leaving early (break, error, cancellation) cancels what is still in flight.

Who stops the pages in flight (concurrency > 1): `async with pager.pages() as pages:` (or
`async with aiter(pager) as items:`) is deterministic: leaving the block by any route (break,
exception, asyncio.timeout(), cancellation) cancels them and waits until they are gone. A bare
`async for` is tied to the task running it: when that task finishes or is cancelled, they are
cancelled too, even while the stream or an exception from it is still referenced.

A graceful stop (`pages.stop()`, e.g. on SIGINT): no new page is bought, the pages already in
flight (paid for) are still delivered, then the stream ends with `reached_end` False.

The budget: when a page's request would exceed `max_credits`, the pages already in flight
finish (they were paid for); those that cannot be delivered in order, lying behind the refused
page, are named on the exception as `undelivered_pages`.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from . import _params as p
from ._errors import CreditBudgetExceeded
from ._window import PageWindow

T = TypeVar("T")
FetchPage = Callable[[int], Awaitable[tuple[list[T], str | None]]]

PAGING_OPTIONS = ("page_size", "start_page", "max_pages", "limit", "concurrency")
MAX_CONCURRENCY = 64
MAX_PAGE_SIZE = 10  # "The maximum number of pages is 10" means page_size <= 10 (docs README)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of records, as the API returned it (cut short only by `limit`)."""

    items: list[T]
    page_num: int
    request_id: str | None


def _budget(exc: BaseException) -> bool:
    return isinstance(exc, CreditBudgetExceeded)


@dataclass(frozen=True, slots=True)
class PagingPlan:
    """What a paginator will ask for, resolved from its options before anything is sent.

    `last_page` is the last page any option allows (the endpoint's ceiling, `max_pages`,
    `limit`); a listing may end earlier, at an empty or short page.
    """

    page_size: int
    start_page: int
    last_page: int
    limit: int | None
    concurrency: int

    @classmethod
    def resolve(cls, ceiling: int, options: Mapping[str, Any]) -> PagingPlan:
        """The plan for the paging `options` (PAGING_OPTIONS) of an endpoint whose last page is
        `ceiling`; a bad option raises InvalidParameterError naming it."""
        page_size = p.whole("page_size", options["page_size"], 1, MAX_PAGE_SIZE)
        start_page = p.whole("start_page", options["start_page"], 1, ceiling)
        concurrency = p.whole("concurrency", options["concurrency"], 1, MAX_CONCURRENCY)
        last_page = ceiling
        if options["max_pages"] is not None:
            max_pages = p.whole("max_pages", options["max_pages"], 1)
            last_page = min(last_page, start_page + max_pages - 1)
        limit = None
        if options["limit"] is not None:
            limit = p.whole("limit", options["limit"], 1)
            last_page = min(last_page, start_page - (-limit // page_size) - 1)  # ceil, in ints
        return cls(page_size, start_page, last_page, limit, concurrency)


class PageStream(AsyncIterator[Page[T]]):
    """What `Paginator.pages()` returns: Page objects in page order, and an async context
    manager that stops the pages in flight when left. `stop()` ends it gracefully;
    `reached_end` says whether it ended because the listing did."""

    __slots__ = (
        "_done",
        "_fetch",
        "_next_page",
        "_plan",
        "_reached_end",
        "_remaining",
        "_stopping",
        "_window",
    )

    def __init__(self, fetch: FetchPage[T], plan: PagingPlan) -> None:
        self._fetch = fetch
        self._plan = plan
        self._next_page = plan.start_page
        self._remaining = plan.limit
        self._done = False
        self._stopping = False
        self._reached_end = False
        # One page at a time needs no window of tasks: it is fetched in the caller's own task.
        self._window = (
            PageWindow(fetch, plan.start_page, plan.last_page, plan.concurrency, drain=_budget)
            if plan.concurrency > 1
            else None
        )

    async def __anext__(self) -> Page[T]:
        if self._done:
            raise StopAsyncIteration
        if self._window is None:
            page_num = self._next_page
            if self._stopping or page_num > self._plan.last_page:
                self._done = True
                self._reached_end = not self._stopping
                raise StopAsyncIteration
            self._next_page += 1
            try:
                items, request_id = await self._fetch(page_num)
            except BaseException:
                self._done = True
                raise
        else:
            try:
                got = await self._window.next()
            except BaseException as exc:
                self._done = True
                if isinstance(exc, CreditBudgetExceeded):
                    # Paid for, but behind the refused page: named, so nothing is lost unseen.
                    undelivered = [n for n, _ in self._window.drained]
                    exc.undelivered_pages = undelivered
                raise
            if got is None:  # only after stop(): the window never runs past the end otherwise
                self._done = True
                raise StopAsyncIteration
            page_num, (items, request_id) = got
        at_end = len(items) < self._plan.page_size or page_num >= self._plan.last_page
        if self._remaining is not None:
            items = items[: self._remaining]
            self._remaining -= len(items)
            at_end = at_end or self._remaining == 0
        if at_end:
            self._reached_end = True
            await self.aclose()
        elif self._window is not None:
            self._window.fill()  # keep `concurrency` pages in flight while the caller works
        if not items:
            raise StopAsyncIteration
        return Page(items, page_num, request_id)

    def stop(self) -> None:
        """Buy no new page; the pages already requested (paid for) are still delivered, then
        the stream ends. Safe to call from a signal handler or another task."""
        self._stopping = True
        if self._window is not None:
            self._window.stop()

    @property
    def reached_end(self) -> bool:
        """True once the stream ended because the listing did (a short or empty page, the last
        page the options allow, or `limit`), not because it was stopped, closed or failed."""
        return self._reached_end

    async def aclose(self) -> None:
        """Stop: cancel the pages still in flight and wait until they are gone. Idempotent."""
        self._done = True
        if self._window is not None:
            await self._window.aclose()

    async def __aenter__(self) -> PageStream[T]:
        if self._window is not None:
            self._window.scope()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _ItemStream(AsyncIterator[T]):
    __slots__ = ("_items", "_pages")

    def __init__(self, pages: PageStream[T]) -> None:
        self._pages = pages
        self._items: deque[T] = deque()

    async def __anext__(self) -> T:
        while not self._items:
            page = await self._pages.__anext__()
            self._items.extend(page.items)
        return self._items.popleft()

    async def aclose(self) -> None:
        await self._pages.aclose()

    async def __aenter__(self) -> _ItemStream[T]:
        await self._pages.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class Paginator(Generic[T]):
    """A paged listing. Nothing is sent until it is awaited or iterated.

    - `await pager`: the page at start_page, as a Page.
    - `async for item in pager`: every item across pages, in server order.
    - `async for page in pager.pages()`: Page objects; an empty page is never yielded.
    - `await pager.collect()`: all items as a list.
    """

    __slots__ = ("_fetch", "_plan")

    def __init__(self, fetch: FetchPage[T], plan: PagingPlan) -> None:
        self._fetch = fetch
        self._plan = plan

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self._first_page().__await__()

    async def _first_page(self) -> Page[T]:
        items, request_id = await self._fetch(self._plan.start_page)
        if self._plan.limit is not None:
            items = items[: self._plan.limit]
        return Page(items, self._plan.start_page, request_id)

    @property
    def plan(self) -> PagingPlan:
        """The resolved page range and options (read-only)."""
        return self._plan

    def _from_page(self, page_num: int) -> Paginator[T]:
        """The same listing continued from `page_num`, after full pages from start_page (a
        short one would have ended it): same last page, `limit` less what they held."""
        p = self._plan
        if page_num == p.start_page:
            return self
        done = (page_num - p.start_page) * p.page_size
        limit = None if p.limit is None else max(p.limit - done, 0)
        return Paginator(self._fetch, replace(p, start_page=page_num, limit=limit))

    def pages(self) -> PageStream[T]:
        """Iterate Page objects; `async with` it (or `aclose()` it) to stop deterministically."""
        return PageStream(self._fetch, self._plan)

    def __aiter__(self) -> _ItemStream[T]:
        return _ItemStream(self.pages())

    async def collect(self) -> list[T]:
        """All items, as one list."""
        items: list[T] = []
        stream = self.pages()
        async with contextlib.aclosing(stream):
            async for page in stream:
                items.extend(page.items)
        return items

    def __repr__(self) -> str:
        p = self._plan
        return (
            f"Paginator(page_size={p.page_size}, start_page={p.start_page}, "
            f"last_page={p.last_page}, limit={p.limit}, concurrency={p.concurrency})"
        )
