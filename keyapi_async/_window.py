"""Pages fetched up to `concurrency` at a time and delivered in page order.

Shared by the paginator (keyapi_async._pagination) and the command line, which also needs a
graceful stop: `stop()` starts no new page while the pages already in flight (paid for) are still
delivered, so an interrupted CLI run can write them before exiting. `aclose()` cancels what is
still in flight and waits until it is gone; a window dropped without aclose() (a `break` out of
`async for`) cancels in __del__. The tasks hold no reference to the window, so dropping it works.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

__all__ = ["PageWindow"]

R = TypeVar("R")


def _retrieve(task: asyncio.Task[Any]) -> None:
    # A prefetched page may fail after nobody cares any more; reading the error here keeps
    # asyncio from logging "exception was never retrieved".
    if not task.cancelled():
        task.exception()


class PageWindow(Generic[R]):
    """`await window.next()` -> (page number, result) in page order, or None at the end."""

    __slots__ = ("_concurrency", "_fetch", "_last", "_next", "_window", "stopping")

    def __init__(
        self, fetch: Callable[[int], Awaitable[R]], first: int, last: int, concurrency: int
    ) -> None:
        self._fetch = fetch
        self._next = first
        self._last = last
        self._concurrency = concurrency
        self._window: deque[tuple[int, asyncio.Future[R]]] = deque()
        self.stopping = False

    @property
    def in_flight(self) -> int:
        return len(self._window)

    def stop(self) -> None:
        """Start no new page; the ones in flight are still delivered by next()."""
        self.stopping = True

    def fill(self) -> None:
        """Start pages until `concurrency` are in flight (none once stopping)."""
        while (
            not self.stopping and len(self._window) < self._concurrency and self._next <= self._last
        ):
            started = asyncio.ensure_future(self._fetch(self._next))
            started.set_name(f"keyapi_async page {self._next}")
            started.add_done_callback(_retrieve)
            self._window.append((self._next, started))
            self._next += 1

    async def next(self) -> tuple[int, R] | None:
        self.fill()
        if not self._window:
            return None
        page_num, task = self._window[0]
        try:
            result = await task
        except BaseException:
            await self.aclose()
            raise
        self._window.popleft()
        return page_num, result

    async def aclose(self) -> None:
        """Cancel the pages still in flight and wait until they are gone."""
        self.stopping = True
        tasks = [task for _, task in self._window]
        self._window.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def __del__(self) -> None:
        for _, task in self._window:
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                task.cancel()
