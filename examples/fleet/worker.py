"""An arq worker that pulls creators' videos; run as many as you like, on any machine:

    arq examples.fleet.worker.WorkerSettings

Every worker's client shares one plan through Redis: one pacing schedule (RedisRateLimiter), one
credit budget (RedisCreditBudget), and the stop after a 402. Each job is one creator; its videos
are stored as one JSONL file, written to a temporary name and renamed, so a reader never sees a
half-written file and a job that arq runs again buys nothing twice.

A job stopped before its end (a deploy's SIGTERM cancels it; the budget ran out) keeps what it
paid for: the page in flight is still received (the stream's graceful stop), and the pages are
kept in `<creator>.partial.jsonl` with the next page to ask for, from which the job's next run
goes on. Only a SIGKILL loses the page that was in flight.
"""

from __future__ import annotations

import asyncio
import json
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


STOP_GRACE = 30.0  # seconds a stopped job waits for the page in flight (the client's timeout)


def _store(name: str, lines: list[bytes]) -> None:
    path = config.OUT / name
    temporary = path.with_name(f".{name}.{os.getpid()}.tmp")
    temporary.write_bytes(b"".join(line + b"\n" for line in lines))
    os.replace(temporary, path)  # atomic: the file is whole or absent


def _kept(user_id: str) -> tuple[list[bytes], int]:
    """The pages a stopped run of this job paid for, and the next page to ask for."""
    partial = config.OUT / f"{user_id}.partial.jsonl"
    if not partial.exists():
        return [], 1
    head, *lines = partial.read_bytes().splitlines()
    return lines, int(json.loads(head)["next_page"])


def _keep(user_id: str, lines: list[bytes], next_page: int) -> None:
    _store(f"{user_id}.partial.jsonl", [json.dumps({"next_page": next_page}).encode(), *lines])


async def pull_videos(ctx: dict[str, Any], user_id: str) -> int:
    """Store one creator's videos; returns how many (-1 if they were stored already)."""
    if (config.OUT / f"{user_id}.jsonl").exists():
        return -1  # arq ran this job again: the pages were bought and stored once
    client: KeyAPI = ctx["client"]
    lines, next_page = _kept(user_id)
    # concurrency=1: the end shows only as a short page, so nothing is bought past it.
    stream = client.influencers.videos(user_id=user_id, start_page=next_page).pages()

    async def pull() -> None:
        nonlocal next_page
        async for page in stream:
            lines.extend(msgspec.json.encode(video) for video in page.items)
            next_page = page.page_num + 1

    pulling = asyncio.ensure_future(pull())
    try:
        await asyncio.shield(pulling)
    except asyncio.CancelledError:
        stream.stop()  # buy no new page; the one in flight is paid for: receive it
        await asyncio.wait((pulling,), timeout=STOP_GRACE)
        if not pulling.done():
            pulling.cancel()
            await asyncio.wait((pulling,))
        _keep(user_id, lines, next_page)
        raise
    except CreditBudgetExceeded:
        _keep(user_id, lines, next_page)  # paid for: kept, though incomplete
        raise
    _store(f"{user_id}.jsonl", lines)
    (config.OUT / f"{user_id}.partial.jsonl").unlink(missing_ok=True)
    return len(lines)


class WorkerSettings:
    functions = [pull_videos]  # noqa: RUF012 - arq reads these class attributes
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = config.redis_settings()
    queue_name = config.QUEUE
    max_jobs = 4  # creators pulled at once by one worker; the shared limiter paces them all
