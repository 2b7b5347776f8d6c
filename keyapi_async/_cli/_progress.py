"""A one-line progress display on stderr, only when stderr is a terminal.

The line is redrawn in place (carriage return, erase to end of line) at most ten times a second
by a background task, so a slow page or a retry wait still shows time passing; it is cleared at
the end. When the stream is not a TTY (a pipe, a file, CI logs) nothing at all is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections import deque
from typing import TextIO

from .. import Usage

__all__ = ["Progress"]

REDRAW_INTERVAL = 0.1  # seconds: at most 10 redraws per second
_RATE_WINDOW = 5.0  # requests per second over the last few seconds
_ERASE = "\r\x1b[K"


class Progress:
    """Counters of the run, drawn to `stream` when enabled."""

    def __init__(self, stream: TextIO, usage: Usage, *, enabled: bool, total: int | None) -> None:
        self.stream = stream
        self.usage = usage
        self.enabled = enabled
        self.total = total  # the --limit, when there is one
        self.pages = 0
        self.items = 0
        self.note = ""
        self._started = time.monotonic()
        self._samples: deque[tuple[float, int]] = deque([(self._started, 0)])
        self._task: asyncio.Task[None] | None = None
        self._drawn = False

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.ensure_future(self._tick())

    async def _tick(self) -> None:
        while True:
            self.draw()
            await asyncio.sleep(REDRAW_INTERVAL)

    def add(self, pages: int, items: int) -> None:
        self.pages += pages
        self.items += items

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def rate(self) -> float:
        """Requests per second over the last few seconds (at least one second: no wild
        figures from the first milliseconds)."""
        now = time.monotonic()
        self._samples.append((now, self.usage.requests))
        while len(self._samples) > 2 and now - self._samples[1][0] >= _RATE_WINDOW:
            self._samples.popleft()
        then, before = self._samples[0]
        return (self.usage.requests - before) / max(now - then, 1.0)

    def line(self) -> str:
        items = f"{self.items:,}" + (f"/{self.total:,}" if self.total else "")
        parts = [
            f"pages {self.pages:,}",
            f"items {items}",
            f"credits {self.usage.credits:,}",
            f"{self.rate():.1f} req/s",
            f"retries {self.usage.retries:,}",
            f"{self.elapsed:.0f}s",
        ]
        text = " | ".join(parts)
        return f"{text} | {self.note}" if self.note else text

    def draw(self) -> None:
        if not self.enabled:
            return
        width = shutil.get_terminal_size((80, 24)).columns
        self.stream.write(_ERASE + self.line()[: max(width - 1, 10)])
        self.stream.flush()
        self._drawn = True

    async def close(self) -> None:
        """Stop redrawing and clear the line."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._drawn:
            self.stream.write(_ERASE)
            self.stream.flush()
            self._drawn = False

    def say(self, message: str) -> None:
        """A final line (a summary), only on a terminal."""
        if self.enabled:
            self.stream.write(message + "\n")
            self.stream.flush()
