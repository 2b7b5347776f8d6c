"""SQLiteCache on real files: expiry, purging, WAL sharing between real processes, and every
failure of the file (locked, corrupt, garbage rows, full disk) a WARNING and a miss."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keyapi_async import InvalidParameterError, SQLiteCache
from keyapi_async._cache import cache_key
from keyapi_async._cache._envelope import seal
from keyapi_async._cache._sqlite_store import PURGE_EVERY
from keyapi_async._fingerprint import key_fingerprint
from tests.cache_helpers import worker, write_row

KEY = cache_key("detail", {"user_id": "42"}, key_fingerprint("sk_test_secret"))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "cache.sqlite"


def rows(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [k for (k,) in conn.execute("SELECT key FROM keyapi_cache_v1")]


async def past(deadline: float) -> None:
    """Wait until the wall clock (expiry's clock: the processes share it) reads past deadline."""
    while time.time() <= deadline:  # noqa: ASYNC110 - a clock has no event to wait on
        await asyncio.sleep(0.01)


async def test_an_answer_is_kept_and_shared_with_another_cache_on_the_file(path):
    first = SQLiteCache(path)
    await first.set(KEY, b"body", ttl=60)
    second = SQLiteCache(str(path))
    assert await second.get(KEY) == b"body"
    assert await second.get("detail:" + "0" * 64) is None
    await first.aclose()
    await second.aclose()


async def test_the_file_is_in_wal_mode(path):
    cache = SQLiteCache(path)
    await cache.set(KEY, b"body", ttl=60)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    await cache.aclose()


async def test_an_expired_answer_is_never_served(path):
    cache = SQLiteCache(path)
    await cache.set(KEY, b"body", ttl=0.05)
    await past(time.time() + 0.05)
    assert await cache.get(KEY) is None
    # The same sealed row, a second past its time and then a minute before it:
    write_row(path, KEY, time.time() - 1, seal(KEY, b"body"))
    assert await cache.get(KEY) is None
    write_row(path, KEY, time.time() + 60, seal(KEY, b"body"))
    assert await cache.get(KEY) == b"body"
    await cache.aclose()


async def test_ttl_zero_stores_nothing(path):
    cache = SQLiteCache(path, ttl={"default": 0})
    await cache.set(KEY, b"body", ttl=cache.ttl_for("detail"))
    assert await cache.get(KEY) is None
    await cache.aclose()
    assert rows(path) == []


async def test_expired_rows_are_purged_at_the_first_write_and_then_every_few_hundred(path):
    cache = SQLiteCache(path)
    await cache.set("detail:old", b"body", ttl=0.01)
    await past(time.time() + 0.01)
    assert rows(path) == ["detail:old"]  # expired, but still in the file
    for i in range(PURGE_EVERY):
        await cache.set(f"list:{i}", b"page", ttl=60)
    assert "detail:old" not in rows(path)
    await cache.aclose()

    await cache.set("detail:old", b"body", ttl=0.01)
    stored = time.time()
    await cache.aclose()
    await past(stored + 0.01)
    reopened = SQLiteCache(path)
    await reopened.set("detail:new", b"body", ttl=60)  # a new cache: its first write purges
    assert "detail:old" not in rows(path)
    await reopened.aclose()


async def test_aclose_then_use_again_reopens(path):
    cache = SQLiteCache(path)
    await cache.aclose()  # before any use
    await cache.set(KEY, b"body", ttl=60)
    await cache.aclose()
    assert await cache.get(KEY) == b"body"
    await cache.aclose()
    await cache.aclose()


def test_import_keyapi_async_does_not_import_sqlite3():
    code = "import keyapi_async, sys; assert 'sqlite3' not in sys.modules, 'sqlite3 imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("bad", [None, 3, "", b"cache.sqlite"])
def test_path_must_be_a_file_path(bad):
    with pytest.raises(InvalidParameterError) as caught:
        SQLiteCache(bad)
    assert caught.value.parameter == "path"


@pytest.mark.parametrize("bad", [0, -1, float("nan"), 1e6, "1"])
def test_timeout_must_be_a_reasonable_number_of_seconds(bad):
    with pytest.raises(InvalidParameterError) as caught:
        SQLiteCache("x.sqlite", timeout=bad)
    assert caught.value.parameter == "timeout"


def test_repr_shows_the_file_and_settings():
    assert repr(SQLiteCache("c.sqlite", ttl={"detail": 60})) == (
        "SQLiteCache('c.sqlite', ttl={'detail': 60.0}, timeout=1)"
    )


def test_two_processes_share_one_file(path):
    n = "200"
    with (
        worker("sqlite-share", str(path), "a", "b", n) as first,
        worker("sqlite-share", str(path), "b", "a", n) as second,
    ):
        for proc in (first, second):
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            assert json.loads(out) == {"seen": 200, "right": 200, "failures": 0}
            assert "WARNING" not in err
