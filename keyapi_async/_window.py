"""Pages fetched up to `concurrency` at a time and delivered in page order.

Shared by the paginator (keyapi_async._pagination), the detail batches (keyapi_async._detail)
and the command line, which also needs a graceful stop: `stop()` starts no new page while the
pages already in flight (paid for) are still delivered, so an interrupted CLI run can write them
before exiting. `aclose()` cancels what is still in flight and waits until it is gone.

Who stops the page tasks (see keyapi_async._scope): `aclose()`; else the task that called
`next()` first, when it finishes; else dropping the window. The tasks hold no reference to the
window, so dropping it works.

A failed page stops the window. The pages behind it that already arrived are kept in `drained`
for the caller, who can deliver them or at least say which they were; for a failure that
`drain` accepts (the budget) the pages still in flight were paid for, so they are awaited, not
cancelled, and kept too.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from ._scope import Workers

__all__ = ["PageWindow"]

R = TypeVar("R")


def _never(_: BaseException) -> bool:
    return False


def _failed(task: asyncio.Future[Any]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is not None


class PageWindow(Generic[R]):
    """`await window.next()` -> (page number, result) in page order, or None at the end."""

    __slots__ = (
        "_concurrency",
        "_drain",
        "_fetch",
        "_last",
        "_next",
        "_window",
        "_workers",
        "drained",
        "stopping",
    )

    def __init__(
        self,
        fetch: Callable[[int], Awaitable[R]],
        first: int,
        last: int,
        concurrency: int,
        *,
        drain: Callable[[BaseException], bool] = _never,
    ) -> None:
        self._fetch = fetch
        self._next = first
        self._last = last
        self._concurrency = concurrency
        self._drain = drain
        self._window: deque[tuple[int, asyncio.Future[R]]] = deque()
        self._workers = Workers()
        self.drained: list[tuple[int, R]] = []  # answered behind a drained failure
        self.stopping = False

    @property
    def in_flight(self) -> int:
        return len(self._window)

    @property
    def exhausted(self) -> bool:
        """Every page was started (so a None from next() means all were delivered)."""
        return self._next > self._last

    def stop(self) -> None:
        """Start no new page; the ones in flight are still delivered by next()."""
        self.stopping = True

    def fill(self) -> None:
        """Start pages until `concurrency` are in flight (none once stopping or failing)."""
        if self._workers.closed or any(_failed(task) for _, task in self._window):
            return  # a page failed: the stream ends there, later pages would be wasted
        while (
            not self.stopping and len(self._window) < self._concurrency and self._next <= self._last
        ):
            name = f"keyapi_async page {self._next}"
            started = self._workers.spawn(self._fetch(self._next), name)
            self._window.append((self._next, started))
            self._next += 1

    def scope(self) -> None:
        """Owned by an `async with` block from now on, not by the consuming task."""
        self._workers.scope()

    async def next(self) -> tuple[int, R] | None:
        self._workers.bind()
        self.fill()
        if not self._window:
            self._workers.cancel()  # nothing left: unhook from the consumer's task
            return None
        page_num, task = self._window[0]
        try:
            result = await task
        except BaseException as exc:
            if task.done() and not task.cancelled():
                await self._after_failure(wait=self._drain(exc))
            else:
                await self.aclose()
            raise
        self._window.popleft()
        return page_num, result

    async def _after_failure(self, *, wait: bool) -> None:
        """Start nothing more. Keep in `drained` the pages behind the failed one that arrived:
        all those in flight when `wait` (awaited, not cancelled), else those already there."""
        self.stopping = True
        self._window.popleft()
        rest = list(self._window)
        self._window.clear()
        try:
            if wait and rest:
                await asyncio.wait([task for _, task in rest])
        finally:
            await self.aclose()  # cancels whatever is still running
        self.drained = [
            (n, t.result())
            for n, t in rest
            if t.done() and not t.cancelled() and t.exception() is None
        ]

    async def aclose(self) -> None:
        """Cancel the pages still in flight and wait until they are gone."""
        self.stopping = True
        self._window.clear()
        await self._workers.aclose()

    def __del__(self) -> None:
        self._workers.cancel()
