"""Which answer becomes which error, and which errors are retried.

Only HTTP 5xx and body codes 500..599 are server errors (retried). The documented codes (400,
401, 402, 403, 429) keep their classes whether they come as the HTTP status or inside an HTTP
200; any other non-zero body code is a plain APIStatusError, never retried. Requests are counted
on the server's side.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web

import keyapi_async
from keyapi_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    KeyAPI,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from keyapi_async import _endpoints as e
from keyapi_async.testing import FakeKeyAPI

from . import endpoints
from .conftest import serve

LIST = endpoints.LIST.path
KEY = "sk_live_h4_secret_key"


def _body(code: int, message: str = "nope") -> bytes:
    return msgspec.json.encode({"code": code, "message": message, "data": None, "requestId": "r1"})


async def _pull_once(status: int, code: int, **options: Any) -> tuple[BaseException, int, int]:
    """One list call against a server that always answers (status, code): (error, requests the
    server got, requests the client counted)."""
    seen: list[web.Request] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request)
        return web.Response(status=status, body=_body(code), content_type="application/json")

    async with serve({LIST: answer}) as origin:
        client = KeyAPI(KEY, base_url=origin, qps=None, retry_base_delay=0, **options)
        try:
            with pytest.raises(APIStatusError) as caught:
                await client.influencers.list(region="US")
        finally:
            await client.aclose()
    return caught.value, len(seen), client.usage.requests


@pytest.mark.parametrize("code", [10001, 600, 404, 1, -1])
async def test_an_unknown_body_code_in_a_200_is_one_request_not_five(code: int) -> None:
    error, served, counted = await _pull_once(200, code, max_retries=4)
    assert type(error) is APIStatusError
    assert (error.status_code, error.code) == (200, code)
    assert error.retryable is False
    assert served == counted == 1
    assert f"code {code}" in str(error)


@pytest.mark.parametrize("code", [500, 503, 599])
async def test_a_body_code_500_to_599_is_a_server_error_and_retried(code: int) -> None:
    error, served, counted = await _pull_once(200, code, max_retries=2)
    assert type(error) is ServerError
    assert (error.status_code, error.code) == (code, code)
    assert served == counted == 3


@pytest.mark.parametrize("status", [600, 700, 999])
async def test_an_http_status_past_599_is_not_a_server_error(status: int) -> None:
    error, served, counted = await _pull_once(status, status, max_retries=4)
    assert type(error) is APIStatusError
    assert error.status_code == status
    assert served == counted == 1


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, InsufficientCreditsError),
        (403, PermissionDeniedError),
        (429, RateLimitError),
        (500, ServerError),
        (599, ServerError),
    ],
)
def test_documented_body_codes_in_a_200_keep_their_class(
    code: int, error_class: type[APIStatusError]
) -> None:
    with pytest.raises(error_class) as caught:
        e.INFLUENCER_LIST.decoder.decode(200, _body(code))
    # Documented in APIStatusError: for these, status_code is the body's code.
    assert type(caught.value) is error_class
    assert (caught.value.status_code, caught.value.code) == (code, code)


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(403, PermissionDeniedError), (404, APIStatusError), (418, APIStatusError)],
)
def test_http_4xx_statuses_map_to_their_class(
    status: int, error_class: type[APIStatusError]
) -> None:
    with pytest.raises(APIStatusError) as caught:
        e.INFLUENCER_LIST.decoder.decode(status, _body(status))
    assert type(caught.value) is error_class
    assert caught.value.status_code == status
    assert caught.value.retryable is False


@pytest.mark.parametrize("status", [403, 200])  # the HTTP status, or a 403 inside an HTTP 200
async def test_a_403_is_permission_denied_and_never_retried(status: int) -> None:
    error, served, counted = await _pull_once(status, 403, max_retries=4)
    assert type(error) is PermissionDeniedError
    assert error.status_code == 403
    assert served == counted == 1


def test_permission_denied_is_exported_and_a_status_error() -> None:
    assert "PermissionDeniedError" in keyapi_async.__all__
    assert issubclass(keyapi_async.PermissionDeniedError, APIStatusError)
    assert keyapi_async.PermissionDeniedError.retryable is False


async def test_a_401_says_the_server_rejected_the_key_and_never_shows_it() -> None:
    async with FakeKeyAPI() as fake:
        async with KeyAPI(KEY, base_url=fake.url, qps=None) as client:
            with pytest.raises(AuthenticationError) as caught:
                await client.influencers.list(region="US")
        assert len(fake.requests) == 1
    error = caught.value
    assert error.message == "apiKey is null"  # the server's own words, unchanged
    assert str(error).startswith("the server rejected the API key: apiKey is null (HTTP 401")
    for text in (str(error), repr(error), repr(error.args)):
        assert KEY not in text


async def test_a_401_after_a_redirect_off_the_origin_says_the_key_was_not_sent() -> None:
    # The key only goes to the base URL's origin, so this 401 is not about the key.
    async def unauthorized(request: web.Request) -> web.Response:
        assert "Authorization" not in request.headers
        return web.Response(status=401, body=_body(401, "apiKey is null"))

    async with serve({LIST: unauthorized}) as elsewhere:

        async def moved(request: web.Request) -> web.Response:
            raise web.HTTPFound(elsewhere + LIST)

        async with (
            serve({LIST: moved}) as origin,
            KeyAPI(KEY, base_url=origin, qps=None) as client,
        ):
            with pytest.raises(AuthenticationError) as caught:
                await client.influencers.list(region="US")
    text = str(caught.value)
    assert "rejected the API key" not in text
    assert "without the API key" in text
    assert "redirect" in text
    assert caught.value.message == "apiKey is null"
    assert KEY not in text


async def test_a_borrowed_session_that_raises_for_status_still_gets_typed_errors() -> None:
    async with FakeKeyAPI() as fake, aiohttp.ClientSession(raise_for_status=True) as session:
        client = KeyAPI("sk_live_wrong_key", base_url=fake.url, qps=None, session=session)
        with pytest.raises(AuthenticationError):
            await client.influencers.list(region="US")
        assert client.usage.requests == len(fake.requests) == 1  # a 401 is never retried
        await client.aclose()
