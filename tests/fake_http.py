"""Plain-aiohttp helpers for the tests of FakeKeyAPI itself (no SDK in between)."""

from __future__ import annotations

from typing import Any

import aiohttp

from keyapi_async.testing import FakeKeyAPI

Json = dict[str, Any]


async def call(
    s: aiohttp.ClientSession, api: FakeKeyAPI, path: str, key: str | None = "", **params: object
) -> tuple[int, Json]:
    """GET with the fake's key ("" ), another key, or none (None); (status, body)."""
    headers = {"Authorization": f"Bearer {api.api_key if key == '' else key}"}
    if key is None:
        headers = {}
    query = {k: str(v) for k, v in params.items()}
    async with s.get(api.url + path, params=query, headers=headers) as resp:
        return resp.status, await resp.json()


async def ok(s: aiohttp.ClientSession, api: FakeKeyAPI, path: str, **params: object) -> list[Json]:
    status, body = await call(s, api, path, **params)
    assert (status, body["code"], body["message"]) == (200, 0, "success"), body
    data: list[Json] = body["data"]
    return data


async def all_pages(
    s: aiohttp.ClientSession, api: FakeKeyAPI, path: str, **params: object
) -> list[Json]:
    out: list[Json] = []
    for page in range(1, 1000):
        data = await ok(s, api, path, page_num=page, page_size=10, **params)
        out += data
        if len(data) < 10:
            return out
    raise AssertionError("no end")
