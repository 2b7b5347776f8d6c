"""The synchronous half of SQLiteCache: one connection, used only by the cache's worker thread.

Every failure is caught here and reported to the cache's Health: a read answers None, a write
does nothing. After a failure the connection is closed, so the next operation opens the file
afresh (a file replaced, unlocked or given space again just works).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time

from ._envelope import open_sealed, seal
from ._health import Health

__all__ = ["PURGE_EVERY", "Store"]

PURGE_EVERY = 500  # writes between two purges of expired rows, the first write included

_SCHEMA = """CREATE TABLE IF NOT EXISTS keyapi_cache_v1 (
    key TEXT PRIMARY KEY,
    expires REAL NOT NULL,  -- Unix time: every process sharing the file reads the same clock
    value BLOB NOT NULL     -- sealed (see _envelope): a garbage row reads as a miss
) WITHOUT ROWID"""


class CorruptEntry(Exception):
    """A row that is not a value this cache wrote for its key."""


class Store:
    __slots__ = (
        "_conn",
        "_file",
        "_health",
        "_reads_held",
        "_writes",
        "_writes_held",
        "path",
        "timeout",
    )

    def __init__(self, path: str, *, timeout: float, health: Health) -> None:
        self.path = path
        self.timeout = timeout
        self._health = health
        self._conn: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None  # (device, inode) of the file it has open
        self._writes = 0
        # After a call waited out the lock timeout, the calls queued behind it answer at once
        # until then (monotonic). A held write lock stops writes only: WAL readers still read.
        self._reads_held = self._writes_held = 0.0

    def _on_disk(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self.path)
        except OSError:
            return None
        return found.st_dev, found.st_ino

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._on_disk() != self._file:
            # Deleted or replaced under us: start over on what is at the path now, as the
            # other processes do, instead of a file nobody else can see.
            self._conn.close()
            self._conn = None
        if self._conn is None:
            # Autocommit: each statement is its own short transaction, so a lock is held briefly.
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            try:
                # WAL: readers in other processes never wait for a writer, nor it for them.
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # a cache may lose its last writes
                conn.execute(_SCHEMA)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
            self._file = self._on_disk()
        return self._conn

    def get(self, key: str) -> bytes | None:
        if self._reads_held > time.monotonic():
            return None
        started = time.monotonic()
        try:
            row = (
                self._connection()
                .execute("SELECT expires, value FROM keyapi_cache_v1 WHERE key = ?", (key,))
                .fetchone()
            )
        except sqlite3.Error as exc:
            self._broken("read", exc, started)
            return None
        self._health.ok()
        if row is None:
            return None
        expires, stored = row
        if isinstance(expires, (int, float)) and expires <= time.time():
            return None  # expired: never served; the next purge removes it
        body = open_sealed(key, stored) if isinstance(expires, (int, float)) else None
        if body is None:
            self._health.failed("read", CorruptEntry(f"entry {key.split(':')[0]}:... is garbage"))
        return body

    def set(self, key: str, value: bytes, expires: float) -> None:
        if self._writes_held > time.monotonic():
            return
        started = time.monotonic()
        try:
            conn = self._connection()
            if self._writes % PURGE_EVERY == 0:
                self._purge(conn)
            conn.execute(
                "INSERT OR REPLACE INTO keyapi_cache_v1 (key, expires, value) VALUES (?, ?, ?)",
                (key, expires, seal(key, value)),
            )
            self._writes += 1
        except sqlite3.Error as exc:
            if "full" in str(exc):  # SQLITE_FULL: expired rows' pages can take new ones
                self._purge_quietly()
            self._broken("write", exc, started)
            return
        self._health.ok()

    def _purge(self, conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM keyapi_cache_v1 WHERE expires <= ?", (time.time(),))

    def _purge_quietly(self) -> None:
        # The write's own failure is what gets reported.
        with contextlib.suppress(sqlite3.Error):
            if self._conn is not None:
                self._purge(self._conn)

    def _broken(self, action: str, exc: sqlite3.Error, started: float) -> None:
        self._health.failed(action, exc)
        now = time.monotonic()
        if now - started >= self.timeout:
            self._writes_held = now + self.timeout
            if action == "read":
                self._reads_held = self._writes_held
        if "locked" not in str(exc) and "busy" not in str(exc):
            self.close()  # the next call opens the file afresh (replaced, repaired, given space)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
