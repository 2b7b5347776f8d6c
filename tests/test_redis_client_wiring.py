"""KeyAPI drives a shared limiter by itself: a limiter made without a name is scoped by a
fingerprint of the client's key, and a 402 one client receives stops the others before they send."""

from __future__ import annotations

import msgspec
import pytest
from aiohttp import web
from redis.asyncio import Redis

from keyapi_async import InsufficientCreditsError, KeyAPI
from keyapi_async.redis import RedisRateLimiter
from keyapi_async.testing import FakeKeyAPI

from . import endpoints
from .conftest import serve


async def _all_keys_and_values(redis: Redis) -> list[bytes]:
    found: list[bytes] = []
    async for key in redis.scan_iter("*"):
        found.append(key)
        kind = await redis.type(key)
        if kind == b"string":
            found.append(await redis.get(key) or b"")
        elif kind == b"hash":
            for field, value in (await redis.hgetall(key)).items():
                found += [field, value]
        elif kind == b"zset":
            found += [member for member, _ in await redis.zrange(key, 0, -1, withscores=True)]
    return found


async def test_an_unnamed_limiter_is_scoped_by_the_key_without_storing_it(
    fake: FakeKeyAPI, redis: Redis
) -> None:
    limiter = RedisRateLimiter(redis, qps=50)
    async with KeyAPI(api_key=fake.api_key, base_url=fake.url, limiter=limiter) as client:
        page = await client.influencers.list(region="US")
    assert page.items
    stored = await _all_keys_and_values(redis)
    assert stored, "the limiter kept its schedule in Redis"
    assert all(fake.api_key.encode() not in item for item in stored)
    # A second client with the same key shares the scope; another key may not use it.
    KeyAPI(api_key=fake.api_key, base_url=fake.url, limiter=limiter)
    with pytest.raises(Exception, match="two API keys") as info:
        KeyAPI(api_key="sk_other_key_0000", base_url=fake.url, limiter=limiter)
    assert "sk_other_key_0000" not in str(info.value)


async def test_a_402_stops_every_client_of_the_plan_before_it_sends(redis: Redis) -> None:
    async with FakeKeyAPI(influencers=30, credits=0) as fake:
        clients = [
            KeyAPI(
                api_key=fake.api_key,
                base_url=fake.url,
                limiter=RedisRateLimiter(redis, qps=50, name="plan-402"),
                max_retries=0,
            )
            for _ in range(3)
        ]
        try:
            for client in clients:
                with pytest.raises(InsufficientCreditsError):
                    await client.influencers.list(region="US")
        finally:
            for client in clients:
                await client.aclose()
        assert len(fake.requests) == 1  # one wasted request for the fleet, not one per client
        assert [c.usage.requests for c in clients] == [1, 0, 0]


async def test_a_402_that_echoes_the_key_shares_no_key_with_the_fleet(redis: Redis) -> None:
    key = "sk_live_ECHOED_402_SECRET"

    async def quota(request: web.Request) -> web.Response:
        message = f"quota is not enough for {request.headers['Authorization']}"
        body = msgspec.json.encode({"code": 402, "message": message, "data": None})
        return web.Response(status=402, body=body, content_type="application/json")

    async with (
        serve({endpoints.LIST.path: quota}) as url,
        KeyAPI(
            api_key=key, base_url=url, limiter=RedisRateLimiter(redis, qps=50, name="echo")
        ) as client,
    ):
        with pytest.raises(InsufficientCreditsError) as info:
            await client.influencers.list(region="US")
    assert key not in str(info.value)
    stored = await _all_keys_and_values(redis)
    assert any(b"quota is not enough" in item for item in stored), "the 402 was shared"
    assert all(key.encode() not in item for item in stored)
