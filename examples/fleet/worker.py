"""An arq worker that pulls creators' videos; run as many as you like, on any machine:

    arq examples.fleet.worker.WorkerSettings

Every worker's client shares one plan through Redis: one pacing schedule (RedisRateLimiter), one
credit budget (RedisCreditBudget), and the stop after a 402. Each job is one creator; its videos
are stored as one JSONL file, written to a temporary name and renamed, so a reader never sees a
half-written file and a job that arq runs again (a worker died mid-job) buys nothing twice.
"""

from __future__ import annotations

import os
from typing import Any

import msgspec
from redis.asyncio import Redis

from keyapi_async import CreditBudgetExceeded, KeyAPI
from keyapi_async.redis import RedisCreditBudget, RedisRateLimiter

from . import config


async def startup(ctx: dict[str, Any]) -> None:
    redis = Redis.from_url(config.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0)
    limiter = RedisRateLimiter(redis, qps=config.QPS, name=config.PLAN)
    budget = RedisCreditBudget(redis, max_credits=config.MAX_CREDITS, name=config.PLAN)
    ctx["plan_redis"], ctx["limiter"] = redis, limiter
    ctx["client"] = KeyAPI(limiter=limiter, budget=budget)
    config.OUT.mkdir(parents=True, exist_ok=True)


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["client"].aclose()
    await ctx["limiter"].flush()  # its last 429s and slips reach the fleet
    await ctx["plan_redis"].aclose()


def _store(name: str, lines: list[bytes]) -> None:
    path = config.OUT / name
    temporary = path.with_name(f".{name}.{os.getpid()}.tmp")
    temporary.write_bytes(b"".join(line + b"\n" for line in lines))
    os.replace(temporary, path)  # atomic: the file is whole or absent


async def pull_videos(ctx: dict[str, Any], user_id: str) -> int:
    """Store one creator's videos; returns how many (-1 if they were stored already)."""
    if (config.OUT / f"{user_id}.jsonl").exists():
        return -1  # arq ran this job again: the pages were bought and stored once
    client: KeyAPI = ctx["client"]
    lines: list[bytes] = []
    try:
        # concurrency=1: the end shows only as a short page, so nothing is bought past it.
        async for video in client.influencers.videos(user_id=user_id):
            lines.append(msgspec.json.encode(video))
    except CreditBudgetExceeded:
        _store(f"{user_id}.partial.jsonl", lines)  # paid for: kept, though incomplete
        raise
    _store(f"{user_id}.jsonl", lines)
    return len(lines)


class WorkerSettings:
    functions = [pull_videos]  # noqa: RUF012 - arq reads these class attributes
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = config.redis_settings()
    queue_name = config.QUEUE
    max_jobs = 4  # creators pulled at once by one worker; the shared limiter paces them all
