"""The creators (or detail IDs) a pull set aside: listed on stderr at the end, and written as
JSON Lines to FILE.failures.jsonl beside the output, one object per ID with its `user_id` and
error, so the file can be fed back: `--ids-file FILE.failures.jsonl` retries them.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, TextIO

import msgspec

from .. import KeyAPIError
from ._checkpoint import Checkpoint
from ._errors import PROG

__all__ = ["describe_error", "failures_path", "report_failures"]

_SHOWN = 10  # lines on stderr; the file has them all


def describe_error(exc: KeyAPIError) -> dict[str, Any]:
    """An error as a failures-file field: type, HTTP status, API code, message."""
    return {
        "error": type(exc).__name__,
        "status_code": getattr(exc, "status_code", None),
        "code": getattr(exc, "code", None),
        "message": " ".join(str(exc).split()),
    }


def failures_path(output: Path) -> Path:
    return output.with_name(output.name + ".failures.jsonl")


def report_failures(stderr: TextIO, state: Checkpoint, output: Path | None) -> bool:
    """List the failed IDs recorded in `state` (this run's and earlier runs'); True if any."""
    failed: list[dict[str, Any]] = [
        {"user_id": user_id, **c.failed} for user_id, c in state.creators.items() if c.failed
    ]
    path = failures_path(output) if output is not None else None
    if not failed:
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # a stale list from an earlier run of this output
        return False
    if path is not None:
        path.write_bytes(msgspec.json.Encoder().encode_lines(failed))
    where = f"; all listed in {path}" if path is not None else ""
    stderr.write(f"{PROG}: {len(failed)} failed, the rest was pulled{where}:\n")
    for line in failed[:_SHOWN]:
        stderr.write(f"  {line['user_id']}: {line['error']}: {line['message']}\n")
    if len(failed) > _SHOWN:
        stderr.write(f"  ... and {len(failed) - _SHOWN} more\n")
    stderr.flush()
    return True
