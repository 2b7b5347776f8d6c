"""Exit codes, and the one line an error is reported in."""

from __future__ import annotations

import re

from .. import (
    AuthenticationError,
    BadRequestError,
    CreditBudgetExceeded,
    InsufficientCreditsError,
    InvalidParameterError,
)

__all__ = [
    "EXIT_API",
    "EXIT_AUTH",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "PROG",
    "MissingKeyError",
    "UsageError",
    "exit_code",
    "one_line",
    "option_hint",
]

PROG = "keyapi-async"

EXIT_OK = 0
EXIT_USAGE = 2  # bad usage or an invalid parameter (ours before sending, or the API's 400)
EXIT_AUTH = 3  # no key, 401, 402, or --max-credits reached
EXIT_API = 4  # any other API or network failure, after retries
EXIT_PARTIAL = 5  # done, but some creators (or detail batches) failed: see FILE.failures.jsonl
EXIT_INTERRUPTED = 130  # SIGINT or SIGTERM


class UsageError(Exception):
    """Bad command-line usage found by the CLI itself. Exit 2, nothing sent."""


class MissingKeyError(Exception):
    """No API key anywhere. Exit 3, nothing sent."""


def exit_code(exc: BaseException) -> int:
    if isinstance(exc, (UsageError, InvalidParameterError, BadRequestError)):
        return EXIT_USAGE
    if isinstance(
        exc,
        (MissingKeyError, AuthenticationError, InsufficientCreditsError, CreditBudgetExceeded),
    ):
        return EXIT_AUTH
    return EXIT_API


_OPTION_OF = {"detail_batch_size": "--batch-size"}  # SDK parameters the CLI names otherwise


def option_hint(exc: BaseException) -> str:
    """` (option --min-total-followers-cnt)` for an InvalidParameterError, else ''."""
    if not isinstance(exc, InvalidParameterError):
        return ""
    match = re.match(r"[a-z][a-z0-9_]*", exc.parameter)
    if match is None or match.group() == "ids_file":
        return ""
    name = match.group()
    return f" (option {_OPTION_OF.get(name, '--' + name.replace('_', '-'))})"


def one_line(exc: BaseException) -> str:
    """`Type: message` on one line (UsageError: the message alone)."""
    message = " ".join(str(exc).split()) or "(no message)"
    if isinstance(exc, (UsageError, MissingKeyError)):
        return message
    return f"{type(exc).__name__}: {message}"
