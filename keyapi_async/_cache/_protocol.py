"""What the client needs of a cache. Any object with these methods will do (see
docs/saving-credits.md, "Writing your own backend")."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

__all__ = ["FillLocking", "ResponseCache"]


@runtime_checkable
class ResponseCache(Protocol):
    """A store of raw answer bodies (HTTP 200, code 0), keyed by `cache_key`.

    A backend never raises for a failure of its storage: it logs a WARNING on the
    "keyapi_async" logger and answers a miss (`get`) or does nothing (`set`).
    """

    def ttl_for(self, endpoint: str) -> float:
        """Seconds an answer of `endpoint` ("list", "detail", "videos", "ranking",
        "livestreams") is kept; 0: do not cache it."""
        ...

    async def get(self, key: str) -> bytes | None:
        """The stored body, or None: a miss, expired, or unreadable."""
        ...

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        """Keep `value` for `ttl` seconds (nothing for ttl <= 0)."""
        ...

    async def aclose(self) -> None:
        """Release what the backend holds (files, threads). A later call reopens them."""
        ...


@runtime_checkable
class FillLocking(Protocol):
    """Optional, for a backend shared by many processes: while one holds `fill_lock(key)` and buys
    the answer, the others wait in theirs for its value. A holder that dies blocks them no longer
    than the lock's timeout."""

    def fill_lock(self, key: str) -> AbstractAsyncContextManager[None]: ...
