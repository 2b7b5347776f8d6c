"""What the cache tests share: the log they read and the worker processes they start."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@contextlib.contextmanager
def worker(*args: str) -> Iterator[subprocess.Popen[str]]:
    """`python -m tests.cache_worker ARGS`; killed, reaped and its pipes closed at the end."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.cache_worker", *args], cwd=ROOT, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        yield proc
    finally:
        proc.kill()  # a no-op once it has exited
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()
        proc.wait()


def tell(proc: subprocess.Popen[str], text: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(text + "\n")
    proc.stdin.flush()


def line(proc: subprocess.Popen[str]) -> dict[str, object]:
    """The next JSON line the worker prints."""
    assert proc.stdout is not None
    text = proc.stdout.readline()
    assert text, proc.stderr.read() if proc.stderr else "no output"
    return json.loads(text)


def write_row(path: Path, key: str, expires: object, value: object) -> None:
    """A row as another tool, or a bit flip, might leave it in a SQLiteCache file."""
    with sqlite3.connect(path) as conn:
        row = (key, expires, value)
        conn.execute("INSERT OR REPLACE INTO keyapi_cache_v1 VALUES (?, ?, ?)", row)
