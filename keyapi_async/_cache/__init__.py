"""Response caches: answers bought once are kept and served again without a credit.

The client keys each answer with `cache_key` and asks the backend for it (`ResponseCache`);
backends: MemoryCache (this process), SQLiteCache (a file shared by processes) and, in
keyapi_async.redis, RedisCache (a fleet).
"""

from __future__ import annotations

from ._key import cache_key
from ._memory import MemoryCache
from ._protocol import FillLocking, ResponseCache
from ._sqlite import SQLiteCache
from ._ttl import DEFAULT, ENDPOINTS, TTLs

__all__ = [
    "DEFAULT",
    "ENDPOINTS",
    "FillLocking",
    "MemoryCache",
    "ResponseCache",
    "SQLiteCache",
    "TTLs",
    "cache_key",
]
