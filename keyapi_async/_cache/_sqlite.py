"""SQLiteCache: answers kept in a SQLite file that every process opening it shares."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import InvalidParameterError
from .._params import finite_number
from ._health import Health
from ._ttl import TTLs

if TYPE_CHECKING:
    from ._sqlite_store import Store

__all__ = ["SQLiteCache"]

T = TypeVar("T")


class _LoopTimeout(Exception):
    """The worker thread did not answer in time (a hung disk, a long queue)."""


class SQLiteCache:
    """Answers kept in the SQLite file at `path` for `ttl` seconds (one number, or a mapping
    endpoint name -> seconds whose "default" entry, else 86400, covers the names it leaves out).

    Every client and process that opens the same file shares its entries (WAL mode; expiry on
    the wall clock, which they share). The file is used by one worker thread of this cache, never
    the event loop. A call waits at most `timeout` seconds for a lock another process holds;
    after that, and for any other failure of the file (corrupt, unreadable, disk full), it is a
    miss, logged at WARNING. Expired rows are never served, and are deleted at each open and
    every few hundred writes. Delete the file to start over.
    """

    __slots__ = ("_executor", "_health", "_store", "_ttls", "path", "timeout")

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        ttl: float | Mapping[str, float] = 86_400,
        timeout: float = 1.0,
    ) -> None:
        try:
            self.path = os.fspath(path)
        except TypeError:
            self.path = None  # type: ignore[assignment]
        if not isinstance(self.path, str) or not self.path:
            raise InvalidParameterError(
                "path", f"must be a file path (str or os.PathLike[str]), got {path!r}"
            )
        self._ttls = TTLs(ttl, fallback=86_400.0)
        if not finite_number(timeout) or not 0 < timeout <= 600:
            raise InvalidParameterError(
                "timeout", f"must be a finite number of seconds in (0, 600], got {timeout!r}"
            )
        self.timeout = float(timeout)
        self._health = Health(f"SQLiteCache({self.path!r})")
        # Imported here: a Python built without sqlite3 can still `import keyapi_async`.
        from ._sqlite_store import Store

        self._store: Store = Store(self.path, timeout=self.timeout, health=self._health)
        self._executor: ThreadPoolExecutor | None = None

    @property
    def failures(self) -> int:
        """Operations the file failed (each one a miss or a write not kept)."""
        return self._health.failures

    def ttl_for(self, endpoint: str) -> float:
        return self._ttls(endpoint)

    async def get(self, key: str) -> bytes | None:
        return await self._run("read", self._store.get, key, default=None)

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        if not ttl > 0:  # also NaN
            return
        expires = time.time() + min(ttl, 1e12)
        await self._run("write", self._store.set, key, bytes(value), expires, default=None)

    async def aclose(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        await self._on(executor, "close", self._store.close, default=None)
        executor.shutdown(wait=False)

    async def _run(self, action: str, fn: Callable[..., T], *args: Any, default: T) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="keyapi-sqlite-cache")
        return await self._on(self._executor, action, fn, *args, default=default)

    async def _on(
        self, executor: ThreadPoolExecutor, action: str, fn: Callable[..., T], *args: Any,
        default: T,
    ) -> T:  # fmt: skip
        work = asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        try:
            # The thread waits `timeout` for a lock; this bounds a hung disk and the queue.
            return await asyncio.wait_for(work, self._patience)
        except asyncio.TimeoutError:
            self._health.failed(action, _LoopTimeout(f"no answer within {self._patience:g} s"))
            return default

    @property
    def _patience(self) -> float:
        return 2 * self.timeout + 1.0

    def __repr__(self) -> str:
        return f"SQLiteCache({self.path!r}, ttl={self._ttls!r}, timeout={self.timeout:g})"
