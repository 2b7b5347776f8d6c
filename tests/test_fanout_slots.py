"""A fan-out's workers buy at most `concurrency` pages ahead of the consumer, counting the pages
that end a user with nothing in them and the users that fail: each of those costs a credit too.
(An adversarial review found a left bare loop walking every remaining user ID.)"""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from aiohttp import web

from keyapi_async import KeyAPI

from . import endpoints
from .conftest import Handler, serve

VIDEOS = endpoints.VIDEOS.path
CONCURRENCY = 4


def videos_server(hits: list[str], *, others: str) -> dict[str, Handler]:
    async def answer(request: web.Request) -> web.Response:
        uid = request.query["user_id"]
        hits.append(uid)
        if uid == "1":  # one short page: the consumer's first item
            body = {"code": 0, "data": [{"video_id": str(i), "user_id": "1"} for i in range(5)]}
        elif others == "empty":
            body = {"code": 0, "data": []}
        else:
            body = {"code": 400, "message": "no such user", "data": None}
        status = 400 if others == "400" and uid != "1" else 200
        return web.Response(status=status, body=msgspec.json.encode(body))

    return {VIDEOS: answer}


async def _bought_after(hits: list[str], bound: int) -> int:
    """Give the workers every chance to overspend (a bounded wait for a violation)."""
    for _ in range(100):
        if len(hits) > bound:
            break
        await asyncio.sleep(0.01)
    return len(hits)


@pytest.mark.parametrize("others", ["empty", "400"])
async def test_a_left_bare_loop_buys_at_most_concurrency_more_pages(others: str) -> None:
    hits: list[str] = []
    async with (
        serve(videos_server(hits, others=others)) as url,
        KeyAPI(api_key="sk_test", base_url=url, qps=None, max_retries=0) as client,
    ):
        fan = client.influencers.videos_many(
            [str(i) for i in range(1, 201)], concurrency=CONCURRENCY
        )

        async def consume() -> None:
            async for _ in fan:
                raise ValueError("the consumer gives up after the first item")

        with pytest.raises(ValueError, match="gives up"):
            await consume()
        left_at = len(hits)
        bought = await _bought_after(hits, left_at + CONCURRENCY)
        await fan.aclose()
    assert bought <= left_at + CONCURRENCY, f"{bought - left_at} bought after the loop was left"
