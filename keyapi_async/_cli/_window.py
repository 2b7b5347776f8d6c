"""Pages fetched `concurrency` at a time and delivered in page order, with a graceful stop.

The SDK paginator's own window cancels the pages in flight when iteration stops, which is right
for a program but would make a resumed CLI run buy those pages again. This window can `stop()`:
no new page is started, the pages already in flight are still delivered (they are paid for), and
the caller writes them before exiting. `aclose()` cancels what is still in flight.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

__all__ = ["PageWindow"]

R = TypeVar("R")


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # read, so asyncio does not log "exception was never retrieved"


class PageWindow(Generic[R]):
    """`await window.next()` -> (page number, result) in page order, or None at the end."""

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

    async def next(self) -> tuple[int, R] | None:
        # Pages are started here, not after a delivery: a stop() between two next() calls
        # then starts nothing more.
        while (
            not self.stopping and len(self._window) < self._concurrency and self._next <= self._last
        ):
            started = asyncio.ensure_future(self._fetch(self._next))
            started.add_done_callback(_retrieve)
            self._window.append((self._next, started))
            self._next += 1
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
