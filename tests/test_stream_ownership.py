"""Streams are owned by a scope, and no paid page is thrown away at the budget.

Every stream with workers (concurrent pages(), the item stream of a concurrent Paginator,
videos_many / livestreams_many, detail_stream):
- under `async with`, leaving the block by any route leaves no SDK task behind at the moment
  the block exits, and nothing more is bought;
- bare `async for` is tied to the consuming task: once that task ends, every worker is gone
  within 0.1 s (a bounded poll), even while the stream or its exception is still referenced;
- a consumer that leaves a bare loop and runs on buys at most `concurrency` more pages;
- aclose() before iterating buys nothing, and aclose() is idempotent.
The witness is FakeKeyAPI's request log.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from keyapi_async import CreditBudgetExceeded, KeyAPI, KeyAPIError, LocalCreditBudget
from keyapi_async.testing import FakeKeyAPI, Fault

from .conftest import MakeClient

PROMPT = 0.1  # seconds: how soon a bare stream's workers must be gone once their task ends
SLOW = 0.3  # server latency once the consumer has its first item: a live worker outlives PROMPT


class Leave(Exception):
    pass


def sdk_tasks() -> list[asyncio.Task[Any]]:
    return [
        t for t in asyncio.all_tasks() if t.get_name().startswith("keyapi_async") and not t.done()
    ]


async def until_no_sdk_task(timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while sdk_tasks():
        left = sorted(t.get_name() for t in sdk_tasks())
        assert loop.time() < deadline, f"still alive {timeout}s after the consumer ended: {left}"
        await asyncio.sleep(0.005)


async def until_nothing_in_flight(fake: FakeKeyAPI) -> None:
    """Every request that reached the server answered, then a settle for late starters."""
    for _ in range(2):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while any(r.status == 0 for r in fake.requests):
            assert loop.time() < deadline, "a request never finished"
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.1)  # room for a worker that would buy more to do it


def users(fake: FakeKeyAPI) -> list[str]:
    return [str(r["user_id"]) for r in fake.dataset.influencers[:10]]


def us(fake: FakeKeyAPI) -> list[str]:
    return [str(r["user_id"]) for r in fake.dataset.query_influencers({"region": "US"})]


def make_stream(kind: str, client: KeyAPI, fake: FakeKeyAPI) -> Any:
    influencers = client.influencers
    if kind == "items":
        return aiter(influencers.list(region="US", concurrency=4))
    if kind == "pages":
        return influencers.list(region="US", concurrency=4).pages()
    if kind == "videos_many":
        return influencers.videos_many(users(fake), concurrency=4)
    if kind == "livestreams_many":
        return influencers.livestreams_many(users(fake), concurrency=4)
    assert kind == "detail_stream"
    return influencers.detail_stream(user_ids=us(fake)[:60], concurrency=4)


KINDS = ["items", "pages", "videos_many", "livestreams_many", "detail_stream"]


async def still_works(client: KeyAPI, fake: FakeKeyAPI) -> None:
    sent = len(fake.requests)
    page = await client.influencers.list(region="US")
    assert [i.user_id for i in page.items] == us(fake)[:10]
    assert len(fake.requests) == sent + 1, "something else went on buying"


# --- async with: deterministic ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["break", "exception", "timeout", "cancel"])
@pytest.mark.parametrize("kind", KINDS)
async def test_leaving_async_with_by_any_route_leaves_no_task(
    fake: FakeKeyAPI, make_client: MakeClient, kind: str, how: str
) -> None:
    client = make_client(detail_batch_size=3)
    fake.latency = 0.01
    stream = make_stream(kind, client, fake)
    first = asyncio.Event()

    async def consume() -> None:
        async with stream:
            async for _ in stream:
                first.set()
                assert sdk_tasks(), "a stream with workers should have some running here"
                if how == "break":
                    break
                if how == "exception":
                    raise Leave
                await asyncio.Event().wait()  # the timeout or the cancellation lands here

    if how == "timeout":
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await consume()
    elif how == "cancel":
        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(first.wait(), 5)
        task.cancel()
        await asyncio.wait([task], timeout=5)
        assert task.cancelled()
    elif how == "exception":
        with pytest.raises(Leave):
            await consume()
    else:
        await consume()
    assert first.is_set()
    assert not sdk_tasks(), "the block exited with workers still running"
    await still_works(client, fake)
    assert client.usage.requests == len(fake.requests)


# --- bare async for: tied to the consuming task -------------------------------------------------


HOLDINGS = ["traceback", "gather", "comprehension", "variable", "cancelled"]


@pytest.mark.parametrize("holding", HOLDINGS)
@pytest.mark.parametrize("kind", ["items", "pages", "videos_many", "detail_stream"])
async def test_bare_iteration_stops_when_its_task_ends(
    fake: FakeKeyAPI, make_client: MakeClient, kind: str, holding: str
) -> None:
    """The stream, or an exception whose traceback holds it, is still referenced."""
    client = make_client(detail_batch_size=3)
    fake.latency = 0.01
    stream = make_stream(kind, client, fake)  # kept in a variable in every case
    first = asyncio.Event()

    def got_one() -> bool:
        fake.latency = SLOW  # a worker that is not stopped now is still alive after PROMPT
        first.set()
        return True

    async def leave_by_exception() -> None:
        async for _ in stream:
            got_one()
            raise Leave

    async def leave_by_break() -> None:
        async for _ in stream:
            got_one()
            break

    async def comprehension() -> list[Any]:
        def boom(_: Any) -> bool:
            got_one()
            raise Leave

        return [x async for x in stream if boom(x)]

    async def wait_in_body() -> None:
        async for _ in stream:
            got_one()
            await asyncio.Event().wait()

    kept: list[Any] = []
    if holding == "traceback":
        task = asyncio.ensure_future(leave_by_exception())
        await asyncio.wait([task], timeout=5)
        kept.append(task.exception())
        assert isinstance(kept[0], Leave)
    elif holding == "gather":
        kept += await asyncio.gather(leave_by_exception(), return_exceptions=True)
        assert isinstance(kept[0], Leave)
    elif holding == "comprehension":
        task = asyncio.ensure_future(comprehension())
        await asyncio.wait([task], timeout=5)
        kept.append(task.exception())
        assert isinstance(kept[0], Leave)
    elif holding == "variable":
        await asyncio.wait_for(leave_by_break(), 5)
    else:
        task = asyncio.ensure_future(wait_in_body())
        await asyncio.wait_for(first.wait(), 5)
        task.cancel()
        await asyncio.wait([task], timeout=5)
        assert task.cancelled()
    assert first.is_set()
    await until_no_sdk_task(PROMPT)
    fake.latency = 0.0
    await still_works(client, fake)
    assert kept or holding in ("variable", "cancelled")
    assert stream is not None  # still referenced up to here


@pytest.mark.parametrize("concurrency", [2, 4, 8])
async def test_a_consumer_running_on_after_leaving_buys_at_most_concurrency_pages(
    fake: FakeKeyAPI, make_client: MakeClient, concurrency: int
) -> None:
    client = make_client()
    fake.latency = 0.005
    fan = client.influencers.videos_many(users(fake), concurrency=concurrency, page_size=3)

    async def take_one() -> None:
        async for _ in fan:
            raise Leave  # one page taken; the task runs on, holding fan and the traceback

    with pytest.raises(Leave) as caught:
        await take_one()
    await until_nothing_in_flight(fake)
    bought = len(fake.requests)
    assert bought <= 1 + concurrency, f"{bought} pages bought for 1 taken"
    assert caught.value is not None
    await fan.aclose()
    assert not sdk_tasks()


@pytest.mark.parametrize("kind", KINDS)
async def test_aclose_before_iterating_buys_nothing_and_is_idempotent(
    fake: FakeKeyAPI, client: KeyAPI, kind: str
) -> None:
    stream = make_stream(kind, client, fake)
    await stream.aclose()
    await stream.aclose()
    assert [x async for x in stream] == []
    assert not sdk_tasks(), "iterating a closed stream started workers"
    await stream.aclose()
    assert fake.requests == []


# --- the budget: nothing paid for is thrown away -----------------------------------------------


def answered(fake: FakeKeyAPI) -> list[Any]:
    return [r for r in fake.requests if r.status == 200]


@pytest.mark.parametrize("max_credits", [5, 9, 14])
async def test_fan_out_delivers_every_paid_page_before_the_budget_error(
    fake: FakeKeyAPI, make_client: MakeClient, max_credits: int
) -> None:
    client = make_client(max_credits=max_credits)
    fake.latency = 0.01
    got: list[tuple[str, str]] = []

    async def pull() -> None:
        async for user, video in client.influencers.videos_many(users(fake), concurrency=4):
            got.append((user, video.video_id))

    with pytest.raises(CreditBudgetExceeded):
        await pull()
    paid = set()
    for r in answered(fake):
        user, page = r.params["user_id"], int(r.params["page_num"])
        videos = [str(v["video_id"]) for v in fake.dataset.videos(user)]
        paid |= {(user, v) for v in videos[(page - 1) * 10 : page * 10]}
    assert len(answered(fake)) == max_credits
    assert set(got) == paid, "a paid page was thrown away"
    assert len(got) == len(paid)
    assert not sdk_tasks()


CASES = [(4, 4, 1), (6, 6, 2), (8, 8, 3), (8, 5, None), (5, 5, 0)]


class NoRetries(LocalCreditBudget):
    """A budget that grants no retry: the refused retry leaves answered pages behind it."""

    async def reserve(self, *, retry: bool) -> None:
        if retry:
            raise CreditBudgetExceeded(self.max_credits)
        await super().reserve(retry=retry)


async def test_a_5xx_at_the_end_of_the_budget_is_retried_and_every_page_delivered(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    """The local budget keeps a credit for each page in flight's retry (see test_budget.py), so
    the retry goes through and no page is left behind."""
    client = make_client(max_credits=6, max_retries=1)
    fake.latency = 0.01
    fake.script(None, None, Fault.SERVER_ERROR)
    delivered: list[int] = []

    async def pull() -> None:
        async for page in client.influencers.list(region="US", concurrency=6).pages():
            delivered.append(page.page_num)

    with pytest.raises(CreditBudgetExceeded) as caught:
        await pull()
    assert caught.value.undelivered_pages == []
    paid = sorted(int(r.params["page_num"]) for r in answered(fake))
    assert delivered == paid
    assert len(fake.requests) <= 6


@pytest.mark.parametrize(("concurrency", "max_credits", "failing"), CASES)
async def test_concurrent_pages_deliver_or_name_every_paid_page_at_the_budget(
    fake: FakeKeyAPI,
    make_client: MakeClient,
    concurrency: int,
    max_credits: int,
    failing: int | None,
) -> None:
    """The `failing`-th request gets a 500; its retry is refused by the budget, so the pages
    behind it were answered but cannot be delivered in order: they are named."""
    client = make_client(budget=NoRetries(max_credits), max_retries=1)
    fake.latency = 0.01
    if failing is not None:
        fake.script(*[None] * failing, Fault.SERVER_ERROR)
    delivered: list[int] = []

    async def pull() -> None:
        async for page in client.influencers.list(region="US", concurrency=concurrency).pages():
            delivered.append(page.page_num)

    with pytest.raises(CreditBudgetExceeded) as caught:
        await pull()
    undelivered = caught.value.undelivered_pages
    paid = sorted(int(r.params["page_num"]) for r in answered(fake))
    assert delivered == list(range(1, len(delivered) + 1))
    assert sorted(delivered + undelivered) == paid, "a paid page was neither delivered nor named"
    if failing is not None:
        assert delivered == list(range(1, failing + 1))
        assert undelivered, "the case should leave pages behind the refused one"
    assert client.usage.requests == len(fake.requests)
    assert not sdk_tasks()


@pytest.mark.parametrize("kind", ["items", "videos_many", "detail_stream"])
async def test_a_stream_iterated_from_several_tasks(
    fake: FakeKeyAPI, make_client: MakeClient, kind: str
) -> None:
    """`async with` owns the workers, so each item may be awaited in its own task; a bare
    stream stopped with its first task says so instead of hanging."""
    client = make_client(detail_batch_size=3)
    fake.latency = 0.01
    async with make_stream(kind, client, fake) as stream:
        got = [await asyncio.wait_for(anext(stream), 5) for _ in range(12)]
    assert len(got) == 12
    assert not sdk_tasks()
    bare = make_stream(kind, client, fake)
    await asyncio.wait_for(anext(bare), 5)  # that task ends here, and the workers with it
    await until_no_sdk_task(PROMPT)

    async def until_refused() -> None:
        for _ in range(100):  # what was already received is still handed out first
            await asyncio.wait_for(anext(bare), 5)

    with pytest.raises(KeyAPIError, match="async with"):
        await until_refused()
