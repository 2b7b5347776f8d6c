"""Answers no honest server sends, which a pull must still survive: IDs as floats at the edge of
exactness, JSON nested thousands deep, numbers no float holds, "inf" as text, nested category
objects, and a server that echoes the Authorization header back. Found by an adversarial review."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import pytest
from aiohttp import web

from keyapi_async import (
    APIStatusError,
    AuthenticationError,
    Influencer,
    KeyAPI,
    ResponseDecodeError,
    ServerError,
)

from . import endpoints
from .conftest import serve

LIST = endpoints.LIST.path
KEY = "sk_live_ECHOED_SECRET_123"


def page(*records: dict[str, Any], **envelope: Any) -> bytes:
    body = {"code": 0, "message": "success", "data": list(records), "requestId": "r-1"}
    return msgspec.json.encode({**body, **envelope})


async def pull_one(body: bytes) -> list[Influencer]:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async with (
        serve({LIST: answer}) as url,
        KeyAPI(api_key="sk_test", base_url=url, qps=None, max_retries=0) as client,
    ):
        return (await client.influencers.list(region="US")).items


# 9007199254740993 is written as text: as a Python float it would already be 2**53.
@pytest.mark.parametrize(
    "uid", [b"9007199254740992.0", b"9007199254740993.0", b"7.123456789012346e18"]
)
async def test_an_id_float_from_2_53_on_is_refused_naming_the_field(uid: bytes) -> None:
    # 2**53 + 1 arrives as the same float as 2**53: from 2**53 on, the true ID is unknown.
    body = page({"user_id": "X"}).replace(b'"X"', uid)
    with pytest.raises(ResponseDecodeError, match="user_id"):
        await pull_one(body)


async def test_an_id_float_below_2_53_is_its_exact_string() -> None:
    (record,) = await pull_one(page({"user_id": 9007199254740991.0}))
    assert record.user_id == "9007199254740991"


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("field", ["nick_name", "some_new_field"])
async def test_json_nested_thousands_deep_is_a_decode_error_not_a_crash(field: str) -> None:
    body = page({"user_id": "1"}).replace(
        b'"user_id"', f'"{field}":{_deep(5000)},"user_id"'.encode()
    )
    with pytest.raises(ResponseDecodeError, match="too deeply"):
        await pull_one(body)


async def test_a_histogram_nested_thousands_deep_reads_as_empty() -> None:
    (record,) = await pull_one(page({"user_id": "1", "influencer_video_publish_hour": _deep(5000)}))
    assert record.influencer_video_publish_hour == {}


async def test_nested_category_values_are_read_only_and_records_hashable() -> None:
    nested = '[{"category_id":"1","sub":{"x":1},"tags":[1,2]}]'
    (record,) = await pull_one(page({"user_id": "1", "most_category_product": nested}))
    category = record.most_category_product[0]
    with pytest.raises(TypeError):
        category["sub"]["x"] = 999
    assert category["sub"] == {"x": 1}
    assert hash(record) == hash(record)
    again = msgspec.json.decode(msgspec.json.encode(record), type=Influencer)
    assert again == record


@pytest.mark.parametrize("value", [b'"inf"', b'"-inf"', b'"nan"', b'"NaN"', b"1e400"])
async def test_a_number_json_cannot_carry_back_is_refused_naming_the_field(value: bytes) -> None:
    body = page({"user_id": "1", "ec_score": "X"}).replace(b'"X"', value)
    with pytest.raises(ResponseDecodeError, match="ec_score"):
        await pull_one(body)


async def test_a_number_where_the_envelope_has_text_still_reads_the_page() -> None:
    (record,) = await pull_one(page({"user_id": "1"}, message=5, requestId=7))
    assert record.user_id == "1"


def _echo(status: int, code: int) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        message = f"bad key {request.headers['Authorization']}"
        body = msgspec.json.encode({"code": code, "message": message, "data": None})
        return web.Response(status=status, body=body, content_type="application/json")

    return handler


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [(401, 401, AuthenticationError), (500, 500, ServerError), (200, 10001, APIStatusError)],
)
async def test_a_server_echoing_the_key_never_puts_it_in_errors_or_logs(
    status: int, code: int, error_type: type[APIStatusError], caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        serve({LIST: _echo(status, code)}) as url,
        KeyAPI(
            api_key=KEY,
            base_url=url,
            qps=None,
            max_retries=1,
            retry_base_delay=0,
            retry_max_delay=0.01,
        ) as client,
    ):
        with (
            caplog.at_level(logging.DEBUG, logger="keyapi_async"),
            pytest.raises(error_type) as info,
        ):
            await client.influencers.list(region="US")
    error = info.value
    shown = [str(error), repr(error), error.message, *map(str, error.args), caplog.text]
    assert not [text for text in shown if KEY in text]
    assert "<redacted>" in error.message
