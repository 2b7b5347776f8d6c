"""Usage matches the bill: each request that reached the server is a credit, whatever the answer."""

from __future__ import annotations

import asyncio

from keyapi_async import KeyAPIError, Usage
from keyapi_async.testing import FakeKeyAPI, Fault

from .conftest import MakeClient


def with_data(fake: FakeKeyAPI) -> int:
    return sum(1 for r in fake.requests if r.status == 200 and r.code == 0)


async def test_a_concurrent_pull_past_the_end_bills_every_page_asked(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client()
    expected = [r["user_id"] for r in fake.dataset.query_influencers({"region": "US"})]
    pager = client.influencers.list(region="US", page_size=9, concurrency=8)
    got = [inf.user_id async for inf in pager]
    assert got == expected
    assert len(fake.requests) > len(expected) // 9 + 1  # pages past the end were asked for
    assert client.usage.credits == len(fake.requests) == client.usage.requests
    assert client.usage.succeeded == with_data(fake) == len(fake.requests)


async def test_error_answers_are_credits_and_not_successes(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    fake.script(
        Fault.SERVER_ERROR,
        Fault.RATE_LIMIT,
        Fault.BAD_REQUEST,
        None,
        Fault.BODY_ERROR,
        Fault.DROP,
        Fault.SERVER_ERROR,
        Fault.SERVER_ERROR,
        Fault.SERVER_ERROR,
    )
    client = make_client(max_retries=2)
    calls = [client.influencers.list(region="US", start_page=page) for page in range(1, 7)]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    failed = [o for o in outcomes if isinstance(o, KeyAPIError)]
    assert failed, "some calls end in an error"
    assert len(failed) < len(outcomes), "some calls succeed"
    assert client.usage.credits == len(fake.requests) == client.usage.requests
    assert client.usage.succeeded == with_data(fake) == len(outcomes) - len(failed)
    assert client.usage.retries == len(fake.requests) - len(outcomes)
    assert client.usage.succeeded < client.usage.credits


def test_usage_repr_and_credits_follow_requests() -> None:
    usage = Usage()
    usage.requests, usage.succeeded, usage.retries = 5, 3, 2
    assert usage.credits == 5
    assert (
        repr(usage) == "Usage(requests=5, credits=5, succeeded=3, retries=2, rate_limited=0, "
        "cache_hits=0, coalesced=0)"
    )
