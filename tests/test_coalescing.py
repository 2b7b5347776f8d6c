"""Identical calls in flight share one request: the followers cost no credit and no slot.

The witness is FakeKeyAPI's request log (a request is logged when it arrives).
"""

from __future__ import annotations

import asyncio
import sys

import pytest

from keyapi_async import BadRequestError, InfluencerDetail, KeyAPI
from keyapi_async.testing import FakeKeyAPI, Fault

from .conftest import MakeClient


def some_ids(fake: FakeKeyAPI, n: int = 3) -> list[str]:
    return [str(r["user_id"]) for r in fake.dataset.influencers[:n]]


async def arrived(fake: FakeKeyAPI, n: int) -> None:
    """Until n requests reached the server (each answer is held by the fake's latency)."""
    while len(fake.requests) < n:  # noqa: ASYNC110 - the fake has no event to wait on
        await asyncio.sleep(0.002)


def detail(client: KeyAPI, ids: list[str]) -> asyncio.Task[list[InfluencerDetail]]:
    return asyncio.ensure_future(client.influencers.detail(user_ids=ids))


async def test_fifty_identical_calls_buy_one_answer(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(qps=5, max_credits=1)  # one credit, one slot: enough for all fifty
    fake.latency = 0.05
    ids = some_ids(fake)
    results = await asyncio.gather(*(client.influencers.detail(user_ids=ids) for _ in range(50)))
    assert len(fake.requests) == 1
    assert client.usage.requests == client.usage.credits == 1
    assert client.usage.coalesced == 49
    assert all(r == results[0] for r in results)
    assert [d.user_id for d in results[0]] == ids
    results[1].clear()  # each caller has its own list
    assert len(results[2]) == len(ids)


async def test_parameter_order_does_not_matter_and_other_queries_do(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client()
    fake.latency = 0.05
    a = client.influencers.list(region="US", sort_type=1, min_total_followers_cnt=5).collect()
    b = client.influencers.list(min_total_followers_cnt=5, region="US", sort_type=1).collect()
    c = client.influencers.list(region="GB", sort_type=1, min_total_followers_cnt=5).collect()
    first, second, other = await asyncio.gather(a, b, c, return_exceptions=True)
    assert first == second
    assert not isinstance(other, BaseException)
    pages = {(r.params["region"], r.params["page_num"]) for r in fake.requests}
    assert len(fake.requests) == len(pages)  # no page of a query bought twice
    assert client.usage.coalesced > 0


async def test_a_cancelled_follower_leaves_the_request_to_the_others(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client()
    fake.latency = 0.2
    ids = some_ids(fake)
    leader = detail(client, ids)
    await arrived(fake, 1)
    follower, other = detail(client, ids), detail(client, ids)
    await asyncio.sleep(0)  # both joined
    follower.cancel()
    assert [d.user_id for d in await leader] == ids
    assert [d.user_id for d in await other] == ids
    assert follower.cancelled()
    assert len(fake.requests) == 1


async def test_a_cancelled_first_caller_does_not_fail_the_followers(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client()
    fake.latency = 0.2
    ids = some_ids(fake)
    leader = detail(client, ids)
    await arrived(fake, 1)
    followers = [detail(client, ids) for _ in range(3)]
    await asyncio.sleep(0)
    leader.cancel()  # its request is its own: cancelled with it, as without sharing
    for follower in followers:
        assert [d.user_id for d in await follower] == ids  # one of them took over
    assert leader.cancelled()
    assert len(fake.requests) == 2 == client.usage.requests
    assert client.usage.coalesced == 2  # the other two shared the take-over's answer
    assert client.usage.succeeded == 1


async def test_when_every_caller_leaves_the_request_is_cancelled_and_awaited(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client()
    fake.latency = 5.0
    ids = some_ids(fake)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(detail(client, ids) for _ in range(3))), 0.3)
    left = [t for t in asyncio.all_tasks() if t.get_name().startswith("keyapi_async")]
    assert left == []  # nothing of the SDK still runs for callers that are gone
    assert len(fake.requests) == 1
    # The next call sends again: nothing of the abandoned one is remembered.
    fake.latency = 0.0
    assert [d.user_id for d in await client.influencers.detail(user_ids=ids)] == ids
    assert len(fake.requests) == 2


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout() is 3.11+")
async def test_a_timeout_around_a_loop_of_shared_calls(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client()
    fake.latency = 5.0
    ids = some_ids(fake)

    async def loop_until_timeout() -> None:
        async with asyncio.timeout(0.2):  # type: ignore[attr-defined]  # 3.11+
            while True:
                await asyncio.gather(detail(client, ids), detail(client, ids))

    with pytest.raises(TimeoutError):
        await loop_until_timeout()
    assert len(fake.requests) == 1


async def test_an_error_reaches_the_waiting_callers_and_is_not_remembered(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client()
    fake.latency = 0.1
    fake.script(Fault.BAD_REQUEST)  # the first request fails, for good (400 is final)
    ids = some_ids(fake)
    outcomes = await asyncio.gather(
        *(detail(client, ids) for _ in range(4)), return_exceptions=True
    )
    assert all(isinstance(o, BadRequestError) for o in outcomes)
    assert len(fake.requests) == 1
    again = await client.influencers.detail(user_ids=ids)
    assert [d.user_id for d in again] == ids
    assert len(fake.requests) == 2


async def test_coalesce_false_sends_every_call(fake: FakeKeyAPI, make_client: MakeClient) -> None:
    client = make_client(coalesce=False)
    fake.latency = 0.05
    ids = some_ids(fake)
    await asyncio.gather(*(client.influencers.detail(user_ids=ids) for _ in range(5)))
    assert len(fake.requests) == 5
    assert client.usage.coalesced == 0


async def test_a_bare_async_for_and_a_comprehension_share_pages(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client()
    fake.latency = 0.05

    async def bare() -> list[str]:
        got = []
        async for inf in client.influencers.list(region="US", limit=30):
            got.append(inf.user_id)
        return got

    async def comprehension() -> list[str]:
        return [i.user_id async for i in client.influencers.list(region="US", limit=30)]

    first, second = await asyncio.gather(bare(), comprehension())
    assert first == second
    assert len(first) == 30
    assert len(fake.requests) == 3  # three pages, bought once for both loops
    assert client.usage.coalesced == 3


def test_coalesce_must_be_a_bool() -> None:
    from keyapi_async import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="coalesce"):
        KeyAPI("sk_test", coalesce="yes")  # type: ignore[arg-type]
