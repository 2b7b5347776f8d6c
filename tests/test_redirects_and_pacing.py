"""Redirects never carry the key off its origin; plain http is refused; pacing adapts to 429s."""

from __future__ import annotations

import datetime as dt
import time

import aiohttp
import pytest
from aiohttp import web

from keyapi_async import APIConnectionError, InvalidParameterError, KeyAPI, RateLimiter
from keyapi_async._limiter import PROBE_AFTER
from keyapi_async.testing import FakeKeyAPI

from .conftest import serve

LIST = "/v1/tiktok/influencer/list/analytics"
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


@pytest.mark.parametrize(
    "url", ["http://api.keyapi.ai", "http://10.0.0.5:8080", "HTTP://example.com/v1"]
)
def test_plain_http_off_loopback_is_refused(url: str) -> None:
    with pytest.raises(InvalidParameterError, match="allow_insecure_http") as caught:
        KeyAPI("k", base_url=url)
    assert caught.value.parameter == "base_url"
    assert KeyAPI("k", base_url=url, allow_insecure_http=True).base_url == url


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost", "http://[::1]:9"])
def test_plain_http_on_loopback_is_fine(url: str) -> None:
    assert KeyAPI("k", base_url=url).base_url == url


def test_limiter_backs_off_below_the_servers_limit_then_recovers() -> None:
    limiter = RateLimiter(10)
    now = 100.0
    for _ in range(10):  # a second of starts at 10/s
        now = limiter._take_slot(now)
    limiter._on_rate_limited(now, hold=1.0, sent_at=now)
    assert limiter.rate == pytest.approx(9 * 0.95)  # estimated limit 9, minus 5%
    assert limiter._take_slot(now) >= now + 1.0  # everyone waits out Retry-After
    limiter._take_slot(now + 5)
    assert limiter.rate == pytest.approx(9 * 0.95)  # holds just below the estimate ...
    limiter._take_slot(now + PROBE_AFTER + 5)
    assert 9 * 0.95 < limiter.rate < 10  # ... then probes above it ...
    limiter._take_slot(now + 300)
    assert limiter.rate == 10  # ... up to qps


def test_a_lone_429_never_more_than_halves_the_rate() -> None:
    limiter = RateLimiter(10)
    start = limiter._take_slot(100.0)  # one start in the last second: says little of the limit
    limiter._on_rate_limited(start, hold=0.0, sent_at=start)
    assert limiter.rate == pytest.approx(10 / 2 * 0.95)


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


_FAR_FUTURE = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 01 Jan 99999999 00:00:00 GMT", None),  # a date no clock can hold
        ("Fri, 31 Dec 9999 23:59:59 GMT", "far"),  # a date: seconds from now
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: now
        ("soon", None),
        ("", None),
        ("-3", 0.0),  # never a negative wait
        ("0", 0.0),
        ("1.5", 1.5),
        ("120", 120.0),
    ],
)
def test_any_retry_after_reads_as_seconds_or_nothing(
    value: str, expected: float | str | None
) -> None:
    from keyapi_async._decode import retry_after_seconds

    seconds = retry_after_seconds({"Retry-After": value})
    if expected == "far":
        assert seconds == pytest.approx(_FAR_FUTURE.timestamp() - time.time(), abs=60)
    else:
        assert seconds == expected
    assert retry_after_seconds({}) is None


def test_a_429_without_retry_after_holds_for_one_second_not_the_max_delay() -> None:
    from keyapi_async._retry import RetryPolicy

    policy = RetryPolicy(max_retries=4, base_delay=0.5, max_delay=30.0)
    assert policy.hold_after(None) == 1.0
    assert policy.hold_after(7.0) == 7.0
    assert policy.hold_after(120.0) == 30.0


async def test_a_borrowed_session_that_raises_for_status_still_gets_typed_errors() -> None:
    from keyapi_async import AuthenticationError

    async with FakeKeyAPI() as fake, aiohttp.ClientSession(raise_for_status=True) as session:
        client = KeyAPI("sk_live_wrong_key", base_url=fake.url, qps=None, session=session)
        with pytest.raises(AuthenticationError):
            await client.influencers.list(region="US")
        assert client.usage.requests == len(fake.requests) == 1  # a 401 is never retried
        await client.aclose()


async def test_a_connection_error_keeps_no_aiohttp_exception_behind_it() -> None:
    async with KeyAPI("sk_live_secret", base_url="http://127.0.0.1:9", max_retries=0) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.influencers.list(region="US")
    assert caught.value.__context__ is None  # aiohttp's request_info would hold the key
    assert caught.value.__cause__ is None
