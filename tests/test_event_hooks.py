"""KeyAPI(event_hooks=[...]): every attempt and every cache hit, seen by a plain function."""

from __future__ import annotations

import logging

import pytest

from keyapi_async import (
    APIConnectionError,
    AttemptDetails,
    BadRequestError,
    InvalidParameterError,
    KeyAPI,
    MemoryCache,
    RateLimitError,
    ServerError,
)
from keyapi_async.testing import FakeKeyAPI, Fault

from .conftest import MakeClient


async def test_each_attempt_is_seen_with_its_status_and_the_wait_before_its_retry(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    seen: list[AttemptDetails] = []
    client = make_client(event_hooks=[seen.append], max_retries=3)
    fake.script(Fault.SERVER_ERROR, Fault.RATE_LIMIT)
    page = await client.influencers.list(region="US", start_page=2)
    assert [(d.attempt, d.status, d.page_num, d.endpoint) for d in seen] == [
        (1, 500, 2, "list"),
        (2, 429, 2, "list"),
        (3, 200, 2, "list"),
    ]
    assert isinstance(seen[0].error, ServerError)
    assert isinstance(seen[1].error, RateLimitError)
    assert [d.wait is None for d in seen] == [False, False, True]
    assert seen[2].error is None
    assert seen[2].request_id == page.request_id
    assert [d.requests for d in seen] == [1, 1, 1]
    assert all(d.elapsed >= 0 and not d.cache_hit for d in seen)


async def test_a_final_error_is_seen_once_without_a_wait(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    seen: list[AttemptDetails] = []
    client = make_client(event_hooks=[seen.append])
    fake.script(Fault.BAD_REQUEST)
    with pytest.raises(BadRequestError):
        await client.influencers.list(region="US")
    assert [(d.attempt, d.status, d.wait) for d in seen] == [(1, 400, None)]
    assert isinstance(seen[0].error, BadRequestError)


async def test_retries_exhausted_the_last_attempt_has_no_wait(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    seen: list[AttemptDetails] = []
    client = make_client(event_hooks=[seen.append], max_retries=1)
    fake.script(Fault.SERVER_ERROR, Fault.SERVER_ERROR)
    with pytest.raises(ServerError):
        await client.influencers.list(region="US")
    assert [(d.attempt, d.wait is None) for d in seen] == [(1, False), (2, True)]


async def test_a_cache_hit_is_seen_as_one(fake: FakeKeyAPI, make_client: MakeClient) -> None:
    seen: list[AttemptDetails] = []
    client = make_client(event_hooks=[seen.append], cache=MemoryCache())
    await client.influencers.list(region="US")
    await client.influencers.list(region="US")
    assert [(d.attempt, d.cache_hit, d.requests) for d in seen] == [(1, False, 1), (0, True, 0)]
    assert seen[0].request_id == seen[1].request_id


async def test_a_connection_error_has_no_status(make_client: MakeClient) -> None:
    seen: list[AttemptDetails] = []
    async with KeyAPI(
        "sk_test", base_url="http://127.0.0.1:9", max_retries=0, event_hooks=[seen.append]
    ) as client:
        with pytest.raises(APIConnectionError):
            await client.influencers.list(region="US")
    assert [(d.status, d.requests) for d in seen] == [(None, 0)]


async def test_a_hook_that_raises_does_not_fail_the_call(
    fake: FakeKeyAPI, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(details: AttemptDetails) -> None:
        raise RuntimeError("observer down")

    client = make_client(event_hooks=[broken])
    with caplog.at_level(logging.WARNING, logger="keyapi_async"):
        page = await client.influencers.list(region="US")
    assert len(page.items) == 10
    assert any("observer down" in r.getMessage() for r in caplog.records)


async def test_nothing_a_hook_sees_holds_the_key(fake: FakeKeyAPI, make_client: MakeClient) -> None:
    seen: list[AttemptDetails] = []
    client = make_client(event_hooks=[seen.append], max_retries=1)
    fake.script(Fault.UNAUTHORIZED)
    with pytest.raises(Exception):  # noqa: B017, PT011 - any error: its text is what is checked
        await client.influencers.list(region="US")
    await client.influencers.list(region="US")
    for details in seen:
        assert fake.api_key not in repr(details)
        assert fake.api_key not in str(details.error)


@pytest.mark.parametrize("bad", ["print", 3, [1]])
def test_hooks_must_be_functions(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="event_hooks"):
        KeyAPI("sk_test", event_hooks=bad)  # type: ignore[arg-type]
