"""SQLiteCache when its file fails: locked, not a database, corrupted, missing, garbage rows,
a full disk, a disk that never answers. Each is a WARNING and a miss, never an exception, and
the cache recovers by itself once the file is healthy again."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from keyapi_async import SQLiteCache
from keyapi_async._cache import cache_key
from keyapi_async._cache._sqlite_store import Store
from keyapi_async._fingerprint import key_fingerprint
from tests.cache_helpers import warnings, worker, write_row

KEY = cache_key("detail", {"user_id": "42"}, key_fingerprint("sk_test_secret"))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "cache.sqlite"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="keyapi_async")
    return caplog


def rows(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [k for (k,) in conn.execute("SELECT key FROM keyapi_cache_v1")]


async def past(deadline: float) -> None:
    """Wait until the wall clock (expiry's clock: the processes share it) reads past deadline."""
    while time.time() <= deadline:  # noqa: ASYNC110 - a clock has no event to wait on
        await asyncio.sleep(0.01)


async def until_hit(cache: SQLiteCache, key: str, *, within: float = 10.0) -> bytes:
    """Poll for a value that comes back once the store recovers (it has no event to wait on)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if (value := await cache.get(key)) is not None:
            return value
        await asyncio.sleep(0.01)
    raise AssertionError(f"no hit within {within} s")


# --- failures: a WARNING and a miss, never an exception -------------------------------------


async def test_a_file_locked_by_another_process_is_a_miss_without_blocking_the_loop(path, logs):
    seed = SQLiteCache(path)
    await seed.set(KEY, b"body", ttl=60)
    await seed.aclose()
    other = sqlite3.connect(path, isolation_level=None)  # holds the whole file, readers too
    other.execute("PRAGMA locking_mode=EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("UPDATE keyapi_cache_v1 SET expires = expires")
    other.execute("COMMIT")

    cache = SQLiteCache(path, timeout=0.3)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    start = time.monotonic()
    assert await cache.get(KEY) is None
    waited = time.monotonic() - start
    queued = await asyncio.gather(*(cache.get(KEY) for _ in range(20)))
    assert ticks >= 3  # the loop ran while the thread waited for the lock
    ticker.cancel()
    assert waited < 0.3 + 1.0
    assert queued == [None] * 20  # the calls behind it did not each wait out the lock
    assert time.monotonic() - start < 2 * 0.3 + 1.0
    assert any("database is locked" in w for w in warnings(logs))

    other.close()
    assert await until_hit(cache, KEY) == b"body"  # no restart needed
    assert any("works again" in r.getMessage() for r in logs.records)
    await cache.aclose()


async def test_a_write_lock_held_elsewhere_drops_the_write_but_reads_go_on(path, logs):
    cache = SQLiteCache(path, timeout=0.2)
    await cache.set(KEY, b"body", ttl=60)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    await cache.set("detail:" + "1" * 64, b"new", ttl=60)  # waits 0.2 s, then gives up
    assert await cache.get(KEY) == b"body"  # WAL: a writer elsewhere never blocks a reader
    assert cache.failures == 1
    assert any("write failed" in w for w in warnings(logs))
    other.execute("ROLLBACK")
    other.close()
    deadline = time.monotonic() + 10
    while await cache.get("detail:" + "1" * 64) is None and time.monotonic() < deadline:
        await cache.set("detail:" + "1" * 64, b"new", ttl=60)
        await asyncio.sleep(0.01)
    assert await cache.get("detail:" + "1" * 64) == b"new"
    await cache.aclose()


async def test_a_file_that_is_not_a_database_is_a_miss_until_it_is_replaced(path, logs):
    path.write_bytes(b"this is not a SQLite database\n" * 200)
    cache = SQLiteCache(path)
    await cache.set(KEY, b"body", ttl=60)
    assert await cache.get(KEY) is None
    assert cache.failures == 2
    assert any("file is not a database" in w for w in warnings(logs))
    path.unlink()  # the operator removes the broken file
    await cache.set(KEY, b"body", ttl=60)
    assert await cache.get(KEY) == b"body"
    await cache.aclose()


async def test_a_database_corrupted_under_the_cache_is_a_miss(path, logs):
    cache = SQLiteCache(path)
    for i in range(60):
        await cache.set(f"detail:{i}", b"x" * 3000, ttl=60)
    await cache.aclose()
    with path.open("r+b") as f:  # keep the header, wreck the pages
        f.seek(4096)
        f.write(b"\xa5" * 4096 * 40)
    for i in range(60):
        assert await cache.get(f"detail:{i}") is None
    await cache.set("detail:more", b"x", ttl=60)
    assert any("malformed" in w for w in warnings(logs))
    await cache.aclose()


async def test_a_directory_that_does_not_exist_is_a_miss(tmp_path, logs):
    cache = SQLiteCache(tmp_path / "missing" / "cache.sqlite")
    await cache.set(KEY, b"body", ttl=60)
    assert await cache.get(KEY) is None
    assert any("unable to open" in w for w in warnings(logs))
    await cache.aclose()


@pytest.mark.parametrize(
    ("expires", "value"),
    [
        (1e12, b"garbage, not sealed"),
        (1e12, "a text value"),
        (1e12, b""),
        ("soon", b"KAC1" + b"\x00" * 16 + b"body"),
        (1e12, b"KAC1" + b"\x00" * 16 + b"body"),  # the tag, but the wrong digest
    ],
)
async def test_a_garbage_row_is_a_miss(path, logs, expires, value):
    cache = SQLiteCache(path)
    await cache.set(KEY, b"body", ttl=60)
    write_row(path, KEY, expires, value)  # as a bad tool or a bit flip might leave it
    assert await cache.get(KEY) is None
    assert any("garbage" in w for w in warnings(logs))
    await cache.aclose()


async def test_a_value_copied_under_another_key_is_a_miss(path, logs):
    cache = SQLiteCache(path)
    await cache.set("detail:a", b"the answer for a", ttl=60)
    with sqlite3.connect(path) as conn:
        (sealed,) = conn.execute("SELECT value FROM keyapi_cache_v1").fetchone()
    write_row(path, "detail:b", 1e12, sealed)
    assert await cache.get("detail:b") is None
    assert await cache.get("detail:a") == b"the answer for a"
    await cache.aclose()


def test_a_full_disk_drops_writes_with_a_warning_and_recovers(path):
    with worker("sqlite-full", str(path)) as proc:
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert result["failures"] > 0
    assert 0 < result["kept"] < 100  # what fitted is still served
    assert result["after"]  # with space again, writes are kept again
    assert "WARNING:keyapi_async" in err
    assert "write failed" in err


async def test_a_disk_that_never_answers_is_a_miss_after_a_bounded_wait(path, logs):
    # A hung disk cannot be made on demand; a store whose reads block stands in for one.
    released = threading.Event()

    class HungStore(Store):
        def get(self, key: str) -> bytes | None:
            released.wait(30)
            return None

    cache = SQLiteCache(path, timeout=0.1)
    cache._store = HungStore(str(path), timeout=0.1, health=cache._health)
    start = time.monotonic()
    assert await cache.get(KEY) is None
    assert time.monotonic() - start < 2 * 0.1 + 1.0 + 0.5
    assert any("no answer within" in w for w in warnings(logs))
    released.set()
    await cache.aclose()
