"""The fleet's settings, from the environment, shared by the producer and every worker.

REDIS_URL          redis://127.0.0.1:6379/0  the queue (arq) and the plan's shared state
FLEET_PLAN         acme-plan                 the name every client of the plan shares
FLEET_QPS          20                        the plan's requests per second, fleet-wide
FLEET_MAX_CREDITS  50000                     the fleet's budget, in requests
FLEET_OUT          fleet-out                 one JSONL file of videos per creator
KEYAPI_API_KEY, KEYAPI_BASE_URL              read by KeyAPI itself
"""

from __future__ import annotations

import os
from pathlib import Path

from arq.connections import RedisSettings

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PLAN = os.environ.get("FLEET_PLAN", "acme-plan")
QPS = float(os.environ.get("FLEET_QPS", "20"))
MAX_CREDITS = int(os.environ.get("FLEET_MAX_CREDITS", "50000"))
OUT = Path(os.environ.get("FLEET_OUT", "fleet-out"))

QUEUE = f"fleet:{PLAN}"  # arq's queue; its keys are arq's own, beside the plan's keyapi:{...}


def redis_settings() -> RedisSettings:
    return RedisSettings.from_dsn(REDIS_URL)


def job_id(user_id: str) -> str:
    """One job per creator: arq refuses a second job with the same id while the first exists."""
    return f"videos:{user_id}"
