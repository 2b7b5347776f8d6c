"""The credit budget: the protocol, the local budget, and retries first at the end of a budget."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from keyapi_async import (
    APIConnectionError,
    CreditBudget,
    CreditBudgetExceeded,
    InvalidParameterError,
    KeyAPI,
    KeyAPIError,
    LocalCreditBudget,
)
from keyapi_async.testing import FakeKeyAPI, Fault

from . import endpoints
from .conftest import MakeClient, serve

LIST = endpoints.LIST.path


class PageFaults(FakeKeyAPI):
    """A FakeKeyAPI that answers a fault, late, to chosen attempts of chosen pages."""

    def __init__(self, faults: dict[tuple[str, str, int], Fault], **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.faults = faults  # (region, page_num, attempt from 1) -> fault
        self.seen: dict[tuple[str, str], int] = {}

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        page = (request.query.get("region", ""), request.query.get("page_num", "1"))
        attempt = self.seen[page] = self.seen.get(page, 0) + 1
        fault = self.faults.get((*page, attempt))
        if fault is None:
            return await super()._handle(request)
        await asyncio.sleep(0.05)  # fail late, once the pages after it are under way
        self.script(fault)  # consumed by this very request: no await before it is read
        return await super()._handle(request)


def answered(fake: FakeKeyAPI, region: str = "US") -> set[int]:
    """Pages the server answered with data (paid and worth keeping)."""
    return {
        int(r.params.get("page_num", "1"))
        for r in fake.requests
        if r.status == 200 and r.code == 0 and r.params.get("region") == region
    }


def delivered_pages(ids: list[str], expected: list[str], page_size: int = 10) -> set[int]:
    return {expected.index(i) // page_size + 1 for i in ids}


@pytest.fixture
async def big() -> AsyncIterator[PageFaults]:
    faults = {("US", "4", 1): Fault.SERVER_ERROR, ("ID", "2", 1): Fault.SERVER_ERROR}
    async with PageFaults(faults, influencers=300) as server:
        yield server


def client_for(fake: FakeKeyAPI, **options: object) -> KeyAPI:
    return KeyAPI(
        api_key=fake.api_key,
        base_url=fake.url,
        qps=None,
        retry_base_delay=0.0,
        retry_max_delay=0.01,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(("concurrency", "credits"), [(4, 7), (8, 8)])
async def test_a_5xx_at_the_end_of_the_budget_is_retried_and_no_paid_page_is_lost(
    big: PageFaults, concurrency: int, credits: int
) -> None:
    expected = [r["user_id"] for r in big.dataset.query_influencers({"region": "US"})]
    got: list[str] = []

    async def pull(client: KeyAPI) -> None:
        async for inf in client.influencers.list(region="US", concurrency=concurrency):
            got.append(inf.user_id)

    async with client_for(big, max_credits=credits) as client:
        with pytest.raises(CreditBudgetExceeded):
            await pull(client)
    assert len(big.requests) <= credits
    assert big.seen["US", "4"] == 2  # the failed page was retried...
    delivered = delivered_pages(got, expected)
    assert 4 in delivered  # ...and delivered
    assert answered(big) <= delivered  # every page paid for reached the caller
    assert got == expected[: len(got)]


async def test_several_paginators_on_one_client_share_the_budget_without_losing_pages(
    big: PageFaults,
) -> None:
    regions = ["US", "ID", "GB"]
    got: dict[str, list[str]] = {region: [] for region in regions}

    async def pull(client: KeyAPI, region: str) -> None:
        async for inf in client.influencers.list(region=region, page_size=3, concurrency=4):
            got[region].append(inf.user_id)

    async with client_for(big, max_credits=14) as client:
        outcomes = await asyncio.gather(
            *(pull(client, region) for region in regions), return_exceptions=True
        )
    assert len(big.requests) <= 14
    assert all(isinstance(o, CreditBudgetExceeded) for o in outcomes)
    assert big.seen["ID", "2"] == 2  # failed and was tried again
    for region in regions:
        expected = [r["user_id"] for r in big.dataset.query_influencers({"region": region})]
        assert got[region] == expected[: len(got[region])]
        assert answered(big, region) <= delivered_pages(got[region], expected, 3), region


async def test_a_new_page_waits_for_credits_kept_for_retries_and_the_budget_is_used(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    budget = LocalCreditBudget(max_credits=5)
    client = make_client(budget=budget)
    with pytest.raises(CreditBudgetExceeded):
        await client.influencers.list(region="US", concurrency=8).collect()
    assert len(fake.requests) == 5  # waiting pages went once the pages in flight were done
    assert budget.spent == 5
    assert budget.remaining == 0


async def test_a_request_refused_at_connect_gives_its_credit_back() -> None:
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    budget = LocalCreditBudget(max_credits=1)
    async with KeyAPI(
        api_key="sk_test_x",
        base_url=f"http://127.0.0.1:{port}",
        qps=None,
        max_retries=2,
        retry_base_delay=0.0,
        retry_max_delay=0.0,
        budget=budget,
    ) as client:
        with pytest.raises(KeyAPIError) as caught:
            await client.influencers.list(region="US")
        assert not isinstance(caught.value, CreditBudgetExceeded)  # all 3 attempts were made
        assert client.usage.retries == 2
        assert client.usage.requests == client.usage.credits == 0
    assert budget.spent == 0
    assert budget.remaining == 1


class GatedLimiter:
    """An aiolimiter-like limiter that lets nothing through until opened."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def acquire(self) -> None:
        self.waiting.set()
        await self.gate.wait()


async def test_a_request_cancelled_at_the_limiter_gives_its_credit_back(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    limiter = GatedLimiter()
    client = make_client(max_credits=1, limiter=limiter)
    task = asyncio.ensure_future(client.influencers.list(region="US"))
    await limiter.waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    budget = client.budget
    assert isinstance(budget, LocalCreditBudget)
    assert budget.remaining == 1
    limiter.gate.set()
    page = await client.influencers.list(region="US")  # the credit is there to spend
    assert len(page.items) == 10
    assert len(fake.requests) == 1


async def test_a_timeout_around_a_waiting_page_gives_its_turn_back(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    budget = LocalCreditBudget(max_credits=2)
    held = await budget.reserve(retry=False)  # another request in flight, which may need a retry
    client = make_client(budget=budget)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await client.influencers.list(region="US")  # 1 left < 1 + 1 in flight: waits
    assert fake.requests == []
    await budget.settle(held, sent=False)
    assert budget.remaining == 2  # the timed-out waiter took nothing
    await client.influencers.list(region="US")
    await client.influencers.list(region="US", start_page=2)
    assert len(fake.requests) == 2 == budget.spent


async def test_budget_and_max_credits_are_exclusive_and_checked(fake: FakeKeyAPI) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        KeyAPI(api_key="sk_x", budget=LocalCreditBudget(max_credits=3), max_credits=3)
    assert caught.value.parameter == "budget"
    with pytest.raises(InvalidParameterError) as caught:
        KeyAPI(api_key="sk_x", budget=object())  # type: ignore[arg-type]
    assert caught.value.parameter == "budget"
    with pytest.raises(InvalidParameterError) as caught:
        LocalCreditBudget(max_credits=0)
    assert caught.value.parameter == "max_credits"
    async with KeyAPI(api_key="sk_x", base_url=fake.url) as client:
        assert client.budget is None
    async with KeyAPI(api_key="sk_x", base_url=fake.url, max_credits=4) as client:
        assert isinstance(client.budget, LocalCreditBudget)
        assert client.budget.max_credits == 4
        with pytest.raises(AttributeError):
            client.budget = None  # type: ignore[misc]


class CountingBudget:
    """A budget from outside the SDK: the client holds nothing about it in-process."""

    def __init__(self, credits: int) -> None:
        self.credits = credits
        self.log: list[tuple[str, object]] = []
        self._next = 0

    async def reserve(self, *, retry: bool) -> str:
        await asyncio.sleep(0)  # a round trip, as to Redis
        if self.credits <= 0:
            raise CreditBudgetExceeded(99)
        self.credits -= 1
        self._next += 1
        lease = f"lease-{self._next}"
        self.log.append(("reserve-retry" if retry else "reserve", lease))
        return lease

    async def settle(self, lease: str, *, sent: bool) -> None:
        await asyncio.sleep(0)
        if not sent:
            self.credits += 1
        self.log.append(("spent" if sent else "returned", lease))


async def test_any_object_following_the_protocol_is_a_budget(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    budget = CountingBudget(3)
    assert isinstance(budget, CreditBudget)
    fake.script(Fault.SERVER_ERROR)
    client = make_client(budget=budget)
    assert client.budget is budget
    page = await client.influencers.list(region="US")
    assert len(page.items) == 10
    # The retry's credit is reserved before the failed attempt's lease is settled, so the
    # request never stops counting as in flight.
    assert budget.log == [
        ("reserve", "lease-1"),
        ("reserve-retry", "lease-2"),
        ("spent", "lease-1"),
        ("spent", "lease-2"),
    ]
    with pytest.raises(CreditBudgetExceeded):
        await client.influencers.list(region="US", start_page=2, concurrency=2).collect()
    assert len(fake.requests) == 3


async def test_redirect_hops_are_leased_one_by_one() -> None:
    hops = 0

    async def loop(request: web.Request) -> web.Response:
        nonlocal hops
        hops += 1
        raise web.HTTPFound(request.path)

    budget = LocalCreditBudget(max_credits=6)
    async with (
        serve({LIST: loop}) as origin,
        KeyAPI("k", base_url=origin, qps=None, max_retries=0, budget=budget) as client,
    ):
        with pytest.raises(APIConnectionError, match="redirects"):
            await client.influencers.list(region="US")
        assert budget.spent == hops == 4 == client.usage.credits
        with pytest.raises(CreditBudgetExceeded):
            await client.influencers.list(region="US")  # 2 hops, then the budget
    assert hops == 6 == budget.spent
    assert budget.remaining == 0
