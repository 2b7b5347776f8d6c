"""MemoryCache: answers kept in this process, least recently used dropped first."""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Mapping

from .._errors import InvalidParameterError
from ._ttl import TTLs

__all__ = ["MemoryCache"]


class MemoryCache:
    """Answers kept in memory for `ttl` seconds (one number, or a mapping endpoint name ->
    seconds whose "default" entry, else 3600, covers the names it leaves out), at most
    `max_entries` of them; past that the least recently used goes.

    Expiry runs on the monotonic clock, so a change of the system time neither keeps an answer
    longer nor drops it early. One cache may serve many clients of this process; it outlives
    them (`aclose` keeps the entries).
    """

    __slots__ = ("_entries", "_ttls", "max_entries")

    def __init__(
        self, *, ttl: float | Mapping[str, float] = 3600, max_entries: int = 10_000
    ) -> None:
        self._ttls = TTLs(ttl, fallback=3600.0)
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise InvalidParameterError(
                "max_entries", f"must be a whole number >= 1, got {max_entries!r}"
            )
        self.max_entries = max_entries
        # key -> (monotonic expiry, body); the order is the order of last use
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def ttl_for(self, endpoint: str) -> float:
        return self._ttls(endpoint)

    async def get(self, key: str) -> bytes | None:
        entries = self._entries
        entry = entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            entries.pop(key, None)
            return None
        # A cache shared by loops in several threads: another may have just dropped the key.
        with contextlib.suppress(KeyError):
            entries.move_to_end(key)
        return entry[1]

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        if not ttl > 0:  # also NaN
            return
        entries = self._entries
        entries.pop(key, None)  # a new entry is the most recently used
        entries[key] = (time.monotonic() + min(ttl, 1e12), bytes(value))
        while len(entries) > self.max_entries:
            with contextlib.suppress(KeyError):
                entries.popitem(last=False)

    async def aclose(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        shown = f"ttl={self._ttls!r}, max_entries={self.max_entries}, entries={len(self)}"
        return f"MemoryCache({shown})"
