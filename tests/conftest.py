"""Shared fixtures: a FakeKeyAPI in the test's own loop, and clients pointed at it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from keyapi_async import KeyAPI
from keyapi_async.testing import FakeKeyAPI
from tests.conftest_redis import redis, redis_server, redis_url  # noqa: F401 - fixtures

MakeClient = Callable[..., KeyAPI]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serve(routes: dict[str, Handler]) -> AsyncIterator[str]:
    """A tiny aiohttp app on 127.0.0.1 for what FakeKeyAPI does not do; yields its base URL."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def fake() -> AsyncIterator[FakeKeyAPI]:
    async with FakeKeyAPI(influencers=120) as server:
        yield server


@pytest.fixture
async def make_client(fake: FakeKeyAPI) -> AsyncIterator[MakeClient]:
    """Clients for `fake`, closed at teardown. No pacing and near-zero retry waits by default."""
    clients: list[KeyAPI] = []

    def make(**options: Any) -> KeyAPI:
        options.setdefault("api_key", fake.api_key)
        options.setdefault("base_url", fake.url)
        options.setdefault("qps", None)
        options.setdefault("retry_base_delay", 0.0)
        options.setdefault("retry_max_delay", 0.01)
        client = KeyAPI(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A bare aiohttp session, for tests that talk to a server without the SDK."""
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def client(make_client: MakeClient) -> KeyAPI:
    return make_client()
