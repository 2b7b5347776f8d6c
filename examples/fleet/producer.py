"""Enqueue one job per creator and wait for them all:

    python -m examples.fleet.producer USER_ID [USER_ID ...]

Prints one JSON line: {"stored": {user_id: videos}, "failed": {user_id: error}}. A creator
already queued (or done, while arq keeps its result) is not enqueued twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from arq import create_pool
from arq.jobs import Job

from . import config


async def produce(user_ids: list[str], timeout: float) -> dict[str, dict[str, object]]:
    pool = await create_pool(config.redis_settings(), default_queue_name=config.QUEUE)
    try:
        jobs: dict[str, Job] = {}
        for user_id in dict.fromkeys(user_ids):  # each creator once, in order
            job = await pool.enqueue_job("pull_videos", user_id, _job_id=config.job_id(user_id))
            jobs[user_id] = job or Job(config.job_id(user_id), pool, config.QUEUE)
        stored: dict[str, object] = {}
        failed: dict[str, object] = {}
        for user_id, job in jobs.items():
            try:
                stored[user_id] = await job.result(timeout=timeout)
            except Exception as exc:  # the job's own error, re-raised by arq
                failed[user_id] = type(exc).__name__
        return {"stored": stored, "failed": failed}
    finally:
        await pool.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("user_ids", nargs="+")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for all jobs")
    args = ap.parse_args()
    summary = asyncio.run(produce(args.user_ids, args.timeout))
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
