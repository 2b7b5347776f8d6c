"""Redirects: followed by the client, each hop a request; the key never leaves its origin; a loop
or a malformed Location ends the call at once, without a retry."""

from __future__ import annotations

import pytest
from aiohttp import web

from keyapi_async import APIConnectionError, KeyAPI

from . import endpoints
from .conftest import serve

LIST = endpoints.LIST.path
OK = {"code": 0, "message": "success", "data": [{"user_id": "1"}], "requestId": "r"}


async def test_redirect_to_another_host_drops_the_key() -> None:
    seen: dict[str, str | None] = {}

    async def landing(request: web.Request) -> web.Response:
        seen["other"] = request.headers.get("Authorization")
        return web.json_response(OK)

    async with serve({"/landing": landing}) as other:

        async def moved(request: web.Request) -> web.Response:
            seen["origin"] = request.headers.get("Authorization")
            raise web.HTTPFound(other.replace("127.0.0.1", "localhost") + "/landing")

        async with (
            serve({LIST: moved}) as origin,
            KeyAPI("sk_secret", base_url=origin, qps=None) as client,
        ):
            page = await client.influencers.list(region="US")
    assert [i.user_id for i in page.items] == ["1"]
    assert seen == {"origin": "Bearer sk_secret", "other": None}
    assert client.usage.requests == 2  # each hop is a request


async def test_redirect_within_the_origin_keeps_the_key() -> None:
    seen: list[str | None] = []

    async def moved(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        raise web.HTTPPermanentRedirect("/v2" + LIST + "?" + request.query_string)

    async def landing(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        assert request.query["page_num"] == "1"
        return web.json_response(OK)

    async with (
        serve({LIST: moved, "/v2" + LIST: landing}) as origin,
        KeyAPI("sk_secret", base_url=origin, qps=None) as client,
    ):
        await client.influencers.list(region="US")
    assert seen == ["Bearer sk_secret", "Bearer sk_secret"]


async def test_a_redirect_loop_ends() -> None:
    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(LIST)

    async with (
        serve({LIST: loop}) as origin,
        KeyAPI("k", base_url=origin, qps=None, max_retries=0) as client,
    ):
        with pytest.raises(APIConnectionError, match="redirects"):
            await client.influencers.list(region="US")
        assert client.usage.requests == 4


async def test_a_redirect_loop_is_not_retried() -> None:
    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(LIST)

    async with (
        serve({LIST: loop}) as origin,
        KeyAPI("k", base_url=origin, qps=None, max_retries=3) as client,
    ):
        with pytest.raises(APIConnectionError, match="redirects"):
            await client.influencers.list(region="US")
        assert client.usage.requests == 4  # one attempt of four hops, not four attempts


async def test_a_malformed_location_is_one_connection_error() -> None:
    async def bad(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "http://[::1"})

    async with (
        serve({LIST: bad}) as origin,
        KeyAPI("k", base_url=origin, qps=None, max_retries=3) as client,
    ):
        with pytest.raises(APIConnectionError, match="Location"):
            await client.influencers.list(region="US")
        assert client.usage.requests == 1  # not retried: it would get the same header
