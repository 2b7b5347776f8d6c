"""The resume checkpoint: `<output>.checkpoint`, a small JSON file beside the output.

It is replaced atomically (temporary file + os.replace) after each page's lines were written and
flushed, so it never claims a page the output does not hold. It records:

- `fingerprint`: a hash of everything that decides the records (endpoint, query, page size,
  start page, limit, max pages, format, server); `command` holds the same values readably, so a
  refusal can say what changed. Concurrency, QPS, budget and progress do not count;
- `last_page`, `pages`, `items`: the last page written, how many pages and records are written;
- `bytes`: the output's size just after that page. Resuming truncates the output to it, which
  drops any tail no checkpoint recorded (a page cut short by SIGKILL), so nothing is duplicated;
- `complete`: the run reached the end of its list;
- `creators` (fan-out over many user IDs): per creator, the pages and records written, whether
  their list is done, or the error that set them aside. A resumed run skips the done and failed
  ones and continues the others from their next page.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any

import msgspec

from ._errors import UsageError

__all__ = [
    "Checkpoint",
    "Creator",
    "checkpoint_path",
    "fingerprint",
    "load",
    "remove",
    "save",
    "start_state",
]

VERSION = 1


class Creator(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One creator's progress in a fan-out run."""

    pages: int = 0
    items: int = 0
    done: bool = False
    failed: dict[str, Any] | None = None  # the error, as in FILE.failures.jsonl


class Checkpoint(msgspec.Struct, kw_only=True):
    version: int = VERSION
    fingerprint: str
    command: dict[str, Any]
    last_page: int | None = None
    pages: int = 0
    items: int = 0
    bytes: int = 0
    complete: bool = False
    creators: dict[str, Creator] = msgspec.field(default_factory=dict)


def checkpoint_path(output: Path) -> Path:
    return output.with_name(output.name + ".checkpoint")


def fingerprint(command: dict[str, Any]) -> str:
    canonical = msgspec.json.encode(command, order="sorted")
    return hashlib.sha256(canonical).hexdigest()


def load(path: Path) -> Checkpoint | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        checkpoint = msgspec.json.decode(data, type=Checkpoint)
    except msgspec.MsgspecError as exc:
        raise UsageError(
            f"{path} is not a readable checkpoint ({exc}); delete it to start over"
        ) from None
    if checkpoint.version != VERSION:
        raise UsageError(
            f"{path} was written by another version (format {checkpoint.version}); "
            "delete it to start over"
        )
    return checkpoint


def save(path: Path, checkpoint: Checkpoint) -> None:
    """Replace the checkpoint atomically: a reader (or a resumed run) sees the old or the new."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(msgspec.json.encode(checkpoint) + b"\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def describe_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    """`name: old -> new` for the values that differ, e.g. for a refusal message."""
    changes = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if isinstance(before, dict) and isinstance(after, dict):
            inner = describe_change(before, after)
            if inner:
                changes.append(inner)
        elif before != after:
            changes.append(f"{key}: {_show(before)} -> {_show(after)}")
    return ", ".join(changes)


def _show(value: Any) -> str:
    return "(unset)" if value is None else str(value)


def start_state(
    identity: dict[str, Any], ckpt: Path | None, output: Path | None, *, resume: bool
) -> Checkpoint | None:
    """The checkpoint to continue from, a fresh one, or None when there is nothing to do."""
    fresh = Checkpoint(fingerprint=fingerprint(identity), command=identity)
    existing = load(ckpt) if ckpt is not None else None
    if ckpt is None or existing is None:
        if resume and output is not None and output.exists() and output.stat().st_size > 0:
            # Nothing to continue, and starting over would empty a file bought before.
            raise UsageError(
                f"--resume: {output} has no checkpoint beside it, so there is nothing to "
                "continue; run without --resume to pull it again (the file is replaced)"
            )
        return fresh
    if not resume:
        if not existing.complete:
            reached = (
                f"{len(existing.creators)} creators started"
                if existing.last_page is None
                else f"up to page {existing.last_page}"
            )
            raise UsageError(
                f"{ckpt} holds an unfinished run ({existing.items} records, {reached}): add "
                "--resume to continue it, or delete the checkpoint to start over"
            )
        remove(ckpt)  # a finished run's: this run starts over
        return fresh
    if existing.fingerprint != fresh.fingerprint:
        change = describe_change(existing.command, identity) or "parameters differ"
        raise UsageError(
            f"{ckpt} was made by a different command ({change}): rerun that command "
            "with --resume, or delete the checkpoint to start over"
        )
    assert output is not None
    size = output.stat().st_size if output.exists() else -1
    if existing.complete:
        return None
    if size < existing.bytes:
        raise UsageError(
            f"{output} is shorter than its checkpoint records ({max(size, 0)} < "
            f"{existing.bytes} bytes), so records are missing: delete the checkpoint "
            "to start over"
        )
    return existing
