"""Caches shared by real processes, through the client: an answer is bought once per fleet."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from keyapi_async.testing import FakeKeyAPI

from .redis_server import RedisServer

CALL = """
import asyncio, json, sys, time
from redis.asyncio import Redis
from keyapi_async import KeyAPI, SQLiteCache
from keyapi_async.redis import RedisCache

url, base, key, user_id, start, store = sys.argv[1:7]

async def main():
    redis = None
    if store == "redis":
        redis = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        cache = RedisCache(redis, ttl=60, name="fleet")
    else:
        cache = SQLiteCache(url)
    async with KeyAPI(key, base_url=base, qps=None, cache=cache) as client:
        await asyncio.sleep(max(0.0, float(start) - time.time()))  # all ask at one moment
        found = await client.influencers.detail(user_ids=[user_id])
        usage = client.usage
    if redis is not None:
        await redis.aclose()
    print(json.dumps({"ids": [d.user_id for d in found], "requests": usage.requests,
                      "hits": usage.cache_hits}))

asyncio.run(main())
"""


def run_fleet(where: str, fake: FakeKeyAPI, user_id: str, store: str, n: int = 3) -> list[dict]:
    start = time.time() + 1.5  # past every process's start-up
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CALL, where, fake.url, fake.api_key, user_id, str(start), store],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    return results


def test_processes_missing_one_answer_at_once_buy_it_once_on_redis(
    redis_server: RedisServer,
) -> None:
    redis_server.start()
    with FakeKeyAPI(latency=0.5) as fake:  # the first buyer holds the lock while it waits
        user_id = str(fake.dataset.influencers[0]["user_id"])
        results = run_fleet(redis_server.url, fake, user_id, "redis")
        assert len(fake.requests) == 1
    assert [r["ids"] for r in results] == [[user_id]] * 3
    assert sorted(r["requests"] for r in results) == [0, 0, 1]
    assert sum(r["hits"] for r in results) == 2


def test_a_sqlite_file_serves_the_next_process(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    with FakeKeyAPI() as fake:
        user_id = str(fake.dataset.influencers[0]["user_id"])
        first = run_fleet(path, fake, user_id, "sqlite", n=1)
        second = run_fleet(path, fake, user_id, "sqlite", n=1)
        assert len(fake.requests) == 1
    assert (first[0]["requests"], second[0]["requests"], second[0]["hits"]) == (1, 0, 1)
