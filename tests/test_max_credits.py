"""max_credits: a cap on the requests sent, retries included, reached before the request that
would go over it, after the pages already paid for were delivered."""

from __future__ import annotations

import pytest

from keyapi_async import CreditBudgetExceeded
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
