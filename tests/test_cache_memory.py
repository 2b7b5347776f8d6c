"""MemoryCache, and what every backend shares: cache_key, the `ttl` rules, the protocol."""

from __future__ import annotations

import asyncio
import math
import statistics
import time

import pytest

import keyapi_async
from keyapi_async import InvalidParameterError, MemoryCache, ResponseCache, SQLiteCache
from keyapi_async._cache import cache_key
from keyapi_async._fingerprint import key_fingerprint

KEY = "sk_live_0123456789abcdef"
OTHER_KEY = "sk_live_fedcba9876543210"
FP = key_fingerprint(KEY)
QUERY = {"region": "US", "page": "2", "page_size": "50"}


async def past(deadline: float) -> None:
    """Wait until the monotonic clock (the one expiry runs on) reads past `deadline`."""
    while time.monotonic() <= deadline:  # noqa: ASYNC110 - a clock has no event to wait on
        await asyncio.sleep(0.01)


# --- cache_key ------------------------------------------------------------------------------


def test_cache_key_ignores_parameter_order():
    shuffled = dict(reversed(list(QUERY.items())))
    assert list(shuffled) != list(QUERY)
    assert cache_key("list", shuffled, FP) == cache_key("list", QUERY, FP)


def test_cache_key_is_a_readable_prefix_and_a_sha256():
    key = cache_key("videos", QUERY, FP)
    prefix, digest = key.split(":")
    assert prefix == "videos"
    assert len(digest) == 64
    int(digest, 16)
    assert len(cache_key("videos", {"user_id": "1" * 500}, FP)) == len(key)


@pytest.mark.parametrize(
    ("endpoint", "query", "fingerprint"),
    [
        ("detail", QUERY, FP),  # another endpoint
        ("list", {**QUERY, "page": "3"}, FP),  # another value
        ("list", {**QUERY, "sort": "1"}, FP),  # one more parameter
        ("list", QUERY, key_fingerprint(OTHER_KEY)),  # another API key
    ],
)
def test_cache_key_separates_what_differs(endpoint, query, fingerprint):
    assert cache_key(endpoint, query, fingerprint) != cache_key("list", QUERY, FP)


def test_cache_key_cannot_run_two_queries_together():
    assert cache_key("list", {"a": "b:c"}, FP) != cache_key("list", {"a:b": "c"}, FP)
    assert cache_key("list", {"a": "bc"}, FP) != cache_key("list", {"ab": "c"}, FP)


def test_cache_key_never_contains_the_key_or_its_fingerprint():
    key = cache_key("detail", {"user_id": "42"}, FP)
    assert KEY not in key
    assert FP not in key


def test_cache_key_refuses_the_api_key_as_fingerprint_without_echoing_it():
    with pytest.raises(InvalidParameterError) as caught:
        cache_key("detail", {}, KEY)
    assert caught.value.parameter == "fingerprint"
    assert KEY not in str(caught.value)


def test_cache_key_refuses_an_unknown_endpoint():
    with pytest.raises(InvalidParameterError, match="list, detail, videos") as caught:
        cache_key("details", {}, FP)
    assert caught.value.parameter == "endpoint"


# --- ttl ------------------------------------------------------------------------------------


def test_one_ttl_covers_every_endpoint():
    cache = MemoryCache(ttl=60)
    assert [cache.ttl_for(e) for e in ("list", "detail", "videos", "ranking", "livestreams")] == [
        60.0
    ] * 5


def test_a_ttl_mapping_leaves_the_rest_to_the_backends_default():
    assert MemoryCache(ttl={"detail": 60}).ttl_for("videos") == 3600
    assert SQLiteCache("unused.sqlite", ttl={"detail": 60}).ttl_for("videos") == 86_400
    cache = MemoryCache(ttl={"detail": 60, "default": 0})
    assert cache.ttl_for("detail") == 60
    assert cache.ttl_for("ranking") == 0


@pytest.mark.parametrize(
    "ttl",
    [-1, math.nan, math.inf, True, "60", None, 1e12, {"details": 60}, {"detail": -5}, {3: 1}],
)
def test_bad_ttls_are_refused_naming_ttl(ttl):
    with pytest.raises(InvalidParameterError) as caught:
        MemoryCache(ttl=ttl)
    assert caught.value.parameter == "ttl"


def test_an_unknown_endpoint_name_lists_the_allowed_ones():
    with pytest.raises(InvalidParameterError, match="list, detail, videos, ranking, livestreams"):
        MemoryCache(ttl={"ranks": 5})


def test_ttl_for_an_unknown_endpoint_is_refused():
    with pytest.raises(InvalidParameterError) as caught:
        MemoryCache().ttl_for("influencers")
    assert caught.value.parameter == "endpoint"


# --- MemoryCache ----------------------------------------------------------------------------


async def test_memory_cache_keeps_an_answer_until_its_ttl():
    cache = MemoryCache()
    await cache.set("detail:a", b"body", ttl=0.2)
    stored = time.monotonic()
    assert await cache.get("detail:a") == b"body"  # no await in between really suspends
    await past(stored + 0.2)
    assert await cache.get("detail:a") is None
    assert len(cache) == 0  # an expired entry goes when it is found


async def test_memory_cache_stores_nothing_for_ttl_zero():
    cache = MemoryCache(ttl={"default": 0})
    await cache.set("list:a", b"body", ttl=cache.ttl_for("list"))
    assert await cache.get("list:a") is None
    assert len(cache) == 0


async def test_memory_cache_drops_the_least_recently_used():
    cache = MemoryCache(max_entries=3)
    for name in "abc":
        await cache.set(name, name.encode(), ttl=60)
    assert await cache.get("a") == b"a"  # a is now the most recently used
    await cache.set("d", b"d", ttl=60)
    assert [await cache.get(n) for n in "abcd"] == [b"a", None, b"c", b"d"]
    assert len(cache) == 3


async def test_memory_cache_set_again_refreshes_value_and_recency():
    cache = MemoryCache(max_entries=2)
    await cache.set("a", b"1", ttl=60)
    await cache.set("b", b"1", ttl=60)
    await cache.set("a", b"2", ttl=60)
    await cache.set("c", b"1", ttl=60)
    assert [await cache.get(n) for n in "abc"] == [b"2", None, b"1"]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_max_entries_must_be_a_positive_whole_number(bad):
    with pytest.raises(InvalidParameterError) as caught:
        MemoryCache(max_entries=bad)
    assert caught.value.parameter == "max_entries"


async def test_a_memory_hit_costs_well_under_50_microseconds():
    cache = MemoryCache()
    await cache.set("detail:a", b"x" * 20_000, ttl=60)
    costs = []
    for _ in range(2000):
        start = time.perf_counter()
        await cache.get("detail:a")
        costs.append(time.perf_counter() - start)
    assert statistics.median(costs) < 50e-6


async def test_memory_cache_outlives_aclose():
    cache = MemoryCache()
    await cache.set("a", b"1", ttl=60)
    await cache.aclose()
    assert await cache.get("a") == b"1"


def test_backends_are_response_caches_and_exported():
    assert isinstance(MemoryCache(), ResponseCache)
    assert isinstance(SQLiteCache("unused.sqlite"), ResponseCache)
    for name in ("MemoryCache", "SQLiteCache", "ResponseCache"):
        assert name in keyapi_async.__all__


def test_reprs_show_the_settings():
    assert repr(MemoryCache(ttl={"detail": 60})) == (
        "MemoryCache(ttl={'detail': 60.0}, max_entries=10000, entries=0)"
    )
