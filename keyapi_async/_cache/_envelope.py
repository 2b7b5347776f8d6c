"""Values as a shared store keeps them: a tag and a digest bound to the entry's key ahead of the
body, so a garbage entry, a torn write or a value copied under another key reads as a miss."""

from __future__ import annotations

import hashlib

__all__ = ["open_sealed", "seal"]

_MAGIC = b"KAC1"
_DIGEST = 16
_HEAD = len(_MAGIC) + _DIGEST


def _digest(key: str, body: bytes) -> bytes:
    h = hashlib.blake2b(key.encode(), digest_size=_DIGEST)
    h.update(b"\x00")
    h.update(body)
    return h.digest()


def seal(key: str, body: bytes) -> bytes:
    return _MAGIC + _digest(key, body) + body


def open_sealed(key: str, stored: object) -> bytes | None:
    """The body, or None when `stored` is not a value sealed for `key`."""
    if not isinstance(stored, bytes) or stored[: len(_MAGIC)] != _MAGIC:
        return None
    body = stored[_HEAD:]
    if stored[len(_MAGIC) : _HEAD] != _digest(key, body):
        return None
    return body
