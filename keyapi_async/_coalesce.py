"""Identical calls in flight share one request.

The first caller sends the request in its own task; callers that ask for the same answer while
it is in flight wait for that answer instead of sending their own, so they cost no credit and no
limiter slot. The request belongs to the first caller, as it would without sharing: cancelling
that caller cancels it (structured: nothing runs on for nobody), and one of the callers still
waiting then takes over with a request of its own, so they are not failed by someone else's
cancellation. A waiting caller that is cancelled only stops waiting. An error reaches the callers
waiting at that moment and is not remembered: the next call sends again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _TakeOver:
    """The first caller was cancelled: a waiting caller sends the request itself."""


_TAKE_OVER = _TakeOver()


class _SharedCall(Generic[T]):
    __slots__ = ("answer", "tag", "waiting")

    def __init__(self, tag: object) -> None:
        self.answer: asyncio.Future[T | _TakeOver] | None = None  # made by the first waiter
        self.tag = tag  # what the first caller says of its request (the client: its cache)
        self.waiting = 0  # callers other than the first, waiting for its answer


class InFlight:
    """The calls in flight of one client (and its views), by what they ask."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[Hashable, _SharedCall[Any]] = {}

    def __len__(self) -> int:
        return len(self._calls)

    async def join(
        self, key: Hashable, send: Callable[[], Awaitable[T]], *, tag: object = None
    ) -> tuple[T, tuple[object] | None]:
        """The answer to `key`, and None if it came from this caller's own request, else (the
        `tag` of the caller whose request it shared,)."""
        while True:
            call = self._calls.get(key)
            if call is None:
                return await self._send(key, send, tag), None
            if call.answer is None:
                call.answer = asyncio.get_running_loop().create_future()
            call.waiting += 1
            try:
                # shield: a waiter's cancellation must not cancel the answer the others wait for
                answer = await asyncio.shield(call.answer)
            finally:
                call.waiting -= 1
            if not isinstance(answer, _TakeOver):
                return answer, (call.tag,)

    async def _send(self, key: Hashable, send: Callable[[], Awaitable[T]], tag: object) -> T:
        call: _SharedCall[T] = _SharedCall(tag)
        self._calls[key] = call
        try:
            result = await send()
        except asyncio.CancelledError:
            self._end(key, call)
            if call.waiting and call.answer is not None:
                call.answer.set_result(_TAKE_OVER)
            raise
        except BaseException as exc:
            self._end(key, call)
            if call.waiting and call.answer is not None:  # for those waiting now, not later
                call.answer.set_exception(exc)
            raise
        self._end(key, call)
        if call.waiting and call.answer is not None:
            call.answer.set_result(result)
        return result

    def _end(self, key: Hashable, call: _SharedCall[Any]) -> None:
        if self._calls.get(key) is call:
            del self._calls[key]
