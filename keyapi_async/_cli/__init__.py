"""`keyapi-async`: the command line of keyapi_async (`python -m keyapi_async`).

    keyapi-async --sandbox influencers list --region US --limit 500 --output influencers.jsonl

`main(argv)` returns the exit code: 0 ok; 2 bad usage or an invalid parameter (nothing sent);
3 no key, 401, 402 or --max-credits reached; 4 any other API or network failure after retries;
5 done, but some creators failed on their own (listed in FILE.failures.jsonl); 130 interrupted
(SIGINT/SIGTERM); 141 stdout closed by its reader. An error is one line on stderr, never a
traceback, and never shows the API key.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from ._app import build_parser, normalize_argv
from ._errors import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    PROG,
    UsageError,
    exit_code,
    one_line,
    option_hint,
)
from ._run import Runner

__all__ = ["main", "main_async"]

EXIT_BROKEN_PIPE = 141  # like a process killed by SIGPIPE: `keyapi-async ... | head`


def _parse(argv: Sequence[str] | None) -> argparse.Namespace | int:
    """The parsed arguments, or the exit code (--help, --version, bad usage)."""
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        return build_parser().parse_args(normalize_argv(words))
    except SystemExit as exc:  # --help / --version
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    except UsageError as exc:
        _error(_without_secrets(one_line(exc), words))
        return EXIT_USAGE


def _without_secrets(line: str, words: list[str]) -> str:
    """argparse quotes what it could not parse: a mistyped `--apikey sk_...` must not show it."""
    secrets = {os.environ.get("KEYAPI_API_KEY"), os.environ.get("KEYAPI_TOKEN")}
    for i, word in enumerate(words):
        name, _, value = word.partition("=")
        if "key" in name.lower() or "token" in name.lower():
            secrets.add(value if value else (words[i + 1] if i + 1 < len(words) else None))
        if word.startswith(("sk_", "sk-")):
            secrets.add(word)
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        line = line.replace(secret, "<redacted>")
    return line


def _error(line: str) -> None:
    sys.stderr.write(f"{PROG}: error: {line}\n")
    sys.stderr.flush()


def _silence_stdout() -> None:
    """After a broken pipe, point fd 1 at /dev/null so the exit flush does not complain."""
    with contextlib.suppress(Exception):
        if sys.stdout.fileno() == 1:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)


async def _execute(args: argparse.Namespace) -> int:
    runner = Runner(args, sys.stderr)
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def on_signal() -> None:
        runner.signals += 1
        if runner.signals == 1 and runner.started:
            runner.request_stop()
        elif task is not None:
            task.cancel()  # nothing bought yet, or a second signal: abort the pages in flight

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not main thread
            continue
        installed.append(sig)
    try:
        return await runner.run()
    except asyncio.CancelledError:
        if not runner.signals:
            raise
        sys.stderr.write(f"{PROG}: interrupted: {runner.whereabouts() or 'nothing was written'}\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # every failure is one line, never a traceback
        where = runner.whereabouts()
        _error(one_line(exc) + option_hint(exc) + (f" ({where})" if where else ""))
        return exit_code(exc)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _run_loop(coro: Coroutine[Any, Any, int]) -> int:
    """On uvloop when it is installed (the `speedups` extra), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    code: int = uvloop.run(coro)  # typed Any where uvloop (optional) is not installed
    return code


async def main_async(argv: Sequence[str] | None = None) -> int:
    """Run the command line inside a running event loop; returns the exit code."""
    args = _parse(argv)
    if isinstance(args, int):
        return args
    return await _execute(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (`argv` without the program name); returns the exit code."""
    args = _parse(argv)
    if isinstance(args, int):
        return args
    try:
        return _run_loop(_execute(args))
    except KeyboardInterrupt:  # a signal before the handlers were installed, or on Windows
        sys.stderr.write(f"{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
