"""A client with a cache: answers bought once, hits counted apart, a broken cache only a miss."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from keyapi_async import (
    BadRequestError,
    InvalidParameterError,
    KeyAPI,
    MemoryCache,
    SQLiteCache,
)
from keyapi_async.testing import FakeKeyAPI, Fault

from .conftest import MakeClient


def holding(folder: Path, secret: bytes) -> list[str]:
    return [f.name for f in folder.iterdir() if secret in f.read_bytes()]


async def pull(client: KeyAPI, limit: int) -> list[str]:
    return [i.user_id async for i in client.influencers.list(region="US", limit=limit)]


async def test_a_rerun_pull_costs_nothing_and_returns_the_same_records(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(cache=MemoryCache(ttl=3600))
    first = await client.influencers.list(region="US", limit=30).collect()
    assert len(fake.requests) == 3
    again = await client.influencers.list(region="US", limit=30).collect()
    assert again == first  # decoded from the stored body, as a fresh answer is
    assert len(fake.requests) == 3
    assert client.usage.requests == client.usage.credits == 3
    assert client.usage.cache_hits == 3


async def test_pages_are_cached_one_by_one_so_a_longer_rerun_buys_only_new_pages(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(cache=MemoryCache())
    await pull(client, 30)
    longer = await pull(client, 50)
    assert len(longer) == 50
    bought = [r.params["page_num"] for r in fake.requests]
    assert bought == ["1", "2", "3", "4", "5"]  # pages 1-3 once, then only 4 and 5
    assert client.usage.cache_hits == 3


async def test_hits_do_not_spend_the_budget(fake: FakeKeyAPI, make_client: MakeClient) -> None:
    client = make_client(cache=MemoryCache(), max_credits=3)
    await pull(client, 30)
    assert await pull(client, 30)  # the budget is spent, the answers are kept
    assert client.budget is not None
    assert client.budget.remaining == 0  # type: ignore[attr-defined]
    assert len(fake.requests) == 3


async def test_only_successful_answers_are_stored(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(cache=MemoryCache())
    fake.script(Fault.BAD_REQUEST)
    with pytest.raises(BadRequestError):
        await client.influencers.list(region="US")
    fake.script(Fault.SERVER_ERROR)  # retried, then answered: the answer is stored once
    await client.influencers.list(region="US")
    await client.influencers.list(region="US")
    assert [r.status for r in fake.requests] == [400, 500, 200]
    assert client.usage.cache_hits == 1


async def test_two_keys_never_share_entries() -> None:
    cache = MemoryCache()
    async with (
        FakeKeyAPI(api_key="sk_test_first") as one,
        FakeKeyAPI(api_key="sk_test_second") as two,
        KeyAPI(one.api_key, base_url=one.url, qps=None, cache=cache) as a,
        KeyAPI(two.api_key, base_url=two.url, qps=None, cache=cache) as b,
    ):
        first = await a.influencers.list(region="US")
        second = await b.influencers.list(region="US")
        assert first.items == second.items  # same data set, yet each key bought its own answer
        assert len(one.requests) == len(two.requests) == 1
        assert b.usage.cache_hits == 0


async def test_entries_past_their_ttl_are_never_served(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(cache=MemoryCache(ttl={"list": 0.2, "detail": 3600}))
    await client.influencers.list(region="US")
    await asyncio.sleep(0.3)  # past the ttl: whatever the timing, it has expired
    await client.influencers.list(region="US")
    assert len(fake.requests) == 2
    assert client.usage.cache_hits == 0


async def test_a_ttl_of_zero_keeps_that_endpoint_out(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(cache=MemoryCache(ttl={"list": 0}))
    ids = [str(r["user_id"]) for r in fake.dataset.influencers[:2]]
    for _ in range(2):
        await client.influencers.list(region="US")
        await client.influencers.detail(user_ids=ids)
    paths = [r.path.split("/")[4] for r in fake.requests]
    assert paths == ["list", "detail", "list"]


async def test_a_fresh_answer_on_demand_without_a_second_client(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(cache=MemoryCache())
    first = await client.influencers.list(region="US")
    await client.with_options(cache=None).influencers.list(region="US")  # neither reads nor stores
    assert len(fake.requests) == 2
    renewed = await client.with_options(refresh_cache=True).influencers.list(region="US")
    assert len(fake.requests) == 3
    hit = await client.influencers.list(region="US")
    assert len(fake.requests) == 3
    assert client.usage.cache_hits == 1
    assert hit.request_id == renewed.request_id != first.request_id  # the renewed copy


class BrokenCache:
    """A backend someone wrote that raises: the client must carry on, buying."""

    def ttl_for(self, endpoint: str) -> float:
        return 60.0

    async def get(self, key: str) -> bytes | None:
        raise OSError("disk on fire")

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        raise OSError("disk on fire")

    async def aclose(self) -> None:
        return None


async def test_a_cache_that_raises_is_a_warning_and_a_miss(
    fake: FakeKeyAPI, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(cache=BrokenCache())
    with caplog.at_level(logging.WARNING, logger="keyapi_async"):
        assert len(await pull(client, 20)) == 20
    assert len(fake.requests) == 2
    assert any("disk on fire" in r.getMessage() for r in caplog.records)


async def test_a_garbage_entry_is_a_miss_never_wrong_data(
    fake: FakeKeyAPI, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    cache = MemoryCache()
    client = make_client(cache=cache)
    fresh = await pull(client, 20)
    for key in list(cache._entries):  # the test reaches in to spoil what is stored
        await cache.set(key, b'{"code": 0, "data": {"items": "not a list"}}', ttl=60)
    with caplog.at_level(logging.WARNING, logger="keyapi_async"):
        again = await pull(client, 20)
    assert again == fresh
    assert len(fake.requests) == 4
    assert sum("entry unusable" in r.getMessage() for r in caplog.records) == 2
    assert client.usage.cache_hits == 0


async def test_the_key_is_in_no_entry(
    fake: FakeKeyAPI, make_client: MakeClient, tmp_path: Path
) -> None:
    path = tmp_path / "cache.sqlite"
    client = make_client(cache=SQLiteCache(str(path), ttl=60))
    await pull(client, 20)
    await client.aclose()
    assert holding(tmp_path, fake.api_key.encode()) == []


async def test_a_sqlite_cache_survives_the_client_and_serves_the_next_one(
    fake: FakeKeyAPI, tmp_path: Path
) -> None:
    path = str(tmp_path / "cache.sqlite")
    for _ in range(2):
        async with KeyAPI(
            fake.api_key, base_url=fake.url, qps=None, cache=SQLiteCache(path, ttl=60)
        ) as client:
            assert len(await pull(client, 30)) == 30
    assert len(fake.requests) == 3
    assert client.usage.cache_hits == 3


async def test_fifty_identical_calls_on_an_empty_cache_buy_one_answer(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(cache=MemoryCache())
    fake.latency = 0.05
    ids = [str(r["user_id"]) for r in fake.dataset.influencers[:3]]
    await asyncio.gather(*(client.influencers.detail(user_ids=ids) for _ in range(50)))
    await client.influencers.detail(user_ids=ids)
    assert len(fake.requests) == 1
    assert client.usage.coalesced == 49
    assert client.usage.cache_hits == 1


@pytest.mark.parametrize("bad", [object(), "cache.sqlite", 3600])
def test_a_cache_must_be_a_cache(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="cache"):
        KeyAPI("sk_test", cache=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="cache"):
        KeyAPI("sk_test").with_options(cache=bad)  # type: ignore[arg-type]
