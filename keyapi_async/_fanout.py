"""Fan-out: one endpoint's items for many influencers, streamed as they arrive.

`concurrency` workers each take the next user ID and page through it, one request at a time, so
at most `concurrency` requests are in flight. Results stream out as `(user_id, item)`, each user's
items in page order, users interleaved.

A failure that is about one influencer (a 400 for that ID, a record that does not decode) is set
aside in `failures` and the others go on; when the stream ends, FanOutError reports them all. A
failure about the whole pull (bad key, no credits, the budget, the API still failing after
retries) stops every worker and is raised at once, after the items already received. So do the
first influencers all failing alike before any succeeds: that is the shared query at fault, and
going on would buy one failure per user ID.

A whole-pull failure stops every worker at once (the requests in flight would fail alike) and
is raised after the pages already received; reaching the budget is the exception: the requests
in flight were paid for, so they finish and their items are delivered first. At most
`concurrency` pages are bought ahead of the consumer (a slot is taken before each request and
given back as the consumer takes the page).

Who stops the workers: `async with client.influencers.videos_many(...) as fan:` is
deterministic: leaving the block by any route (break, exception, asyncio.timeout(),
cancellation) cancels every worker and waits until they are gone. A bare `async for` ties them
to the task consuming the stream: when that task finishes or is cancelled they are cancelled,
even while the FanOut or an exception from it is still referenced. While that task runs on
after leaving a loop, its workers wait for slots: they buy at most `concurrency` more pages.

For a caller that records its progress (the CLI's per-influencer resume): `pages()` streams
FanOutPage objects instead (one page of one influencer, `last` when their list ended there),
`stop()` ends the stream gracefully (no new page is bought, the ones in flight are delivered),
and `continue_from()` starts given influencers at a later page.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Generic, TypeVar

from ._errors import CreditBudgetExceeded, FanOutError, InvalidParameterError, KeyAPIError
from ._fanout_work import DONE, FanOutPage, Work, about_one_user, worker
from ._pagination import Paginator
from ._scope import Workers

__all__ = ["FanOut", "FanOutPage", "about_one_user"]

T = TypeVar("T")


class FanOut(AsyncIterator[tuple[str, T]], Generic[T]):
    """Async iterator (and async context manager) of `(user_id, item)`; `failures` maps user
    IDs to their errors. `async with` stops the workers deterministically; a bare `async for`
    ties them to the consuming task (see the module docstring). `pages()`, `stop()` and
    `continue_from()` are for a caller that records its progress."""

    __slots__ = (
        "_args",
        "_chunks",
        "_done",
        "_fatal",
        "_finished",
        "_items",
        "_started",
        "_starts",
        "_stopping",
        "_work",
        "_workers",
        "failures",
    )

    def __init__(
        self, pull: Callable[[str], Paginator[T]], user_ids: Sequence[str], concurrency: int
    ) -> None:
        self._args = (pull, user_ids, min(concurrency, len(user_ids)))
        self._work: Work[T] | None = None
        self._workers = Workers()
        self._started = 0
        self._finished = 0
        self._done = False
        self._stopping = False
        self._starts: dict[str, int] = {}
        self._fatal: BaseException | None = None
        self._chunks: deque[FanOutPage[T]] = deque()
        self._items: list[tuple[str, T]] = []
        self.failures: dict[str, KeyAPIError] = {}

    def _start(self) -> Work[T]:
        # Nothing is sent until the first item is asked for.
        pull, user_ids, concurrency = self._args
        work = Work(pull, user_ids, concurrency, self._starts)
        work.stopping = self._stopping
        self.failures = work.failures
        for n in range(concurrency):
            self._workers.spawn(worker(work), f"keyapi_async fan-out worker {n}")
        self._started = concurrency
        self._work = work
        return work

    def continue_from(self, next_pages: Mapping[str, int]) -> None:
        """Start these influencers at the given page instead of 1 (their earlier pages, all
        full, were taken by an earlier run; `limit_per_user` counts them). Before iterating."""
        if self._work is not None:
            raise RuntimeError("continue_from() must be called before the stream is iterated")
        user_ids = set(self._args[1])
        for user_id, page in next_pages.items():
            if user_id not in user_ids:
                raise InvalidParameterError("next_pages", f"{user_id!r} is not in user_ids")
            if not isinstance(page, int) or isinstance(page, bool) or page < 1:
                raise InvalidParameterError(
                    f"next_pages[{user_id!r}]", f"must be an integer >= 1, got {page!r}"
                )
        self._starts.update(next_pages)

    def stop(self) -> None:
        """Buy no new page; the pages in flight (paid for) are still delivered, then the stream
        ends. Safe to call from a signal handler or another task."""
        self._stopping = True
        if self._work is not None:
            self._work.stopping = True

    async def _next_page(self) -> FanOutPage[T] | None:
        """The next page of any influencer, or None at the end (after raising the whole-pull
        failure or FanOutError once)."""
        if self._chunks:
            return self._chunks.popleft()
        if self._done:
            return None
        self._workers.bind()  # before _start: a stream stopped with its task stays stopped
        work = self._work or self._start()
        while not self._chunks:
            if self._finished == self._started:
                self._done = True
                self._workers.cancel()  # all ended: unhook from the consumer's task
                if self._fatal is not None:
                    raise self._fatal
                if self.failures:
                    raise FanOutError(self.failures)
                return None
            try:
                got = await work.queue.get()
            except BaseException:
                await self.aclose()
                raise
            if got is DONE:
                self._finished += 1
            elif isinstance(got, BaseException):
                self._fatal = self._fatal or got  # raised once the items paid for are out
                if not isinstance(got, CreditBudgetExceeded):
                    await self._stop_at_once(work)  # the requests in flight would fail alike
            else:
                work.slots.release()
                if got is not None:  # None: a failed user's slot
                    self._chunks.append(got)
        return self._chunks.popleft()

    async def __anext__(self) -> tuple[str, T]:
        while not self._items:
            page = await self._next_page()
            if page is None:
                raise StopAsyncIteration
            self._items = [(page.user_id, item) for item in reversed(page.items)]
        return self._items.pop()

    def pages(self) -> AsyncIterator[FanOutPage[T]]:
        """Iterate FanOutPage objects (each influencer's in page order) instead of items;
        iterate one or the other, not both."""
        return _FanOutPages(self)

    async def _stop_at_once(self, work: Work[T]) -> None:
        """Cancel every worker; keep the pages already received for delivery."""
        await self._workers.aclose()
        self._finished = self._started
        while not work.queue.empty():
            got = work.queue.get_nowait()
            if isinstance(got, FanOutPage):
                self._chunks.append(got)

    async def __aenter__(self) -> FanOut[T]:
        self._workers.scope()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every worker and wait until they are gone. Idempotent; iterating afterwards
        buys nothing."""
        self._done = True
        self._chunks.clear()
        self._items = []
        await self._workers.aclose()

    def __del__(self) -> None:
        self._workers.cancel()


class _FanOutPages(AsyncIterator[FanOutPage[T]]):
    __slots__ = ("_fan",)

    def __init__(self, fan: FanOut[T]) -> None:
        self._fan = fan

    async def __anext__(self) -> FanOutPage[T]:
        page = await self._fan._next_page()
        if page is None:
            raise StopAsyncIteration
        return page
