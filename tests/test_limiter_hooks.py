"""Any limiter with RateLimiter's optional hooks (slip, rate_limited) gets them called."""

from __future__ import annotations

import asyncio

from aiolimiter import AsyncLimiter

from keyapi_async.testing import FakeKeyAPI, Fault

from .conftest import MakeClient


class Recording:
    """A limiter from outside the SDK (a Redis one, say) with the same optional hooks."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.slips: list[float] = []
        self.holds: list[tuple[float, float]] = []

    async def acquire(self) -> float:
        start = asyncio.get_running_loop().time()
        self.starts.append(start)
        return start

    def slip(self, late: float) -> None:
        self.slips.append(late)

    def rate_limited(self, hold: float, sent_at: float) -> None:
        self.holds.append((hold, sent_at))


async def test_a_limiter_with_hooks_hears_of_every_start_and_every_429(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    limiter = Recording()
    fake.script(Fault.RATE_LIMIT)
    client = make_client(limiter=limiter, max_retries=2)
    page = await client.influencers.list(region="US")
    assert len(page.items) == 10
    assert len(limiter.starts) == len(limiter.slips) == len(fake.requests) == 2
    assert all(late >= 0 for late in limiter.slips)
    assert len(limiter.holds) == 1
    hold, sent_at = limiter.holds[0]
    assert sent_at == limiter.starts[0]  # the rejected request's own start
    assert hold >= 0


async def test_a_limiter_with_only_acquire_is_just_awaited(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    class OnlyAcquire:
        def __init__(self) -> None:
            self.calls = 0

        async def acquire(self) -> str:
            self.calls += 1
            return "not a time"  # no hooks: the result is ignored

    limiter = OnlyAcquire()
    fake.script(Fault.RATE_LIMIT)
    client = make_client(limiter=limiter, max_retries=2)
    await client.influencers.list(region="US")
    assert limiter.calls == len(fake.requests) == 2


async def test_aiolimiter_is_a_limiter(fake: FakeKeyAPI, make_client: MakeClient) -> None:
    client = make_client(limiter=AsyncLimiter(100, 1))
    pages = await client.influencers.list(region="US", max_pages=3, concurrency=3).collect()
    assert len(pages) == 30
    assert len(fake.requests) == 3
