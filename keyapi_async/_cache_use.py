"""The client's side of a response cache: look up, store, and never let the cache fail a call.

Backends promise not to raise for their storage (see _cache/_protocol.py); a backend someone
wrote may still, so every call into it here is guarded: a failure is a WARNING and a miss.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ._cache import ResponseCache
from ._endpoints import Endpoint
from ._errors import InvalidParameterError
from ._logging import logger
from ._usage import Usage

T = TypeVar("T")


async def lookup(
    cache: ResponseCache, endpoint: Endpoint[T], key: str, usage: Usage
) -> tuple[list[T], str | None] | None:
    """The cached answer, decoded as a fresh one would be; None: a miss (a broken entry or
    cache included: it costs a request, never the call)."""
    try:
        body = await cache.get(key)
        if body is None:
            return None
        records, request_id = endpoint.decoder.decode(200, body, retry_after=None)
    except Exception as exc:
        logger.warning("cache: %s entry unusable, buying it: %s", endpoint.name, _brief(exc))
        return None
    usage.cache_hits += 1
    return records, request_id


def checked_cache(cache: Any, parameter: str) -> ResponseCache | None:
    if cache is None:
        return None
    if isinstance(cache, type):
        raise InvalidParameterError(
            parameter, f"takes a cache object, not the class: {cache.__name__}(...)"
        )
    missing = [
        n for n in ("get", "set", "ttl_for", "aclose") if not callable(getattr(cache, n, None))
    ]
    if missing:
        raise InvalidParameterError(
            parameter,
            "must be a ResponseCache (MemoryCache, SQLiteCache, RedisCache, or any object with "
            f"ttl_for(), async get(), set() and aclose()); {type(cache).__name__} has no "
            + ", ".join(f"{n}()" for n in missing),
        )
    return cache  # type: ignore[no-any-return]


def ttl_of(cache: ResponseCache, endpoint: str) -> float:
    try:
        return float(cache.ttl_for(endpoint))
    except Exception as exc:
        logger.warning("cache: ttl_for(%r) failed, not caching: %s", endpoint, _brief(exc))
        return 0.0


async def store(cache: ResponseCache, key: str, body: bytes, ttl: float) -> None:
    if not body:
        return  # served from the cache under the fill lock: nothing new to store
    try:
        await cache.set(key, body, ttl=ttl)
    except Exception as exc:
        logger.warning("cache: could not store an answer: %s", _brief(exc))


def _brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


async def close_cache(cache: ResponseCache) -> None:
    try:
        await cache.aclose()
    except Exception as exc:
        logger.warning("cache: aclose() failed: %s", _brief(exc))
