"""The arq fleet example (examples/fleet): a producer and three worker processes, one plan.

Real parts only: a redis-server (the queue and the plan's state), FakeKeyAPI with a strict QPS
limit on its own thread (the witness: it counts every request of every process), and the
example's own processes started as a user would start them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from redis import Redis

from keyapi_async.testing import FakeKeyAPI
from tests.redis_server import RedisServer

pytest.importorskip("arq", reason="the fleet example needs arq (test extra)")

pytestmark = pytest.mark.slow  # several processes

ROOT = Path(__file__).resolve().parents[1]
SERVER_QPS = 20
FLEET_QPS = 18  # 10% under, for the fake's own timing on a loaded machine (as the pacing tests)
CREATORS = 12
PLAN = "fleet-example"


async def fleet_spent(url: str) -> int:
    from redis.asyncio import Redis as AsyncRedis

    from keyapi_async.redis import RedisCreditBudget

    redis = AsyncRedis.from_url(url)
    try:
        return await RedisCreditBudget(redis, max_credits=1, name=PLAN).spent()
    finally:
        await redis.aclose()


def test_three_arq_workers_store_every_creator_once_within_the_plan(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    redis_server.start()
    with Redis.from_url(redis_server.url) as r:
        r.flushdb()
    out = tmp_path / "out"
    with FakeKeyAPI(influencers=300, qps_limit=SERVER_QPS) as server:
        creators = [str(r["user_id"]) for r in server.dataset.query_influencers({"region": "US"})][
            :CREATORS
        ]
        videos = {uid: server.dataset.videos(uid) for uid in creators}
        pages_needed = sum(len(v) // 10 + 1 for v in videos.values())  # the last one is short
        budget = pages_needed + 10
        env = {
            **os.environ,
            "REDIS_URL": redis_server.url, "FLEET_PLAN": PLAN, "FLEET_QPS": str(FLEET_QPS),
            "FLEET_MAX_CREDITS": str(budget), "FLEET_OUT": str(out),
            "KEYAPI_API_KEY": server.api_key, "KEYAPI_BASE_URL": server.url,
        }  # fmt: skip
        logs = [(tmp_path / f"worker-{i}.log").open("wb") for i in range(3)]
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "arq", "examples.fleet.worker.WorkerSettings"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
            for log in logs
        ]  # fmt: skip
        try:
            producer = subprocess.run(
                [sys.executable, "-m", "examples.fleet.producer", *creators, "--timeout", "60"],
                cwd=ROOT, env=env, capture_output=True, timeout=90,
            )  # fmt: skip
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)  # arq finishes its jobs and shuts down
            for w in workers:
                w.wait(timeout=30)
            for log in logs:
                log.close()
        assert producer.returncode == 0, producer.stderr.decode()
        assert [w.returncode for w in workers] == [0, 0, 0]
        requests = list(server.requests)

    summary = json.loads(producer.stdout)
    assert summary["failed"] == {}
    assert summary["stored"] == {uid: len(v) for uid, v in videos.items()}
    # Every creator's videos stored exactly once, whole, and nothing else left behind.
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{uid}.jsonl" for uid in creators)
    for uid, expected in videos.items():
        lines = (out / f"{uid}.jsonl").read_bytes().splitlines()
        assert [json.loads(line)["video_id"] for line in lines] == [
            str(v["video_id"]) for v in expected
        ]
    # The server: no 429, within its limit, each page bought once, within the budget.
    assert Counter(r.status for r in requests) == {200: pages_needed}
    assert server.max_in_window(1.0) <= SERVER_QPS
    bought = Counter((r.params["user_id"], r.params["page_num"]) for r in requests)
    assert set(bought.values()) == {1}
    assert len(requests) <= budget
    assert asyncio.run(fleet_spent(redis_server.url)) == len(requests)
