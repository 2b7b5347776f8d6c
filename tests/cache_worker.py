"""One OS process sharing a cache, for the cross-process cache tests:
`python -m tests.cache_worker MODE ...`. It prints JSON lines the test reads as they come.

- `sqlite-share PATH ME OTHER N`: write N entries of its own, then wait for N of OTHER's.
- `sqlite-full PATH`: fill the file under a file-size limit (a full disk), then lift the limit.
- `redis-hold URL KEY LOCK_TIMEOUT`: take fill_lock(KEY), say so, and on a line from stdin set
  the value and leave the lock (or be killed holding it).
- `redis-wait URL KEY LOCK_TIMEOUT`: say it is about to ask, then wait in fill_lock(KEY) and
  report what it found inside and how long it waited.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import signal
import sys
import time
from typing import Any

from keyapi_async import SQLiteCache


def say(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


async def sqlite_share(path: str, me: str, other: str, n: int) -> None:
    cache = SQLiteCache(path)
    for i in range(n):
        await cache.set(f"detail:{me}-{i}", f"{me} {i}".encode(), ttl=60)
    deadline = time.monotonic() + 30
    seen: dict[int, bytes | None] = {}
    while len(seen) < n and time.monotonic() < deadline:
        for i in range(n):
            if i not in seen and (value := await cache.get(f"detail:{other}-{i}")) is not None:
                seen[i] = value
        await asyncio.sleep(0.01)
    right = sum(seen[i] == f"{other} {i}".encode() for i in seen)
    say(seen=len(seen), right=right, failures=cache.failures)
    await cache.aclose()


async def sqlite_full(path: str) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, hard))
    cache = SQLiteCache(path)
    body = b"x" * 3000
    for i in range(100):
        await cache.set(f"detail:{i}", body, ttl=60)
    kept = [i for i in range(100) if await cache.get(f"detail:{i}") == body]
    full_failures = cache.failures
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space again
    await cache.set("detail:after", body, ttl=60)
    after = await cache.get("detail:after") == body
    say(kept=len(kept), failures=full_failures, after=after)
    await cache.aclose()


async def redis_hold(url: str, key: str, lock_timeout: float) -> None:
    from redis.asyncio import Redis

    from keyapi_async.redis import RedisCache

    redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    cache = RedisCache(redis, lock_timeout=lock_timeout)
    async with cache.fill_lock(key):
        before = await cache.get(key)
        say(locked=True, found=before is not None)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await cache.set(key, b"bought by the holder", ttl=60)
    say(released=True)
    await redis.aclose()


async def redis_wait(url: str, key: str, lock_timeout: float) -> None:
    from redis.asyncio import Redis

    from keyapi_async.redis import RedisCache

    redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    cache = RedisCache(redis, lock_timeout=lock_timeout)
    say(asking=True)
    start = time.monotonic()
    async with cache.fill_lock(key):
        waited = time.monotonic() - start
        value = await cache.get(key)
    say(waited=waited, value=None if value is None else value.decode(), failures=cache.failures)
    await redis.aclose()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    mode, *args = sys.argv[1:]
    if mode == "sqlite-share":
        asyncio.run(sqlite_share(args[0], args[1], args[2], int(args[3])))
    elif mode == "sqlite-full":
        asyncio.run(sqlite_full(args[0]))
    elif mode == "redis-hold":
        asyncio.run(redis_hold(args[0], args[1], float(args[2])))
    elif mode == "redis-wait":
        asyncio.run(redis_wait(args[0], args[1], float(args[2])))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
