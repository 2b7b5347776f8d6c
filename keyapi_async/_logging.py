"""The SDK's one logger, "keyapi_async": retries at DEBUG, degraded shared state at WARNING."""

from __future__ import annotations

import logging

logger = logging.getLogger("keyapi_async")
