"""A fingerprint of the API key: scopes shared state (Redis keys, cache entries) by key without
ever storing the key. A prefix makes it useless as a plain sha256 of the key."""

from __future__ import annotations

import hashlib

__all__ = ["key_fingerprint"]


def key_fingerprint(api_key: str) -> str:
    """32 hex digits; the same key always gives the same fingerprint."""
    return hashlib.sha256(b"keyapi-async key\x00" + api_key.encode()).hexdigest()[:32]
