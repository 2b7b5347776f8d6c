"""Adversarial review of coalescing, the cache, with_options(), event hooks and retries.

Each test here failed on main when it was written; it states the behaviour the SDK promises
(issues #9, #11, #12) against real local servers (FakeKeyAPI, redis-server).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from keyapi_async import (
    APITimeoutError,
    AttemptDetails,
    CreditBudgetExceeded,
    InvalidParameterError,
    KeyAPI,
    KeyAPIError,
    LocalCreditBudget,
    MemoryCache,
    RateLimiter,
    SQLiteCache,
)
from keyapi_async.redis import RedisCache
from keyapi_async.testing import FakeKeyAPI, Fault

from .conftest import MakeClient


def some_ids(fake: FakeKeyAPI, n: int = 3) -> list[str]:
    return [str(r["user_id"]) for r in fake.dataset.influencers[:n]]


async def arrived(fake: FakeKeyAPI, n: int) -> None:
    while len(fake.requests) < n:  # noqa: ASYNC110 - the fake has no event to wait on
        await asyncio.sleep(0.002)


def delete_everything_in(folder: Path) -> None:
    for leftover in folder.iterdir():
        leftover.unlink()


class SettlesOverTheNetwork(LocalCreditBudget):
    """A budget whose settle() is a round trip (as a shared, Redis-backed budget's is)."""

    def __init__(self, max_credits: int) -> None:
        super().__init__(max_credits)
        self.settling = asyncio.Event()

    async def settle(self, lease: None, *, sent: bool) -> None:
        self.settling.set()
        await asyncio.sleep(0.05)
        await super().settle(lease, sent=sent)


async def test_a_call_made_while_an_abandoned_request_unwinds_is_not_cancelled(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    """A new caller must never receive a CancelledError nobody sent it: joining a shared
    request that is being cancelled (its last waiter left) must start a fresh one instead."""
    budget = SettlesOverTheNetwork(100)
    client: KeyAPI = make_client(budget=budget)
    fake.latency = 0.5
    ids = some_ids(fake)
    leaver = asyncio.ensure_future(client.influencers.detail(user_ids=ids))
    await arrived(fake, 1)
    leaver.cancel()  # the only waiter leaves: the shared request is cancelled...
    await budget.settling.wait()  # ...and is unwinding (its lease settles over the network)
    newcomer = asyncio.ensure_future(client.influencers.detail(user_ids=ids))
    done = await asyncio.gather(leaver, newcomer, return_exceptions=True)
    assert isinstance(done[0], asyncio.CancelledError)
    assert not newcomer.cancelled(), "a caller nobody cancelled got CancelledError"
    assert [d.user_id for d in done[1]] == ids  # type: ignore[union-attr]


async def test_the_first_callers_edits_of_its_page_do_not_reach_the_followers(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    """Each caller gets its own list: the leader's list is handed to it before the followers
    copy theirs, so a leader that edits its page at once empties theirs."""
    client = make_client()
    fake.latency = 0.05

    async def clears_its_page() -> int:
        page = await client.influencers.list(region="US")
        n = len(page.items)
        page.items.clear()  # its own page, to do with as it likes
        return n

    async def reads_its_page() -> int:
        page = await client.influencers.list(region="US")
        return len(page.items)

    mine, theirs = await asyncio.gather(clears_its_page(), reads_its_page())
    assert len(fake.requests) == 1
    assert client.usage.coalesced == 1
    assert mine == 10
    assert theirs == 10, "the follower's page was emptied by the leader's edit"


async def test_a_cache_hit_under_the_fill_lock_is_seen_by_the_hooks(
    fake: FakeKeyAPI, make_client: MakeClient, redis: Redis
) -> None:
    """Two clients on one RedisCache: the second waits in the fill lock and is served the
    first one's answer. usage.cache_hits counts it; the hooks (and so the otel cache_hits
    counter) must see it as a cache hit too."""
    fake.latency = 0.2
    seen: list[AttemptDetails] = []
    buyer = make_client(cache=RedisCache(redis))
    waiter = make_client(cache=RedisCache(redis), event_hooks=[seen.append])
    ids = some_ids(fake)
    buying = asyncio.ensure_future(buyer.influencers.detail(user_ids=ids))
    await arrived(fake, 1)  # the buyer holds the lock: the waiter must wait in it
    await asyncio.gather(buying, waiter.influencers.detail(user_ids=ids))
    assert len(fake.requests) == 1
    assert waiter.usage.cache_hits == 1
    assert [(d.attempt, d.cache_hit) for d in seen] == [(0, True)]


async def test_a_views_shorter_timeout_holds_when_it_joins_a_longer_call(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    """with_options(timeout=) exists so a route can answer fast on a client a batch job uses;
    a route call that joins the batch job's identical call in flight must still time out on
    its own timeout, not wait for the batch job's."""
    client = make_client(timeout=30.0)
    route = client.with_options(timeout=0.2, max_retries=0)
    fake.latency = 2.0
    ids = some_ids(fake)
    batch = asyncio.ensure_future(client.influencers.detail(user_ids=ids))
    await arrived(fake, 1)
    with pytest.raises(APITimeoutError):
        await route.influencers.detail(user_ids=ids)
    await batch


async def test_a_views_max_retries_0_does_not_take_the_parents_retries_away(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    """A batch call (4 retries) that joins a route view's identical call (no retry, short
    timeout) must not fail with an error its own options would have retried."""
    client = make_client(timeout=5.0, max_retries=4)
    route = client.with_options(timeout=0.2, max_retries=0)
    fake.stall = 3.0
    fake.script(Fault.STALL)  # the first answer hangs half-way: the route's timeout fires
    ids = some_ids(fake)
    first = asyncio.ensure_future(route.influencers.detail(user_ids=ids))
    await arrived(fake, 1)
    batch = await asyncio.gather(client.influencers.detail(user_ids=ids), return_exceptions=True)
    with pytest.raises(APITimeoutError):
        await first
    assert not isinstance(batch[0], BaseException), f"the batch call failed: {batch[0]!r}"
    assert [d.user_id for d in batch[0]] == ids


async def test_an_attempt_whose_retry_the_budget_refuses_is_seen_with_its_own_status(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    """The attempt got a 500; the retry then found no credit. The hook must see the attempt
    as it went (status 500, a ServerError, no wait), not as a CreditBudgetExceeded with no
    status, which is what an otel span then records."""
    seen: list[AttemptDetails] = []
    client = make_client(max_credits=1, event_hooks=[seen.append])
    fake.script(Fault.SERVER_ERROR)
    with pytest.raises(CreditBudgetExceeded):
        await client.influencers.list(region="US")
    assert fake.requests[0].status == 500
    assert [(d.attempt, d.status, type(d.error).__name__, d.wait) for d in seen] == [
        (1, 500, "ServerError", None)
    ]


async def test_a_cancelled_attempt_that_was_sent_is_seen_by_the_hooks(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    """A request that reached the server costs a credit even if its caller is cancelled; the
    hooks (the otel keyapi.requests and keyapi.credits counters) must count it, or they read
    below usage.requests and the bill."""
    seen: list[AttemptDetails] = []
    client = make_client(event_hooks=[seen.append])
    fake.latency = 1.0
    call = asyncio.ensure_future(client.influencers.list(region="US"))
    await arrived(fake, 1)
    call.cancel()
    await asyncio.gather(call, return_exceptions=True)
    assert client.usage.requests == len(fake.requests) == 1
    assert sum(d.requests for d in seen) == client.usage.requests


async def test_a_deleted_sqlite_file_starts_the_cache_over_in_a_running_client(
    fake: FakeKeyAPI, make_client: MakeClient, tmp_path: Path
) -> None:
    """ "Delete the file to start over" (SQLiteCache, docs/saving-credits.md): a running
    client must not keep serving, and filling, the deleted file through its open connection,
    where no other process sharing the path can see what it stores."""
    path = tmp_path / "cache.sqlite"
    client = make_client(cache=SQLiteCache(path))
    ids = some_ids(fake)
    await client.influencers.detail(user_ids=ids)
    delete_everything_in(tmp_path)  # the file and its -wal and -shm
    await client.influencers.detail(user_ids=ids)
    assert client.usage.cache_hits == 0, "served from a file that was deleted"
    assert len(fake.requests) == 2
    other = make_client(cache=SQLiteCache(path))
    await other.influencers.detail(user_ids=ids)  # what the first client bought again is shared
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("option", "value"),
    [("cache", MemoryCache), ("limiter", RateLimiter), ("budget", LocalCreditBudget)],
)
def test_a_class_where_an_instance_belongs_is_refused_by_name(option: str, value: Any) -> None:
    """KeyAPI(cache=MemoryCache) (no parentheses) passes the duck-type check, since a class has
    the methods; then every call pays with a warning (cache), or fails with a bare TypeError
    (limiter, budget), and aclose() raises TypeError. It must be an InvalidParameterError
    naming the option, before anything is sent."""
    options: dict[str, Any] = {option: value}
    with pytest.raises(InvalidParameterError) as info:
        KeyAPI("sk_test_review", **options)
    assert info.value.parameter == option


async def test_a_cache_whose_aclose_raises_does_not_fail_closing_the_client(
    fake: FakeKeyAPI,
) -> None:
    """Every call into a cache is guarded ("never let the cache fail a call"), but aclose() is
    not: a backend that fails to close turns the end of a successful `async with` into an
    exception."""

    class FailsToClose(MemoryCache):
        async def aclose(self) -> None:
            raise OSError("the backend could not close")

    async with KeyAPI(fake.api_key, base_url=fake.url, qps=None, cache=FailsToClose()) as client:
        await client.influencers.list(region="US")
    assert client.usage.requests == 1


async def test_a_cached_call_that_joins_an_uncached_views_request_still_keeps_the_answer(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    """The coalescing key ignores the cache: a client call (cache miss, so it means to buy and
    store) that joins a with_options(cache=None) view's identical request gets the answer but
    never stores it, so the client's next identical call pays again for what it already got."""
    client = make_client(cache=MemoryCache())
    view = client.with_options(cache=None)
    fake.latency = 0.1
    ids = some_ids(fake)
    uncached = asyncio.ensure_future(view.influencers.detail(user_ids=ids))
    await arrived(fake, 1)
    await asyncio.gather(uncached, client.influencers.detail(user_ids=ids))
    assert client.usage.coalesced == 1
    await client.influencers.detail(user_ids=ids)  # the client already bought this answer
    assert len(fake.requests) == 1, "the answer the client received was not kept"
    assert client.usage.cache_hits == 1


def wal_left(folder: Path) -> list[str]:
    return sorted(f.name for f in folder.iterdir() if f.name.endswith(("-wal", "-shm")))


async def test_closing_a_cache_none_view_closes_the_clients_cache(
    fake: FakeKeyAPI, tmp_path: Path
) -> None:
    """ "The view owns nothing: closing it is closing this client", and closing the client
    closes its cache. Closed through a with_options(cache=None) view, the client refuses to
    send, but its SQLiteCache keeps its thread and open connection (the WAL files stay)."""
    client = KeyAPI(fake.api_key, base_url=fake.url, qps=None, cache=SQLiteCache(tmp_path / "c"))
    await client.influencers.list(region="US")
    assert wal_left(tmp_path) == ["c-shm", "c-wal"]  # the connection is open
    await client.with_options(cache=None).aclose()
    with pytest.raises(KeyAPIError, match="closed"):
        await client.influencers.list(region="US")
    assert wal_left(tmp_path) == [], "the client's cache was left open"


def test_an_async_hook_is_refused_by_name() -> None:
    """A hook is a plain function, called without await. An `async def` hook passes the
    callable() check, then never runs: each attempt makes a coroutine nobody awaits (a
    RuntimeWarning at collection). It must be refused, naming event_hooks."""

    async def hook(details: AttemptDetails) -> None:
        return None

    with pytest.raises(InvalidParameterError) as info:
        KeyAPI("sk_test_review", event_hooks=[hook])
    assert info.value.parameter == "event_hooks"


class SlowToWrite(RedisCache):
    """A RedisCache whose writes take a while (a Redis latency spike, a big answer)."""

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        await asyncio.sleep(0.3)
        await super().set(key, value, ttl=ttl)


async def test_the_fill_lock_is_held_until_the_answer_is_stored(
    fake: FakeKeyAPI, make_client: MakeClient, redis: Redis
) -> None:
    """Two clients (two processes, in effect) on one RedisCache ask for the same uncached
    answer: it must be bought once. The client stores the answer only after leaving the fill
    lock, so a waiter that polls in between finds no value and a free lock, and buys it again.
    (Seen without the slow write too: 4 real processes, 10 answers, 20 bought.)"""
    fake.latency = 0.1
    first = make_client(cache=SlowToWrite(redis))
    second = make_client(cache=SlowToWrite(redis))
    ids = some_ids(fake)
    await asyncio.gather(
        first.influencers.detail(user_ids=ids), second.influencers.detail(user_ids=ids)
    )
    assert len(fake.requests) == 1, "bought twice: the lock was free before the value was there"
    assert first.usage.requests + second.usage.requests == 1
