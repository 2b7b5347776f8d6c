"""Event hooks: `KeyAPI(event_hooks=[...])` sees every attempt of every call, and cache hits.

A hook is a plain function that receives one frozen `AttemptDetails` (stamina's shape): what was
asked, how it went, and the wait before the retry that follows, if any. It runs in the caller's
task, so a tracer's current span is the caller's. Nothing in the details can lead to the API key.
A hook that raises is logged at WARNING and does not fail the call: watching must not cost a pull.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import InvalidParameterError, KeyAPIError
from ._logging import logger

__all__ = ["AttemptDetails", "EventHook"]


@dataclass(frozen=True, slots=True)
class AttemptDetails:
    """One attempt of a call (or one cache hit), as a hook sees it.

    - `endpoint`: "list", "detail", "videos", "ranking" or "livestreams"; `page_num` for pages.
    - `attempt`: 1 for the first try, 2 for the first retry...; 0 for a cache hit.
    - `status`: the HTTP status the API meant (a 429 inside a 200 reads 429); None when no answer
      came (timeout, connection error) and for a cache hit. `code`: the body's code.
    - `error`: the typed error of a failed attempt; `wait`: seconds before the retry it gets,
      None when none follows.
    - `requests`: HTTP requests the attempt sent (redirect hops count; 0 for a cache hit).
    - `started` (Unix time) and `elapsed` (seconds) time the attempt.
    """

    endpoint: str
    page_num: int | None
    attempt: int
    status: int | None
    code: int | None
    error: KeyAPIError | None
    wait: float | None
    request_id: str | None
    cache_hit: bool
    requests: int
    started: float
    elapsed: float


EventHook = Callable[[AttemptDetails], object]


def checked_hooks(hooks: Any) -> tuple[EventHook, ...]:
    if callable(hooks):
        hooks = (hooks,)
    if not isinstance(hooks, Sequence) or isinstance(hooks, str):
        raise InvalidParameterError(
            "event_hooks", f"must be a list of functions taking AttemptDetails, got {hooks!r}"
        )
    for hook in hooks:
        if not callable(hook) or isinstance(hook, type):
            raise InvalidParameterError("event_hooks", f"{hook!r} is not a function")
        if inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(
            getattr(hook, "__call__", None)  # noqa: B004 - an object whose __call__ is async
        ):
            raise InvalidParameterError(
                "event_hooks",
                f"{hook!r} is async; hooks are plain functions, called in the request's task "
                "(hand the details to a queue or a task of your own if you must await)",
            )
    return tuple(hooks)


class CallTrace:
    """One call's attempts, for the hooks: made only when there are hooks."""

    __slots__ = (
        "attempt",
        "endpoint",
        "hooks",
        "page_num",
        "reported",
        "sent",
        "started",
        "wall",
    )

    def __init__(self, hooks: tuple[EventHook, ...], endpoint: str, page: str | None) -> None:
        self.hooks = hooks
        self.endpoint = endpoint
        self.page_num = int(page) if page is not None and page.isdigit() else None
        self.attempt = 0
        self.sent = 0
        self.reported = False  # the current attempt was emitted
        self.started = self.wall = 0.0

    def begin(self) -> None:
        self.attempt += 1
        self.sent = 0
        self.reported = False
        self.wall = time.time()
        self.started = time.perf_counter()

    def succeeded(self, status: int, request_id: str | None) -> None:
        self._emit(status, 0, None, None, request_id)

    def failed(self, error: KeyAPIError, wait: float | None) -> None:
        status = getattr(error, "status_code", None)
        code = getattr(error, "code", None)
        self._emit(status, code, error, wait, getattr(error, "request_id", None))

    def unreported(self) -> bool:
        return self.attempt > 0 and not self.reported

    def cancelled(self) -> None:
        """An attempt cancelled after it was sent: billed, so it is seen (no status, no error)."""
        self._emit(None, None, None, None, None)

    def cache_hit(self, request_id: str | None) -> None:
        details = AttemptDetails(
            self.endpoint,
            self.page_num,
            0,
            None,
            0,
            None,
            None,
            request_id,
            True,
            0,
            time.time(),
            0.0,
        )
        emit(self.hooks, details)

    def _emit(
        self,
        status: int | None,
        code: int | None,
        error: KeyAPIError | None,
        wait: float | None,
        request_id: str | None,
    ) -> None:
        self.reported = True
        elapsed = time.perf_counter() - self.started
        details = AttemptDetails(
            self.endpoint,
            self.page_num,
            self.attempt,
            status,
            code,
            error,
            wait,
            request_id,
            False,
            self.sent,
            self.wall,
            elapsed,
        )
        emit(self.hooks, details)


def emit(hooks: tuple[EventHook, ...], details: AttemptDetails) -> None:
    for hook in hooks:
        try:
            hook(details)
        except Exception as exc:
            logger.warning("event hook %r failed: %s: %s", hook, type(exc).__name__, exc)
