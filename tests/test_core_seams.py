"""One home per fact and the small public seams of issue 9: the version, redirect loops, errors
whose retryability is fixed when they are made, the testing mode, `KeyAPI.limiter`,
`Paginator.plan`, and the fan-out's test of "the first failures alike"."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import msgspec
import pytest
from aiohttp import web

import keyapi_async
from keyapi_async import (
    APIConnectionError,
    BadRequestError,
    KeyAPI,
    PagingPlan,
    RateLimiter,
    TooManyRedirects,
)
from keyapi_async.testing import FakeKeyAPI, set_testing

from . import endpoints
from .conftest import MakeClient, serve

ROOT = Path(__file__).resolve().parent.parent
LIST = endpoints.LIST.path
VIDEOS = endpoints.VIDEOS.path


async def test_the_version_has_one_source_read_by_the_user_agent(
    fake: FakeKeyAPI, client: KeyAPI
) -> None:
    declared = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert declared is not None
    assert keyapi_async.__version__ == declared.group(1)
    await client.influencers.list(region="US")
    assert fake.requests[0].headers["User-Agent"] == f"keyapi-async/{keyapi_async.__version__}"


async def test_a_redirect_loop_is_too_many_redirects_and_not_retried() -> None:
    hops: list[str] = []

    async def loop(request: web.Request) -> web.Response:
        hops.append(request.path)
        raise web.HTTPFound(LIST)

    async with serve({LIST: loop}) as url, KeyAPI(api_key="k", base_url=url, qps=None) as client:
        with pytest.raises(TooManyRedirects) as info:
            await client.influencers.list(region="US")
    assert isinstance(info.value, APIConnectionError)
    assert info.value.retryable is False
    assert len(hops) == client.usage.requests == 4  # the first request and three hops, once


def test_retryable_is_fixed_when_an_error_is_made() -> None:
    assert APIConnectionError("x").retryable is True
    assert APIConnectionError("x", retryable=False).retryable is False
    # No code of the SDK changes it on an instance afterwards.
    for path in (ROOT / "keyapi_async").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                is_self = isinstance(target, ast.Attribute) and (
                    isinstance(target.value, ast.Name) and target.value.id == "self"
                )
                if isinstance(target, ast.Attribute) and target.attr == "retryable":
                    assert is_self, f"{path.name}:{node.lineno} sets retryable on an instance"


def test_set_testing_restores_the_previous_setting_however_the_block_is_left() -> None:
    from keyapi_async._retry import is_testing

    before = is_testing()

    def leave_by_an_error() -> None:
        with set_testing(not before):
            assert is_testing() is (not before)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        leave_by_an_error()
    assert is_testing() is before
    with set_testing(True):
        with set_testing(False):
            assert is_testing() is False
        assert is_testing() is True
    assert is_testing() is before


def test_the_client_shows_its_limiter_read_only() -> None:
    limiter = RateLimiter(5)
    client = KeyAPI("k", limiter=limiter)
    assert client.limiter is limiter
    assert isinstance(KeyAPI("k", qps=3).limiter, RateLimiter)
    assert KeyAPI("k", qps=None).limiter is None
    with pytest.raises(AttributeError):
        client.limiter = None  # type: ignore[misc]


def test_a_paginator_shows_its_plan_read_only(client: KeyAPI) -> None:
    pager = client.influencers.list(region="US", limit=25, page_size=10, concurrency=3)
    assert pager.plan == PagingPlan(
        page_size=10, start_page=1, last_page=3, limit=25, concurrency=3
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        pager.plan.last_page = 9  # type: ignore[misc]


async def test_the_first_failures_alike_compare_status_and_code_not_message(
    make_client: MakeClient,
) -> None:
    asked: list[str] = []

    async def refuse(request: web.Request) -> web.Response:
        uid = request.query["user_id"]
        asked.append(uid)
        body = {"code": 400, "message": f"user {uid} is not known", "data": None}
        return web.Response(status=400, body=msgspec.json.encode(body))

    async with serve({VIDEOS: refuse}) as url:
        client = make_client(api_key="k", base_url=url)
        fan = client.influencers.videos_many([str(n) for n in range(1, 41)], concurrency=1)

        async def drain() -> None:
            async with fan:
                async for _ in fan:
                    pass

        with pytest.raises(BadRequestError):
            await drain()
    assert len(asked) == 3  # the shared query is at fault: 3 failures, not 40
