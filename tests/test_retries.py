"""Errors and retries: what is retried, what costs exactly one request, what is raised."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time

import pytest

from keyapi_async import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    KeyAPI,
    KeyAPIError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
)
from keyapi_async.testing import FakeKeyAPI, Fault

from .conftest import MakeClient

RETRIED = [
    (Fault.SERVER_ERROR, ServerError),
    (Fault.RATE_LIMIT, RateLimitError),
    (Fault.BODY_ERROR, ServerError),
    (Fault.BODY_RATE_LIMIT, RateLimitError),
    (Fault.DROP, APIConnectionError),
    (Fault.TRUNCATE, APIConnectionError),
    (Fault.GARBAGE, ResponseDecodeError),
]
FINAL = [
    (Fault.BAD_REQUEST, BadRequestError, 400),
    (Fault.UNAUTHORIZED, AuthenticationError, 401),
    (Fault.NO_CREDITS, InsufficientCreditsError, 402),
]


@pytest.mark.parametrize(("fault", "error"), RETRIED)
async def test_transient_fault_is_retried_and_recovers(
    fake: FakeKeyAPI,
    make_client: MakeClient,
    fault: Fault,
    error: type[KeyAPIError],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.script(fault, fault)
    client = make_client(max_retries=2)
    with caplog.at_level(logging.DEBUG, logger="keyapi_async"):
        page = await client.influencers.list(region="US")
    assert len(page.items) == 10
    assert len(fake.requests) == 3
    assert [r.fault for r in fake.requests] == [fault, fault, None]
    assert client.usage.requests == 3  # what the server received, resends included
    assert client.usage.retries == 2
    assert client.usage.succeeded == 1
    assert client.usage.credits == 3  # every request that reached the server may be billed
    # Each retry was for the fault's own error, mapped as documented.
    retried = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retry ")]
    assert len(retried) == 2
    assert all(f" after {error.__name__}: " in message for message in retried), retried


@pytest.mark.parametrize(("fault", "error"), RETRIED)
async def test_retries_run_out_with_the_last_typed_error(
    fake: FakeKeyAPI, make_client: MakeClient, fault: Fault, error: type[KeyAPIError]
) -> None:
    fake.script(*[fault] * 4)
    client = make_client(max_retries=3)
    with pytest.raises(error):
        await client.influencers.list(region="US")
    assert len(fake.requests) == 4 == client.usage.requests == client.usage.credits
    assert client.usage.succeeded == 0


@pytest.mark.parametrize(("fault", "error", "status"), FINAL)
async def test_final_errors_cost_exactly_one_request(
    fake: FakeKeyAPI, make_client: MakeClient, fault: Fault, error: type[KeyAPIError], status: int
) -> None:
    fake.script(fault)
    client = make_client(max_retries=4)
    with pytest.raises(error) as caught:
        await client.influencers.list(region="US")
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    assert caught.value.request_id  # type: ignore[attr-defined]
    assert len(fake.requests) == 1 == client.usage.requests
    assert client.usage.retries == 0


async def test_wrong_key_is_an_authentication_error(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(api_key="sk_live_wrong")
    with pytest.raises(AuthenticationError) as caught:
        await client.influencers.list(region="US")
    assert caught.value.status_code == 401
    assert "sk_live_wrong" not in str(caught.value)
    assert len(fake.requests) == 1


async def test_body_code_on_http_200_is_that_error(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    fake.script(Fault.BODY_RATE_LIMIT)
    client = make_client(max_retries=0)
    with pytest.raises(RateLimitError) as caught:
        await client.influencers.list(region="US")
    assert caught.value.status_code == 429
    assert caught.value.code == 429


def waits_logged(caplog: pytest.LogCaptureFixture) -> list[float]:
    found = [re.search(r" in ([0-9.]+)s after ", r.getMessage()) for r in caplog.records]
    return [float(m.group(1)) for m in found if m]


async def test_retry_after_is_honoured_and_logged(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeKeyAPI(retry_after=0.2) as fake:
        fake.script(Fault.RATE_LIMIT)
        client = make_client(api_key=fake.api_key, base_url=fake.url, retry_max_delay=5.0)
        with caplog.at_level(logging.DEBUG, logger="keyapi_async"):
            await client.influencers.list(region="US")
    assert waits_logged(caplog) == [0.2]
    assert all(r.name == "keyapi_async" and r.levelno == logging.DEBUG for r in caplog.records)


async def test_retry_after_is_capped_at_retry_max_delay(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeKeyAPI(retry_after=120) as fake:
        fake.script(Fault.RATE_LIMIT)
        client = make_client(api_key=fake.api_key, base_url=fake.url, retry_max_delay=0.05)
        with caplog.at_level(logging.DEBUG, logger="keyapi_async"):
            await client.influencers.list(region="US")
    assert waits_logged(caplog) == [0.05]


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


async def test_backoff_is_exponential_with_full_jitter(
    fake: FakeKeyAPI, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script(*[Fault.SERVER_ERROR] * 4)
    client = make_client(max_retries=4, retry_base_delay=0.001, retry_max_delay=0.004)
    with caplog.at_level(logging.DEBUG, logger="keyapi_async"):
        await client.influencers.list(region="US")
    waits = waits_logged(caplog)
    assert len(waits) == 4
    for n, wait in enumerate(waits):
        assert 0 <= wait <= min(0.004, 0.001 * 2**n) + 0.005  # logged with 2 decimals


async def test_stall_times_out_and_is_retried(make_client: MakeClient) -> None:
    async with FakeKeyAPI(stall=30) as fake:
        fake.script(Fault.STALL)
        client = make_client(api_key=fake.api_key, base_url=fake.url, timeout=0.3)
        page = await client.influencers.list(region="US")
        assert len(page.items) == 10
        assert client.usage.retries == 1
        assert client.usage.requests == len(fake.requests) == 2


async def test_stall_beyond_retries_raises_timeout(make_client: MakeClient) -> None:
    async with FakeKeyAPI(stall=30) as fake:
        fake.script(Fault.STALL, Fault.STALL)
        client = make_client(api_key=fake.api_key, base_url=fake.url, timeout=0.2, max_retries=1)
        with pytest.raises(APITimeoutError):
            await client.influencers.list(region="US")


async def test_nothing_listening_is_a_connection_error() -> None:
    async with KeyAPI(
        "k", base_url="http://127.0.0.1:9", qps=None, max_retries=1, retry_base_delay=0
    ) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.influencers.list(region="US")
        assert client.usage.requests == 0  # no connection, so nothing reached a server
        assert not isinstance(caught.value.__cause__, Exception)  # no aiohttp error leaks


async def test_dropped_connection_is_not_resent_behind_our_back(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    # Warm a kept-alive connection, then drop: aiohttp alone would resend once, unseen.
    client = make_client(max_retries=0)
    await client.influencers.list(region="US")
    fake.script(Fault.DROP)
    with pytest.raises(APIConnectionError):
        await client.influencers.list(region="US", start_page=2)
    assert client.usage.requests == len(fake.requests) == 2
