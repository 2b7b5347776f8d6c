"""influencers.detail_stream: details for long ID lists, in order, a bounded window of batches.

A batch failing for its own IDs is set aside (FanOutError names each ID at the end); a failure
about the whole pull starts nothing new, delivers what was paid for, then is raised. detail()
stays all or nothing, on the same machinery.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from keyapi_async import (
    AuthenticationError,
    BadRequestError,
    CreditBudgetExceeded,
    FanOutError,
    InvalidParameterError,
    KeyAPI,
)
from keyapi_async.testing import FakeKeyAPI, Fault

from . import endpoints
from .conftest import MakeClient, serve


def us(fake: FakeKeyAPI) -> list[str]:
    return [str(r["user_id"]) for r in fake.dataset.query_influencers({"region": "US"})]


def sdk_tasks() -> list[asyncio.Task[Any]]:
    return [
        t for t in asyncio.all_tasks() if t.get_name().startswith("keyapi_async") and not t.done()
    ]


def asked(fake: FakeKeyAPI, status: int) -> list[str]:
    """The user IDs of the requests the server answered with `status`, in arrival order."""
    return [i for r in fake.requests if r.status == status for i in r.params["user_ids"].split(",")]


async def drain(stream: Any, sink: list[str]) -> None:
    async for detail in stream:
        sink.append(detail.user_id)


async def test_records_come_in_the_given_order_like_detail(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(detail_batch_size=3)
    people = fake.dataset.influencers[:20]
    ids = [str(r["user_id"]) for r in people[:14]][::-1]
    handles = [str(people[15]["unique_id"]), "@" + str(people[0]["unique_id"])]
    asked_twice = [*ids[:3], ids[0], "1", *ids[3:]]  # a duplicate and an unknown ID
    streamed: list[str] = []
    async with client.influencers.detail_stream(
        user_ids=asked_twice, unique_ids=handles, concurrency=3
    ) as stream:
        await drain(stream, streamed)
    expected = [*ids, str(people[15]["user_id"])]  # people[0] asked by ID and handle: once
    assert streamed == expected
    listed = await client.influencers.detail(user_ids=asked_twice, unique_ids=handles)
    assert [d.user_id for d in listed] == expected


async def test_at_most_concurrency_batches_are_bought_ahead(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(detail_batch_size=2)
    ids = us(fake)[:60]  # 30 batches
    async with client.influencers.detail_stream(user_ids=ids, concurrency=3) as stream:
        first = await anext(stream)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while any(r.status == 0 for r in fake.requests) or sdk_tasks():
            assert loop.time() < deadline
            await asyncio.sleep(0.005)
        assert first.user_id == ids[0]
        assert len(fake.requests) <= 3 + 1, "batches were bought far ahead of the consumer"
    assert not sdk_tasks()


async def test_a_bad_batch_is_set_aside_and_named(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(detail_batch_size=3, max_retries=0)
    ids = us(fake)[:24]
    fake.script(None, None, Fault.BAD_REQUEST)  # the third batch to arrive fails
    got: list[str] = []
    with pytest.raises(FanOutError) as caught:
        await drain(client.influencers.detail_stream(user_ids=ids, concurrency=4), got)
    failed = asked(fake, 400)
    assert len(failed) == 3
    assert set(caught.value.failures) == set(failed)
    assert all(isinstance(e, BadRequestError) for e in caught.value.failures.values())
    assert got == [i for i in ids if i not in failed]
    assert len(fake.requests) == 8
    assert not sdk_tasks()


async def test_a_whole_pull_failure_delivers_what_arrived_then_stops(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(detail_batch_size=3, max_retries=0)
    fake.latency = 0.01
    ids = us(fake)[:60]  # 20 batches
    fake.script(None, None, Fault.UNAUTHORIZED)
    got: list[str] = []
    with pytest.raises(AuthenticationError):
        await drain(client.influencers.detail_stream(user_ids=ids, concurrency=4), got)
    paid = set(asked(fake, 200))
    assert got, "the batches before the failed one were not delivered"
    assert set(got) <= paid
    assert got == [i for i in ids if i in set(got)], "out of order"
    assert len(fake.requests) <= 3 + 4, "batches were started after the failure was seen"
    assert not sdk_tasks()


@pytest.mark.parametrize("failing", [None, 1, 2])
async def test_the_budget_delivers_every_paid_batch_first(
    fake: FakeKeyAPI, make_client: MakeClient, failing: int | None
) -> None:
    """The `failing`-th batch gets a 500; its retry finds the budget spent."""
    client = make_client(detail_batch_size=3, max_credits=4, max_retries=1)
    fake.latency = 0.01
    ids = us(fake)[:30]
    if failing is not None:
        fake.script(*[None] * failing, Fault.SERVER_ERROR)
    got: list[str] = []
    with pytest.raises(CreditBudgetExceeded):
        await drain(client.influencers.detail_stream(user_ids=ids, concurrency=4), got)
    paid = set(asked(fake, 200))
    assert len(paid) == 3 * (4 if failing is None else 3)
    assert got == [i for i in ids if i in paid]
    assert client.usage.requests == len(fake.requests) == 4
    assert not sdk_tasks()


async def test_detail_stays_all_or_nothing(fake: FakeKeyAPI, make_client: MakeClient) -> None:
    client = make_client(detail_batch_size=3, max_retries=0)
    fake.script(None, Fault.BAD_REQUEST)
    with pytest.raises(BadRequestError):
        await client.influencers.detail(user_ids=us(fake)[:30])
    assert not sdk_tasks()


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({}, "user_ids"),
        ({"user_ids": []}, "user_ids"),
        ({"unique_ids": []}, "unique_ids"),
        ({"user_ids": ["12", "x1"]}, "user_ids[1]"),
        ({"unique_ids": ["ok", "@"]}, "unique_ids[1]"),
        ({"user_ids": ["12"], "concurrency": 0}, "concurrency"),
        ({"user_ids": ["12"], "concurrency": 65}, "concurrency"),
    ],
)
async def test_bad_arguments_are_refused_before_sending(
    fake: FakeKeyAPI, client: KeyAPI, kwargs: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        client.influencers.detail_stream(**kwargs)
    assert caught.value.parameter == parameter
    if "concurrency" not in kwargs:
        with pytest.raises(InvalidParameterError) as again:
            await client.influencers.detail(**kwargs)
        assert again.value.parameter == parameter
    assert fake.requests == []


async def test_records_without_a_user_id_are_all_delivered() -> None:
    """A null user_id reads as "": such records are not duplicates of one another."""

    async def answer(request: web.Request) -> web.Response:
        handles = request.query["unique_ids"].split(",")
        data = [{"unique_id": h, "user_id": None} for h in handles]
        return web.json_response({"code": 0, "data": data, "requestId": "r"})

    handles = ["alice", "bob", "carol", "dave"]
    async with (
        serve({endpoints.DETAIL.path: answer}) as url,
        KeyAPI(api_key="sk_test", base_url=url, qps=None) as client,
    ):
        full = await client.influencers.detail(unique_ids=handles)
        async with client.influencers.detail_stream(unique_ids=handles) as stream:
            streamed = [record.unique_id async for record in stream]
    assert [r.unique_id for r in full] == handles
    assert streamed == handles
