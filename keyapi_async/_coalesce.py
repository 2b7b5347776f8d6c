"""Identical calls in flight share one request.

The first caller starts the request as a task; callers that ask for the same answer while it is
in flight wait on that task instead of sending their own, so they cost no credit and no limiter
slot. The task runs for whoever still waits: a caller that is cancelled (the first one included)
only stops waiting. When the last one leaves, the task is cancelled and awaited, so no request
outlives everyone who wanted it; except one already sent whose answer a cache will keep: it is
paid for, so it runs on, owned by the client (closing the client cancels and awaits it). An
error reaches the callers waiting at that moment and is not remembered: the next call sends
again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _SharedCall(Generic[T]):
    __slots__ = ("keep_when_sent", "sent", "task", "waiters")

    def __init__(self, keep_when_sent: bool) -> None:
        self.task: asyncio.Task[T] | None = None
        self.waiters = 0
        self.sent = False  # a request of this call reached the server: its answer is paid for
        self.keep_when_sent = keep_when_sent


_current: ContextVar[_SharedCall[Any] | None] = ContextVar("keyapi_async_shared", default=None)


def mark_sent() -> None:
    """Called as a request goes out: if it serves a shared call, that call is now paid for."""
    call = _current.get()
    if call is not None:
        call.sent = True


class InFlight:
    """The calls in flight of one client (and its views), by what they ask."""

    __slots__ = ("_calls", "_paid")

    def __init__(self) -> None:
        self._calls: dict[Hashable, _SharedCall[Any]] = {}
        self._paid: set[asyncio.Task[Any]] = set()  # abandoned, sent, finishing for the cache

    def __len__(self) -> int:
        return len(self._calls)

    async def join(
        self,
        key: Hashable,
        start: Callable[[], Coroutine[Any, Any, T]],
        on_shared: Callable[[], None],
        *,
        keep_when_sent: bool,
    ) -> T:
        """The answer to `key`, from a request of its own or from one already in flight."""
        call = self._calls.get(key)
        if call is None:
            call = self._start(key, start, keep_when_sent)
        else:
            on_shared()
        task = call.task
        assert task is not None
        call.waiters += 1
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if call.waiters == 1 and not task.done():
                await self._abandon(key, call, task)
            raise
        finally:
            call.waiters -= 1

    def _start(
        self, key: Hashable, start: Callable[[], Coroutine[Any, Any, T]], keep_when_sent: bool
    ) -> _SharedCall[T]:
        call: _SharedCall[T] = _SharedCall(keep_when_sent)

        async def run() -> T:
            _current.set(call)  # the task's own context: seen by mark_sent()
            return await start()

        call.task = asyncio.get_running_loop().create_task(
            run(), name="keyapi_async shared request"
        )
        self._calls[key] = call
        call.task.add_done_callback(lambda task: self._forget(key, call, task))
        return call

    async def _abandon(
        self, key: Hashable, call: _SharedCall[Any], task: asyncio.Task[Any]
    ) -> None:
        """The last caller left: keep a paid answer for the cache, else cancel and await."""
        if call.sent and call.keep_when_sent:
            self._paid.add(task)  # a newcomer may still join it
            return
        del self._calls[key]  # a newcomer starts afresh, never joins a dying task
        task.cancel()
        await asyncio.wait((task,))

    def _forget(self, key: Hashable, call: _SharedCall[Any], task: asyncio.Task[Any]) -> None:
        if self._calls.get(key) is call:
            del self._calls[key]
        self._paid.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: the waiters that were there have it

    async def aclose(self) -> None:
        """Cancel and await what runs on for the cache after its callers left."""
        paid = list(self._paid)
        for task in paid:
            task.cancel()
        if paid:
            await asyncio.wait(paid)
