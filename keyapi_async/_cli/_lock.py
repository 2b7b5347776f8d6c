"""One run per output file: a second run (a cron job whose last run is still going, a second
terminal's `--resume`) is refused before it sends anything, instead of buying the first run's
pages again into the same file. An advisory lock on `FILE.lock` (POSIX flock); where flock does
not exist (Windows) there is no lock."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ._errors import UsageError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def output_lock(output: Path | None) -> Iterator[None]:
    if output is None or fcntl is None:
        yield
        return
    lock = output.with_name(output.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(f"cannot write beside {output}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(
                f"another keyapi-async run is writing {output} (it holds {lock.name}): let it "
                "finish, or write to another file"
            ) from None
        try:
            yield
        finally:
            with contextlib.suppress(OSError):  # still ours: nobody else could lock it
                lock.unlink()
    finally:
        os.close(fd)
