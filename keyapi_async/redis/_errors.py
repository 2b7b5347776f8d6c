"""The one error the shared state adds: Redis could not be reached in time."""

from __future__ import annotations

from .._errors import KeyAPIError

__all__ = ["SharedStateUnavailable"]


class SharedStateUnavailable(KeyAPIError):
    """Redis did not answer (refused, reset, timed out, or an error reply); nothing was sent.

    Raised by a limiter made with `on_unavailable="raise"`; the default falls back to local pacing.
    """
