"""Several OS processes, each with its own client and RedisRateLimiter, share one plan's pace.

The witness is the one FakeKeyAPI they all talk to (on its own thread), with a strict QPS limit:
it counts every arrival, and answers 429 to any over the limit in a sliding second.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from keyapi_async.testing import FakeKeyAPI
from tests.redis_server import RedisServer

pytestmark = pytest.mark.slow  # `-m "not slow"` leaves it out of the quick loop

ROOT = Path(__file__).resolve().parents[1]
QPS = 30  # the server's limit
# The fleet's shared setting. 10% under the limit leaves room for the server's own timing on a
# loaded machine (it stamps an arrival when its thread gets to it). Without the shared schedule,
# 3 or 4 processes at this setting would still send 2.7x to 3.6x the limit.
FLEET_QPS = 27
PER_WORKER = 20


def worker_argv(server: FakeKeyAPI, redis_url: str, index: int, skew: float) -> list[str]:
    argv = [sys.executable, "-m", "tests.redis_worker", "--redis", redis_url, "--name", "fleet"]
    argv += ["--base-url", server.url, "--api-key", server.api_key, "--qps", str(FLEET_QPS)]
    argv += ["--requests", str(PER_WORKER), "--start", str(1 + index * PER_WORKER)]
    return [*argv, "--skew", str(skew)]


def run_fleet(
    server: FakeKeyAPI, redis_url: str, skews: list[float], *extra: str
) -> list[dict[str, object]]:
    procs = [
        subprocess.Popen(
            [*worker_argv(server, redis_url, i, skew), *extra],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i, skew in enumerate(skews)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        results.append(json.loads(out))
    return results


@pytest.fixture
def strict_server(redis_server: RedisServer) -> FakeKeyAPI:
    redis_server.start()
    with FakeKeyAPI(influencers=300, qps_limit=QPS) as server:
        yield server  # type: ignore[misc]


def assert_paced(server: FakeKeyAPI, results: list[dict[str, object]], workers: int) -> None:
    assert [r["error"] for r in results] == [None] * workers
    assert [r["got"] for r in results] == [PER_WORKER] * workers
    statuses = [r.status for r in server.requests]
    assert len(statuses) == workers * PER_WORKER  # nothing was sent twice or lost
    assert statuses.count(429) == 0
    assert server.max_in_window(1.0) <= QPS


def test_four_processes_share_one_pace(strict_server: FakeKeyAPI, redis_server: RedisServer):
    results = run_fleet(strict_server, redis_server.url, [0.0] * 4)
    assert_paced(strict_server, results, 4)


def test_skewed_local_clocks_share_one_schedule(
    strict_server: FakeKeyAPI, redis_server: RedisServer
):
    # Loop clocks hours apart, as on machines set wrong: the schedule runs on Redis's TIME.
    results = run_fleet(strict_server, redis_server.url, [0.0, 7200.0, -3600.0])
    assert [r["skew"] for r in results] == [0, 7200, -3600]
    assert_paced(strict_server, results, 3)
