"""Fault soak: 5,000 pages through a server that fails in every documented way.

Every item arrives exactly once and in order, retries stay within max_retries, the client's
request count matches the server's log, and nothing but the pull's own result comes out.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from keyapi_async import KeyAPI
from keyapi_async.testing import FakeKeyAPI, Fault

pytestmark = pytest.mark.slow  # `-m "not slow"` leaves it out of the quick loop

PAGES = 5_000
MAX_RETRIES = 8  # 20% of attempts fail: 0.2**9 * 5,000 pages makes exhaustion negligible
FAULTS = {
    Fault.SERVER_ERROR: 0.10,
    Fault.RATE_LIMIT: 0.05,  # with Retry-After
    Fault.DROP: 0.02,
    Fault.TRUNCATE: 0.01,
    Fault.BODY_ERROR: 0.01,  # HTTP 200 carrying an error code
    Fault.STALL: 0.01,  # stalls past the client's timeout
}


async def test_soak_every_item_once_in_order() -> None:
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: loop_errors.append(context))
    async with FakeKeyAPI(
        influencers=8_500, fault_rates=FAULTS, fault_seed=7, retry_after=0.01, stall=30
    ) as fake:
        expected = [r["user_id"] for r in fake.dataset.query_influencers({"region": "US"})][:PAGES]
        assert len(expected) == PAGES
        async with KeyAPI(
            fake.api_key,
            base_url=fake.url,
            qps=None,
            max_retries=MAX_RETRIES,
            retry_base_delay=0.001,
            retry_max_delay=0.01,
            timeout=0.25,
        ) as client:
            pager = client.influencers.list(region="US", page_size=1, limit=PAGES, concurrency=8)
            got = [inf.user_id async for inf in pager]

        assert got == expected  # exactly once, in order
        faults = Counter(r.fault for r in fake.requests if r.fault is not None)
        assert set(faults) == set(FAULTS), "every kind of fault was served"
        attempts = Counter(r.params["page_num"] for r in fake.requests)
        assert len(attempts) == PAGES
        assert max(attempts.values()) <= MAX_RETRIES + 1
        assert client.usage.requests == len(fake.requests)
        assert client.usage.succeeded == PAGES
        assert client.usage.credits == len(fake.requests)
        # Every request past the first of its page was a retry; on a loaded machine an attempt
        # may also time out before its connection is ready, a retry the server never saw.
        assert len(fake.requests) - PAGES <= client.usage.retries <= PAGES * MAX_RETRIES
    assert loop_errors == []
