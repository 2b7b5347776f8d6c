"""RedisCreditBudget against a real redis-server: one budget for several clients, retries first
at its end, leases that expire as spent, key hygiene, and the shared 402 flag. Faults (Redis
killed, hung, SCRIPT FLUSH) are in test_redis_budget_faults.py, processes in _fleet.py."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
import pytest
from aiohttp import web
from redis.asyncio import Redis

from keyapi_async import (
    CreditBudget,
    CreditBudgetExceeded,
    InsufficientCreditsError,
    InvalidParameterError,
    KeyAPI,
    KeyAPIError,
)
from keyapi_async.redis import RedisCreditBudget, RedisRateLimiter
from keyapi_async.redis._budget import POLL
from keyapi_async.testing import FakeKeyAPI, Fault

from .conftest import serve
from .test_budget import PageFaults, answered, delivered_pages
from .test_redis_client_wiring import _all_keys_and_values

PLAN = "acme-budget"


async def eventually(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait for a state Redis's clock brings about (a lease's deadline): polled, it has no event."""
    for _ in range(500):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within 10 s")


@pytest.fixture
async def other(redis_url: str) -> AsyncIterator[Redis]:
    """A second connection, as another process would have."""
    client = Redis.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
    yield client
    await client.aclose()


def client_for(fake: FakeKeyAPI, budget: RedisCreditBudget, **options: object) -> KeyAPI:
    """A client of `fake` under `budget`; no pacing and near-zero retry waits unless given."""
    defaults: dict[str, object] = {"qps": None, "retry_base_delay": 0.0, "retry_max_delay": 0.01}
    return KeyAPI(
        api_key=fake.api_key,
        base_url=fake.url,
        budget=budget,
        **{**defaults, **options},  # type: ignore[arg-type]
    )


async def test_bad_arguments_name_the_parameter(redis: Redis) -> None:
    for kwargs, parameter in [
        ({"max_credits": 0}, "max_credits"),
        ({"max_credits": True}, "max_credits"),
        ({"max_credits": "50"}, "max_credits"),
        ({"max_credits": 5, "name": "a{b}"}, "name"),
        ({"max_credits": 5, "lease_ttl": 0}, "lease_ttl"),
        ({"max_credits": 5, "lease_ttl": float("inf")}, "lease_ttl"),
        ({"max_credits": 5, "lease_ttl": 60, "idle_ttl": 30}, "idle_ttl"),
        ({"max_credits": 5, "credits_stop_ttl": -1}, "credits_stop_ttl"),
        ({"max_credits": 5, "timeout": 0}, "timeout"),
        ({"max_credits": 5, "probe": float("nan")}, "probe"),
    ]:
        with pytest.raises(InvalidParameterError) as info:
            RedisCreditBudget(redis, **kwargs)  # type: ignore[arg-type]
        assert info.value.parameter == parameter, kwargs
        assert "must be" in str(info.value)
    with pytest.raises(InvalidParameterError) as info:
        RedisCreditBudget("redis://127.0.0.1", max_credits=5)  # type: ignore[arg-type]
    assert info.value.parameter == "redis"
    budget = RedisCreditBudget(redis, max_credits=5, name=PLAN)
    assert isinstance(budget, CreditBudget)
    with pytest.raises(InvalidParameterError) as info:
        await budget.credits_exhausted("no credits", ttl=0)
    assert info.value.parameter == "ttl"


# --- one budget, several clients ---------------------------------------------------------


async def test_two_clients_on_two_connections_never_send_more_than_the_budget(
    fake: FakeKeyAPI, redis: Redis, other: Redis
) -> None:
    budgets = [RedisCreditBudget(r, max_credits=25, name=PLAN) for r in (redis, other)]
    clients = [client_for(fake, b) for b in budgets]

    async def pull(client: KeyAPI, start: int) -> BaseException | None:
        pages = client.influencers.list(
            region="US", page_size=2, start_page=start, max_pages=18, concurrency=8
        )
        try:
            await pages.collect()
        except CreditBudgetExceeded as exc:
            return exc
        return None

    try:
        outcomes = await asyncio.gather(pull(clients[0], 1), pull(clients[1], 20))
    finally:
        for c in clients:
            await c.aclose()
    assert all(isinstance(o, CreditBudgetExceeded) for o in outcomes)
    assert len(fake.requests) == 25  # every credit used, none twice
    assert sum(c.usage.requests for c in clients) == 25
    assert await budgets[0].spent() == 25
    assert await budgets[1].remaining() == 0
    assert await budgets[1].in_flight() == 0


async def test_a_new_call_elsewhere_waits_while_the_last_credits_are_kept_for_retries(
    redis: Redis, other: Redis
) -> None:
    mine = RedisCreditBudget(redis, max_credits=3, name=PLAN)
    theirs = RedisCreditBudget(other, max_credits=3, name=PLAN)
    first = await mine.reserve(retry=False)  # 3 left, none in flight: goes
    second = await theirs.reserve(retry=False)  # 2 left >= 1 + 1 in flight: goes
    waiting = asyncio.ensure_future(mine.reserve(retry=False))  # 1 left < 1 + 2: waits
    await asyncio.sleep(3 * POLL)  # it asks Redis again every POLL seconds
    assert not waiting.done()
    assert await theirs.in_flight() == 2
    retry = await mine.reserve(retry=True)  # the retry of the first call takes the last credit
    await mine.settle(first, sent=True)
    with pytest.raises(CreditBudgetExceeded):
        await waiting  # nothing left for it once the retry has it
    await theirs.settle(second, sent=True)
    await mine.settle(retry, sent=True)
    assert await theirs.spent() == 3
    assert await theirs.in_flight() == 0


@pytest.fixture
async def big() -> AsyncIterator[PageFaults]:
    # Two pages fail once, late, when the pages after them are under way (see test_budget.py).
    faults = {("US", "4", 1): Fault.SERVER_ERROR, ("ID", "3", 1): Fault.SERVER_ERROR}
    async with PageFaults(faults, influencers=300) as server:
        yield server


async def test_a_5xx_at_the_end_of_a_shared_budget_is_retried_and_no_paid_page_is_lost(
    big: PageFaults, redis: Redis, other: Redis
) -> None:
    regions = ["US", "ID"]
    got: dict[str, list[str]] = {region: [] for region in regions}
    clients = [
        client_for(big, RedisCreditBudget(r, max_credits=12, name=PLAN), max_retries=2)
        for r in (redis, other)
    ]

    async def pull(client: KeyAPI, region: str) -> None:
        async for inf in client.influencers.list(region=region, page_size=3, concurrency=4):
            got[region].append(inf.user_id)

    try:
        outcomes = await asyncio.gather(
            *(pull(c, region) for c, region in zip(clients, regions, strict=True)),
            return_exceptions=True,
        )
    finally:
        for c in clients:
            await c.aclose()
    assert all(isinstance(o, CreditBudgetExceeded) for o in outcomes), outcomes
    assert len(big.requests) == 12
    for region, page in (("US", "4"), ("ID", "3")):
        assert big.seen[region, page] == 2  # the failed page was tried again...
        expected = [r["user_id"] for r in big.dataset.query_influencers({"region": region})]
        delivered = delivered_pages(got[region], expected, 3)
        assert int(page) in delivered  # ...and delivered
        assert answered(big, region) <= delivered, region  # every page paid for reached us
        assert got[region] == expected[: len(got[region])]


# --- leases ------------------------------------------------------------------------------


async def test_an_expired_lease_counts_as_spent_until_its_process_gives_it_back(
    redis: Redis, other: Redis
) -> None:
    mine = RedisCreditBudget(redis, max_credits=5, name=PLAN, lease_ttl=0.2)
    theirs = RedisCreditBudget(other, max_credits=5, name=PLAN)
    unsent = await mine.reserve(retry=False)
    sent = await mine.reserve(retry=True)
    assert await theirs.in_flight() == 2
    await eventually(lambda: _is(theirs.in_flight(), 0))  # past the deadline: reaped
    assert await theirs.spent() == 2  # the safe side: as if sent
    await mine.settle(unsent, sent=False)  # its process is alive and knows better
    await mine.settle(sent, sent=True)  # already counted: not twice
    assert await theirs.spent() == 1
    assert await theirs.remaining() == 4


async def _is(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


# --- keys --------------------------------------------------------------------------------


async def test_an_unnamed_budget_is_scoped_by_the_key_and_never_stores_it(
    fake: FakeKeyAPI, redis: Redis
) -> None:
    budget = RedisCreditBudget(redis, max_credits=5, idle_ttl=600)
    with pytest.raises(KeyAPIError, match="give it a name"):
        await budget.reserve(retry=False)
    async with client_for(fake, budget) as client:
        page = await client.influencers.list(region="US")
    assert page.items
    assert await budget.spent() == 1
    digest = hashlib.sha256(b"keyapi-async key\x00" + fake.api_key.encode()).hexdigest()[:32]
    names = [k.decode() async for k in redis.scan_iter("*")]
    assert names == [f"keyapi:{{key-{digest}}}:budget"]  # leases gone once settled
    assert 0 < await redis.pttl(names[0]) <= 600_000  # forgotten a while after its last use
    stored = await _all_keys_and_values(redis)
    assert all(fake.api_key.encode() not in item for item in stored)
    assert fake.api_key not in repr(budget)
    client_for(fake, budget)  # the same key: the same scope
    with pytest.raises(InvalidParameterError, match="two API keys") as info:
        KeyAPI(api_key="sk_other_key_0000", base_url=fake.url, budget=budget)
    assert "sk_other_key_0000" not in str(info.value)


def test_repr_names_the_budget_and_nothing_else() -> None:
    budget = RedisCreditBudget(Redis(), max_credits=50_000, name="acme-plan")
    assert repr(budget) == "RedisCreditBudget(max_credits=50000, name='acme-plan')"


# --- stop on 402 -------------------------------------------------------------------------


async def test_a_402_one_client_gets_stops_another_before_it_sends(
    redis: Redis, other: Redis
) -> None:
    async with FakeKeyAPI(influencers=30, credits=0) as fake:
        budgets = [
            RedisCreditBudget(r, max_credits=100, name=PLAN, credits_stop_ttl=30)
            for r in (redis, other)
        ]
        clients = [client_for(fake, b, max_retries=0) for b in budgets]
        try:
            for client in clients:
                with pytest.raises(InsufficientCreditsError):
                    await client.influencers.list(region="US")
            assert [r.status for r in fake.requests] == [402]  # one wasted request, not two
            assert [c.usage.requests for c in clients] == [1, 0]
            assert 0 < await redis.pttl(f"keyapi:{{{PLAN}}}:stop") <= 30_000
            assert await budgets[1].spent() == 1  # the 402 was sent: counted
            fake.credits = 5  # a top-up, and the flag lowered: the fleet resumes
            await budgets[0].credits_restored()
            assert (await clients[1].influencers.list(region="US")).items
        finally:
            for client in clients:
                await client.aclose()


async def test_the_402_flag_is_the_one_a_limiter_of_the_same_name_shares(
    redis: Redis, other: Redis
) -> None:
    budget = RedisCreditBudget(redis, max_credits=10, name=PLAN)
    limiter = RedisRateLimiter(other, qps=50, name=PLAN)
    await limiter.credits_exhausted("Insufficient credits", ttl=60)
    with pytest.raises(InsufficientCreditsError, match="Insufficient credits"):
        await budget.reserve(retry=False)
    await limiter.credits_restored()
    await budget.settle(await budget.reserve(retry=False), sent=False)
    await budget.credits_exhausted("quota is not enough", ttl=60)
    with pytest.raises(InsufficientCreditsError, match="quota is not enough"):
        await limiter.acquire()
    assert await budget.spent() == 0  # nothing was sent


async def test_a_402_that_echoes_the_key_shares_no_key_through_the_budget(redis: Redis) -> None:
    key = "sk_live_ECHOED_402_BUDGET"

    async def quota(request: web.Request) -> web.Response:
        message = f"quota is not enough for {request.headers['Authorization']}"
        body = msgspec.json.encode({"code": 402, "message": message, "data": None})
        return web.Response(status=402, body=body, content_type="application/json")

    budget = RedisCreditBudget(redis, max_credits=5)  # bound to the key's fingerprint
    async with (
        serve({"/v1/tiktok/influencer/list/analytics": quota}) as url,
        KeyAPI(api_key=key, base_url=url, qps=None, budget=budget, max_retries=0) as client,
    ):
        with pytest.raises(InsufficientCreditsError):
            await client.influencers.list(region="US")
        with pytest.raises(InsufficientCreditsError, match="quota is not enough") as info:
            await client.influencers.list(region="US")  # stopped by the flag, before sending
    assert key not in str(info.value)
    assert client.usage.requests == 1
    stored = await _all_keys_and_values(redis)
    assert any(b"quota is not enough" in item for item in stored), "the 402 was shared"
    assert all(key.encode() not in item for item in stored)
