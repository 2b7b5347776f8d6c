"""Redis key names for one plan. A key never holds the API key: at most a fingerprint of it."""

from __future__ import annotations

import re
from typing import Any

from .._errors import InvalidParameterError

__all__ = ["PlanKeys", "bound_keys", "check_fingerprint", "check_name"]

_NAME = re.compile(r"[A-Za-z0-9._:-]{1,100}")
# sha256 hex, truncated: a raw API key (sk_..., with underscores) can never pass for one.
_FINGERPRINT = re.compile(r"[0-9a-f]{16,64}")


def check_name(name: Any) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidParameterError(
            "name", f"must be 1-100 characters of A-Z a-z 0-9 . _ : - (or None), got {name!r}"
        )
    return name


def check_fingerprint(fingerprint: Any) -> str:
    if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
        # Never echo the value: a caller may have passed the API key itself.
        raise InvalidParameterError(
            "key_fingerprint", "must be 16-64 lowercase hex digits (a sha256 prefix of the key)"
        )
    return fingerprint


class PlanKeys:
    """The keys of one plan. The `{...}` hash tag puts them all in one Redis Cluster slot, which
    a multi-key script needs."""

    __slots__ = ("budget", "expired", "leases", "pace", "settled", "starts", "stop")

    def __init__(self, scope: str) -> None:
        base = f"keyapi:{{{scope}}}"
        self.pace = f"{base}:pace"  # hash: tat (next slot, µs of Redis TIME), rate, changed
        self.starts = f"{base}:starts"  # sorted set of recent slots, to estimate on 429
        self.stop = f"{base}:stop"  # the 402 flag: the server's message, with an expiry
        self.budget = f"{base}:budget"  # hash: spent, epoch (see _budget_scripts)
        self.leases = f"{base}:leases"  # sorted set: lease id -> deadline
        self.expired = f"{base}:expired"  # sorted set: leases counted as spent at expiry
        self.settled = f"{base}:settled"  # sorted set: leases settled, by when (repeats ignored)

    @classmethod
    def for_key(cls, fingerprint: str) -> PlanKeys:
        return cls(f"key-{fingerprint}")


def bound_keys(
    current: PlanKeys | None, name: str | None, fingerprint: Any, *, parameter: str, what: str
) -> PlanKeys | None:
    """What `bind(fingerprint)` leaves a limiter or budget with: a named one keeps its keys; one
    made without a name is scoped to the API key by a fingerprint of it, and only to one key."""
    fingerprint = check_fingerprint(fingerprint)
    if name is not None:
        return current
    keys = PlanKeys.for_key(fingerprint)
    if current is not None and current.stop != keys.stop:
        raise InvalidParameterError(parameter, f"a {what} without a name cannot serve two API keys")
    return keys
