"""Fixtures for the Redis tests: a real redis-server for the session, a client per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as redis_asyncio

from tests.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.start()  # a fault test may have stopped it
    return redis_server.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[redis_asyncio.Redis]:
    """A client on a flushed database, with timeouts so a dead server fails fast."""
    client = redis_asyncio.Redis.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
    await client.flushdb()
    yield client
    await client.aclose()
