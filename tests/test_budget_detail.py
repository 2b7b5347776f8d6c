"""Credit budget (max_credits) and influencers.detail batching."""

from __future__ import annotations

import pytest

from keyapi_async import CreditBudgetExceeded, KeyAPI
from keyapi_async.testing import FakeKeyAPI, Fault

from .conftest import MakeClient


def us_ids(fake: FakeKeyAPI) -> list[str]:
    return [r["user_id"] for r in fake.dataset.query_influencers({"region": "US"})]


async def test_budget_stops_before_the_request_that_would_exceed_it(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(max_credits=3)
    seen: list[str] = []

    async def pull() -> None:
        async for inf in client.influencers.list(region="US"):
            seen.append(inf.user_id)

    with pytest.raises(CreditBudgetExceeded) as caught:
        await pull()
    assert caught.value.max_credits == 3
    assert seen == us_ids(fake)[:30]  # the three paid pages were delivered first
    assert len(fake.requests) == 3 == client.usage.requests


async def test_retries_spend_the_budget_too(fake: FakeKeyAPI, make_client: MakeClient) -> None:
    fake.script(Fault.SERVER_ERROR, Fault.SERVER_ERROR)
    client = make_client(max_credits=2, max_retries=4)
    with pytest.raises(CreditBudgetExceeded):
        await client.influencers.list(region="US")
    assert len(fake.requests) == 2


async def test_budget_holds_under_concurrency(fake: FakeKeyAPI, make_client: MakeClient) -> None:
    client = make_client(max_credits=5)
    with pytest.raises(CreditBudgetExceeded):
        await client.influencers.list(region="US", concurrency=8).collect()
    assert len(fake.requests) == 5


async def test_detail_keeps_the_callers_order(fake: FakeKeyAPI, client: KeyAPI) -> None:
    ids = [r["user_id"] for r in fake.dataset.influencers[:7]][::-1]
    details = await client.influencers.detail(user_ids=ids)
    assert [d.user_id for d in details] == ids
    assert len(fake.requests) == 1


async def test_detail_batches_dedupes_and_skips_unknown(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(detail_batch_size=4)
    known = [r["user_id"] for r in fake.dataset.influencers[:9]]
    asked = [*known[:5], known[0], "1", *known[5:]]  # a duplicate and an unknown id
    details = await client.influencers.detail(user_ids=asked)
    assert [d.user_id for d in details] == known
    sent = [r.params["user_ids"].split(",") for r in fake.requests]
    assert sorted(len(batch) for batch in sent) == [2, 4, 4]
    assert sorted(i for batch in sent for i in batch) == sorted([*known, "1"])


async def test_detail_accepts_a_comma_string_and_handles(fake: FakeKeyAPI, client: KeyAPI) -> None:
    first, second, third = fake.dataset.influencers[:3]
    details = await client.influencers.detail(
        user_ids=f"{first['user_id']}, {second['user_id']}",
        unique_ids=["@" + third["unique_id"], first["unique_id"]],
    )
    # first is asked for twice (by id and by handle) and listed once.
    assert [d.user_id for d in details] == [first["user_id"], second["user_id"], third["user_id"]]
    assert {r.params.get("unique_ids") for r in fake.requests} >= {
        f"{third['unique_id']},{first['unique_id']}"
    }
