"""cache_key: one fixed-length name per (endpoint, canonical query, API key)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from .._errors import InvalidParameterError
from ._ttl import ENDPOINTS

__all__ = ["cache_key"]

# A fingerprint is hex (see _fingerprint); an API key (sk_..., underscores) can never pass.
_FINGERPRINT = re.compile(r"[0-9a-f]{16,64}")


def cache_key(endpoint: str, query: Mapping[str, str], fingerprint: str) -> str:
    """`"<endpoint>:<64 hex digits>"`: the same for the same query in any parameter order, and
    different for another API key. Only the fingerprint of the key goes in, hashed again."""
    if endpoint not in ENDPOINTS:
        raise InvalidParameterError(
            "endpoint", f"must be one of {', '.join(ENDPOINTS)}, got {endpoint!r}"
        )
    if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
        # Never echo the value: a caller may have passed the API key itself.
        raise InvalidParameterError("fingerprint", "must be 16-64 lowercase hex digits")
    digest = hashlib.sha256(b"keyapi-async cache v1\x00")
    digest.update(fingerprint.encode())
    for name, value in sorted(query.items()):
        # Lengths first, so no two queries can run together into the same bytes.
        n, v = str(name).encode(), str(value).encode()
        digest.update(b"\x00%d:%d:" % (len(n), len(v)) + n + v)
    return f"{endpoint}:{digest.hexdigest()}"
