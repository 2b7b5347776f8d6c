"""Identical calls in flight share one request.

The first caller starts the request as a task; callers that ask for the same answer while it is
in flight wait on that task instead of sending their own, so they cost no credit and no limiter
slot. The task runs for whoever still waits: a caller that is cancelled (the first one included)
only stops waiting, and the last one to leave cancels the task and waits for it to end, so no
request outlives everyone who wanted it. An error reaches the callers waiting at that moment
and is not remembered: the next call sends again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _SharedCall(Generic[T]):
    __slots__ = ("task", "waiters")

    def __init__(self, task: asyncio.Task[T]) -> None:
        self.task = task
        self.waiters = 0


class InFlight:
    """The calls in flight of one client (and its views), by what they ask."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[Hashable, _SharedCall[object]] = {}

    def __len__(self) -> int:
        return len(self._calls)

    async def join(
        self,
        key: Hashable,
        start: Callable[[], Coroutine[Any, Any, T]],
        on_shared: Callable[[], None],
    ) -> tuple[T, bool]:
        """The answer to `key`, and whether it came from another caller's request."""
        call = self._calls.get(key)
        shared = call is not None
        if call is None:
            task = asyncio.get_running_loop().create_task(
                start(), name="keyapi_async shared request"
            )
            call = _SharedCall(task)
            self._calls[key] = call
            call.task.add_done_callback(lambda _: self._forget(key, call))
        else:
            on_shared()
        call.waiters += 1
        try:
            result = await asyncio.shield(call.task)
        except asyncio.CancelledError:
            call.waiters -= 1
            if call.waiters == 0 and not call.task.done():
                call.task.cancel()  # nobody wants it any more
                await asyncio.wait((call.task,))
            raise
        call.waiters -= 1
        return result, shared  # type: ignore[return-value]  # the task of `key` makes a T

    def _forget(self, key: Hashable, call: _SharedCall[object]) -> None:
        if self._calls.get(key) is call:
            del self._calls[key]
        if not call.task.cancelled():
            call.task.exception()  # retrieved: the waiters that were there have it
