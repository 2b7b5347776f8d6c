"""The fan-out's workers: each takes the next user ID and pages through it, one page per slot.

A slot is taken before a page is requested and given back when the consumer takes the page, so
at most `concurrency` pages are bought ahead of the consumer. What they produce goes into one
queue: FanOutPage objects, None (a failed user's slot), an exception, or DONE.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ._errors import APIStatusError, KeyAPIError, ResponseDecodeError
from ._logging import logger
from ._pagination import Paginator

__all__ = ["DONE", "SAME_FAILURE_LIMIT", "FanOutPage", "Work", "about_one_user", "worker"]

T = TypeVar("T")

DONE = object()
SAME_FAILURE_LIMIT = 3  # first failures alike, with no success yet: the query, not the users


def about_one_user(exc: KeyAPIError) -> bool:
    """True for errors that concern one influencer rather than the whole pull."""
    if isinstance(exc, ResponseDecodeError):
        return not exc.retryable
    if isinstance(exc, APIStatusError):
        return 400 <= exc.status_code < 500 and exc.status_code not in (401, 402, 403, 429)
    return False


class Work(Generic[T]):
    """What the workers share. It holds no reference to the FanOut, so dropping the FanOut (a
    `break` without aclose()) lets its __del__ run and stop them."""

    __slots__ = (
        "failures",
        "fatal",
        "pull",
        "queue",
        "slots",
        "starts",
        "stopping",
        "succeeded",
        "user_ids",
    )

    def __init__(
        self,
        pull: Callable[[str], Paginator[T]],
        user_ids: Sequence[str],
        concurrency: int,
        starts: Mapping[str, int],
    ) -> None:
        self.pull = pull
        self.user_ids = iter(user_ids)
        self.starts = dict(starts)  # user_id -> the page to start from (default 1)
        # A slot is taken before a page is requested and given back when the consumer takes
        # the page: at most `concurrency` pages are bought ahead of the consumer.
        self.slots = asyncio.Semaphore(concurrency)
        self.queue: asyncio.Queue[Any] = asyncio.Queue()  # bounded by the slots
        self.failures: dict[str, KeyAPIError] = {}
        self.fatal: BaseException | None = None  # a whole-pull failure: start nothing more
        self.stopping = False  # a graceful stop: start nothing more either
        self.succeeded = 0

    def shared_fault(self) -> bool:
        """The first failures all alike and nobody through yet: the shared query is at fault."""
        if self.succeeded or len(self.failures) < SAME_FAILURE_LIMIT:
            return False
        kinds = {
            (type(e), getattr(e, "status_code", None), getattr(e, "code", None))
            for e in self.failures.values()
        }
        return len(kinds) == 1


@dataclass(frozen=True, slots=True)
class FanOutPage(Generic[T]):
    """One page of one influencer's items, from `FanOut.pages()`. `last`: their list ended
    here (then `items` may be empty: an empty page, bought, ended it)."""

    user_id: str
    items: list[T]
    page_num: int
    last: bool


async def _pages(work: Work[T], user_id: str) -> bool:
    """One user's pages into the queue, each bought only once a slot is free. False when
    stopped (stop(), or another worker's whole-pull failure)."""
    start = work.starts.get(user_id, 1)
    pages = work.pull(user_id)._from_page(start).pages()
    page_num = start
    while True:
        await work.slots.acquire()
        if work.fatal is not None or work.stopping:
            work.slots.release()
            return False
        try:
            page = await pages.__anext__()
        except StopAsyncIteration:
            # The page that ended this user was paid for and brought nothing: its slot still
            # waits for the consumer, or a consumer that stopped reading would let the workers
            # walk every remaining user ID, a credit each.
            work.queue.put_nowait(FanOutPage(user_id, [], page_num, True))
            return True
        except BaseException as exc:
            if isinstance(exc, KeyAPIError) and about_one_user(exc):
                work.queue.put_nowait(None)  # a failed user costs a credit too: same rule
            else:
                work.slots.release()
            raise
        page_num = page.page_num + 1
        work.queue.put_nowait(FanOutPage(user_id, page.items, page.page_num, pages.reached_end))
        if pages.reached_end:
            return True


async def worker(work: Work[T]) -> None:
    try:
        for user_id in work.user_ids:
            try:
                if not await _pages(work, user_id):
                    break
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
        if work.fatal is None:
            work.fatal = exc  # the others start nothing more; what they are buying still comes
        work.queue.put_nowait(exc)
    work.queue.put_nowait(DONE)
