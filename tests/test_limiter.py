"""Client-side pacing, proved by counting arrivals on the server."""

from __future__ import annotations

import asyncio
import time

import pytest

from keyapi_async import KeyAPI, RateLimiter
from keyapi_async.testing import FakeKeyAPI

from .conftest import MakeClient


async def burst(client: KeyAPI, n: int) -> None:
    """n different single-page requests (identical ones would share one), started at once."""
    pagers = [client.influencers.list(region="US", min_total_followers_cnt=i) for i in range(n)]
    await asyncio.gather(*(p for p in pagers))


async def test_qps_bounds_every_sliding_second(fake: FakeKeyAPI, make_client: MakeClient) -> None:
    client = make_client(qps=20)
    await burst(client, 45)
    assert len(fake.requests) == 45
    assert fake.max_in_window(1.0) <= 20


async def test_one_limiter_shared_by_two_clients(fake: FakeKeyAPI, make_client: MakeClient) -> None:
    shared = RateLimiter(10)
    a = make_client(limiter=shared)
    b = make_client(limiter=shared)
    await asyncio.gather(burst(a, 12), burst(b, 12))
    assert len(fake.requests) == 24
    assert fake.max_in_window(1.0) <= 10


async def test_concurrent_pagers_share_the_client_limiter(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(qps=15)
    pulls = [client.influencers.list(region="US", concurrency=4).collect() for _ in range(3)]
    results = await asyncio.gather(*pulls)
    assert all(r == results[0] for r in results)
    assert fake.max_in_window(1.0) <= 15


async def test_qps_none_switches_pacing_off(fake: FakeKeyAPI, make_client: MakeClient) -> None:
    client = make_client(qps=None)
    await burst(client, 30)
    assert fake.max_in_window(1.0) == 30


@pytest.mark.parametrize("qps", [0, -1, float("inf"), float("nan"), True, "10"])
def test_rate_limiter_refuses_bad_rates(qps: object) -> None:
    with pytest.raises(ValueError, match="qps"):
        RateLimiter(qps)  # type: ignore[arg-type]


async def test_requests_cancelled_while_waiting_for_a_slot_are_not_counted(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(qps=2, max_credits=3)
    async for _ in client.influencers.list(region="US", concurrency=6):
        break  # pages 2..6 are still waiting for their slots
    pending = [t for t in asyncio.all_tasks() if t.get_name().startswith("keyapi_async")]
    await asyncio.wait(pending, timeout=5)
    assert client.usage.requests == len(fake.requests) == 1
    # Their held budget was released: two more requests still fit in max_credits=3.
    await client.influencers.list(region="US", start_page=2)
    await client.influencers.list(region="US", start_page=3)
    assert client.usage.requests == 3


@pytest.mark.slow
async def test_adaptive_pacing_under_a_lower_server_limit() -> None:
    """The plan allows 20/s, the client is set to 40: the pull completes with few 429s.

    The full-size run (server 5/s, client 10/s, 300 pages) is in benchmarks/.
    """
    async with FakeKeyAPI(influencers=600, qps_limit=20) as fake:
        async with KeyAPI(fake.api_key, base_url=fake.url, qps=40) as client:
            started = time.monotonic()
            got = await client.influencers.list(region="US", page_size=1, limit=150).collect()
            elapsed = time.monotonic() - started
        assert len(got) == 150
        rejected = sum(1 for r in fake.requests if r.status == 429)
        assert rejected < 0.1 * len(fake.requests)
        assert client.usage.requests == len(fake.requests)
    # A generous bound: a client that kept on at 40/s would be shut out by the server's window.
    assert elapsed < 150 / 20 * 1.5
