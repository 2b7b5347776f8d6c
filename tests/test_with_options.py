"""client.with_options(...): a light view with other per-call options over the same plan."""

from __future__ import annotations

import asyncio

import pytest

from keyapi_async import APITimeoutError, InvalidParameterError, KeyAPI, RateLimiter, ServerError
from keyapi_async.testing import FakeKeyAPI, Fault

from .conftest import MakeClient


async def test_a_view_shares_session_limiter_budget_and_usage(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    limiter = RateLimiter(50)
    client = make_client(limiter=limiter, max_credits=3)
    view = client.with_options(timeout=5.0, max_retries=0)
    assert view.limiter is limiter
    assert view.budget is client.budget
    assert view.usage is client.usage
    await view.influencers.list(region="US")
    await client.influencers.list(region="US", start_page=2)
    assert client.usage.requests == 2 == len(fake.requests)
    await view.influencers.list(region="US", start_page=3)
    from keyapi_async import CreditBudgetExceeded

    with pytest.raises(CreditBudgetExceeded):  # one budget for both
        await view.influencers.list(region="US", start_page=4)
    assert len(fake.requests) == 3


async def test_a_shorter_timeout_on_the_view_only(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(timeout=5.0, max_retries=0)
    fast = client.with_options(timeout=0.1)
    fake.latency = 0.3
    with pytest.raises(APITimeoutError, match=r"0\.1s"):
        await fast.influencers.list(region="US")
    page = await client.influencers.list(region="US", start_page=2)
    assert len(page.items) == 10  # the parent still waits its 5 s


async def test_max_retries_on_the_view_only(fake: FakeKeyAPI, make_client: MakeClient) -> None:
    client = make_client(max_retries=2)
    once = client.with_options(max_retries=0)
    fake.script(Fault.SERVER_ERROR)
    with pytest.raises(ServerError):
        await once.influencers.list(region="US")
    assert len(fake.requests) == 1
    fake.script(Fault.SERVER_ERROR)
    await client.influencers.list(region="US", start_page=2)  # retried once, then answered
    assert len(fake.requests) == 3
    assert client.usage.retries == 1


async def test_views_with_the_same_options_share_calls_in_flight(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(timeout=10.0)
    same = client.with_options(timeout=10.0)
    other = client.with_options(timeout=5.0)  # its own timeout: its own request
    fake.latency = 0.05
    ids = [str(r["user_id"]) for r in fake.dataset.influencers[:2]]
    await asyncio.gather(
        client.influencers.detail(user_ids=ids),
        same.influencers.detail(user_ids=ids),
        other.influencers.detail(user_ids=ids),
    )
    assert len(fake.requests) == 2
    assert client.usage.coalesced == 1


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("timeout", 0),
        ("timeout", float("nan")),
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("retry_max_delay", -1),
        ("retry_base_delay", "1"),
    ],
)
def test_bad_view_options_are_refused_by_name(option: str, value: object) -> None:
    client = KeyAPI("sk_test_view")
    with pytest.raises(InvalidParameterError) as info:
        client.with_options(**{option: value})  # type: ignore[arg-type]
    assert info.value.parameter == option


def test_a_view_cannot_reverse_the_delay_bounds() -> None:
    client = KeyAPI("sk_test_view", retry_base_delay=2.0, retry_max_delay=10.0)
    with pytest.raises(InvalidParameterError, match="retry_base_delay"):
        client.with_options(retry_max_delay=1.0)


def test_with_options_is_keyword_only() -> None:
    client = KeyAPI("sk_test_view")
    with pytest.raises(TypeError):
        client.with_options(5.0)  # type: ignore[misc]


async def test_closing_the_client_closes_its_views(fake: FakeKeyAPI) -> None:
    client = KeyAPI(fake.api_key, base_url=fake.url, qps=None)
    view = client.with_options(timeout=1.0)
    await client.aclose()
    from keyapi_async import KeyAPIError

    with pytest.raises(KeyAPIError, match="closed"):
        await view.influencers.list(region="US")
    assert fake.requests == []
