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

Leave early with `aclose()` or `async with`: a FanOut still referenced after a `break` keeps its
workers until it is dropped (they stop buying once its small buffer is full).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Generic, TypeVar

from ._errors import APIStatusError, FanOutError, KeyAPIError, ResponseDecodeError
from ._pagination import Paginator

T = TypeVar("T")

logger = logging.getLogger("keyapi_async")

_DONE = object()
SAME_FAILURE_LIMIT = 3  # first failures alike, with no success yet: the query, not the users


def about_one_user(exc: KeyAPIError) -> bool:
    """True for errors that concern one influencer rather than the whole pull."""
    if isinstance(exc, ResponseDecodeError):
        return not exc.retryable
    if isinstance(exc, APIStatusError):
        return 400 <= exc.status_code < 500 and exc.status_code not in (401, 402, 403, 429)
    return False


class _Work(Generic[T]):
    """What the workers share. It holds no reference to the FanOut, so dropping the FanOut (a
    `break` without aclose()) lets its __del__ run and stop them."""

    __slots__ = ("failures", "pull", "queue", "succeeded", "user_ids")

    def __init__(
        self, pull: Callable[[str], Paginator[T]], user_ids: Sequence[str], concurrency: int
    ) -> None:
        self.pull = pull
        self.user_ids = iter(user_ids)
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)  # in pages
        self.failures: dict[str, KeyAPIError] = {}
        self.succeeded = 0

    def shared_fault(self) -> bool:
        """The first failures all alike and nobody through yet: the shared query is at fault."""
        if self.succeeded or len(self.failures) < SAME_FAILURE_LIMIT:
            return False
        kinds = {(type(e), str(e).split(" (")[0]) for e in self.failures.values()}
        return len(kinds) == 1


async def _worker(work: _Work[T]) -> None:
    try:
        for user_id in work.user_ids:
            try:
                async for page in work.pull(user_id).pages():
                    await work.queue.put([(user_id, item) for item in page.items])
            except KeyAPIError as exc:
                if not about_one_user(exc):
                    raise
                work.failures[user_id] = exc
                logger.warning("fan-out: %s failed: %s", user_id, exc)
                if work.shared_fault():
                    raise
            else:
                work.succeeded += 1
    except Exception as exc:  # anything, or the consumer would wait for this worker forever
        await work.queue.put(exc)
    else:
        await work.queue.put(_DONE)


class FanOut(AsyncIterator[tuple[str, T]], Generic[T]):
    """Async iterator of `(user_id, item)`; `failures` maps user IDs to their errors."""

    __slots__ = (
        "_args",
        "_done",
        "_finished",
        "_pending",
        "_queue",
        "_workers",
        "failures",
    )

    def __init__(
        self, pull: Callable[[str], Paginator[T]], user_ids: Sequence[str], concurrency: int
    ) -> None:
        self._args = (pull, user_ids, min(concurrency, len(user_ids)))
        self._queue: asyncio.Queue[Any] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._finished = 0
        self._done = False
        self._pending: list[tuple[str, T]] = []
        self.failures: dict[str, KeyAPIError] = {}

    def _start(self) -> asyncio.Queue[Any]:
        # Nothing is sent until the first item is asked for.
        pull, user_ids, concurrency = self._args
        work = _Work(pull, user_ids, concurrency)
        self.failures = work.failures
        for n in range(concurrency):
            task = asyncio.ensure_future(_worker(work))
            task.set_name(f"keyapi_async fan-out worker {n}")
            self._workers.append(task)
        self._queue = work.queue
        return work.queue

    async def __anext__(self) -> tuple[str, T]:
        queue = self._queue or self._start()
        while not self._pending:
            if self._done or self._finished == len(self._workers):
                self._done = True
                if self.failures:
                    raise FanOutError(self.failures)
                raise StopAsyncIteration
            try:
                got = await queue.get()
            except BaseException:
                await self.aclose()
                raise
            if got is _DONE:
                self._finished += 1
            elif isinstance(got, Exception):
                await self.aclose()
                raise got
            else:
                self._pending = got[::-1]
        return self._pending.pop()

    async def __aenter__(self) -> FanOut[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every worker and wait until they are gone."""
        self._done = True
        for task in self._workers:
            task.cancel()
        if self._workers:
            await asyncio.wait(self._workers)

    def __del__(self) -> None:
        for task in self._workers:
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                task.cancel()
