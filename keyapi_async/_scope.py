"""Who owns a stream's worker tasks, and so when they stop.

`async with stream:` is deterministic: leaving the block by any route cancels every worker and
waits until they are gone. A bare `async for` has no block to leave, so its workers are tied to
the task consuming it instead: the first `__anext__` remembers that task, and when it finishes
(returns, raises, is cancelled) a done-callback cancels the workers. Dropping the stream cancels
them too (`__del__`). Nothing here refers to the stream, so its workers never keep it alive.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, TypeVar

from ._errors import KeyAPIError

__all__ = ["Workers"]

R = TypeVar("R")


def _retrieve(task: asyncio.Future[Any]) -> None:
    # A worker may fail after nobody cares any more; reading the error here keeps asyncio
    # from logging "exception was never retrieved".
    if not task.cancelled():
        task.exception()


class Workers:
    """The worker tasks of one stream."""

    __slots__ = ("_owner", "closed", "orphaned", "scoped", "tasks")

    def __init__(self) -> None:
        self.tasks: set[asyncio.Future[Any]] = set()
        self._owner: asyncio.Task[Any] | None = None
        self.closed = False
        self.scoped = False  # inside `async with`: the block owns the workers, not a task
        self.orphaned = False  # stopped because the consuming task ended

    def bind(self) -> None:
        """Tie the workers to the task running now (the consumer); once is enough. Raises if
        they were stopped when an earlier consuming task ended."""
        if self.orphaned:
            raise KeyAPIError(
                "this stream stopped when the task iterating it ended; to iterate it from "
                "several tasks (e.g. asyncio.wait_for(anext(stream), ...)), use `async with`"
            )
        if self._owner is None and not self.closed and not self.scoped:
            owner = asyncio.current_task()
            if owner is not None:
                self._owner = owner
                owner.add_done_callback(self._owner_done)

    def scope(self) -> None:
        """`async with` owns the workers from here: no task tie."""
        self.scoped = True
        owner, self._owner = self._owner, None
        if owner is not None:
            owner.remove_done_callback(self._owner_done)

    def _owner_done(self, _: asyncio.Task[Any]) -> None:
        self._owner = None
        self.orphaned = bool(self.tasks)
        self.cancel()

    def spawn(self, work: Awaitable[R], name: str) -> asyncio.Future[R]:
        task = asyncio.ensure_future(work)
        if isinstance(task, asyncio.Task):
            task.set_name(name)
        task.add_done_callback(_retrieve)
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)
        return task

    def cancel(self) -> None:
        """Start nothing more and cancel every worker (without waiting)."""
        self.closed = True
        owner, self._owner = self._owner, None
        if owner is not None:
            owner.remove_done_callback(self._owner_done)
        for task in list(self.tasks):
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                task.cancel()

    async def aclose(self) -> None:
        """Cancel every worker and wait until they are gone."""
        self.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks))
