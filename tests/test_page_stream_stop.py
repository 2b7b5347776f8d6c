"""A graceful stop of a page stream (what the CLI does on the first SIGINT): no new page is
bought, every page already requested is delivered, and `reached_end` tells a stop from the end.
"""

from __future__ import annotations

import pytest

from keyapi_async import FanOutPage, InvalidParameterError, KeyAPI, PageStream
from keyapi_async.testing import FakeKeyAPI

from .conftest import MakeClient

LIST = "/v1/tiktok/influencer/list/analytics"


def requested_pages(fake: FakeKeyAPI) -> list[int]:
    return sorted(int(r.params["page_num"]) for r in fake.requests if r.path == LIST)


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_stop_delivers_what_was_bought_and_buys_nothing_more(
    fake: FakeKeyAPI, client: KeyAPI, concurrency: int
) -> None:
    fake.latency = 0.02  # pages overlap, so some are in flight when stop() comes
    stream = client.influencers.list(region="US", page_size=2, concurrency=concurrency).pages()
    assert isinstance(stream, PageStream)
    delivered = []
    async with stream:
        async for page in stream:
            delivered.append(page.page_num)
            if page.page_num == 2:
                stream.stop()
    assert not stream.reached_end
    # Every page requested was delivered, in order, and none was started after stop().
    assert delivered == requested_pages(fake)
    assert delivered == list(range(1, len(delivered) + 1))
    assert 2 <= len(delivered) <= 2 + concurrency
    assert client.usage.requests == len(delivered)


async def test_stop_before_the_first_page_buys_nothing(fake: FakeKeyAPI, client: KeyAPI) -> None:
    stream = client.influencers.list(region="US", concurrency=3).pages()
    stream.stop()
    assert [page async for page in stream] == []
    assert fake.requests == []
    assert not stream.reached_end


@pytest.mark.parametrize(
    ("options", "pages"),
    [
        ({"limit": 25}, 3),  # limit reached
        ({"max_pages": 2}, 2),  # the last page the options allow
        ({}, None),  # the short page that ends the listing
    ],
)
@pytest.mark.parametrize("concurrency", [1, 3])
async def test_reached_end_when_the_listing_or_the_options_end(
    fake: FakeKeyAPI,
    make_client: MakeClient,
    options: dict[str, int],
    pages: int | None,
    concurrency: int,
) -> None:
    client = make_client()
    stream = client.influencers.list(region="US", concurrency=concurrency, **options).pages()
    got = [page.page_num async for page in stream]
    assert stream.reached_end
    if pages is not None:
        assert got == list(range(1, pages + 1))


DETAIL = "/v1/tiktok/influencer/detail/analytics"


async def test_detail_pages_from_a_batch_and_stop(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(detail_batch_size=2)
    ids = [str(r["user_id"]) for r in fake.dataset.influencers[:12]]  # 6 batches
    stream = client.influencers.detail_stream(user_ids=ids, concurrency=2)
    assert stream.batches == 6
    got = [(page.page_num, [r.user_id for r in page.items]) async for page in stream.pages(start=4)]
    assert got == [(4, ids[6:8]), (5, ids[8:10]), (6, ids[10:12])]  # batches 1..3 not bought
    assert len(fake.requests) == 3
    assert stream.reached_end

    fake.reset_log()
    fake.latency = 0.02
    stopped = client.influencers.detail_stream(user_ids=ids, concurrency=3)
    delivered = []
    async with stopped:
        async for page in stopped.pages():
            delivered.append(page.page_num)
            stopped.stop()
    assert not stopped.reached_end
    assert len(delivered) == len(fake.requests) < 6  # every batch bought was delivered
    assert delivered == list(range(1, len(delivered) + 1))


VIDEOS = "/v1/tiktok/influencer/videos/analytics"


def users_with_videos(fake: FakeKeyAPI, n: int, least: int = 12) -> list[str]:
    ds = fake.dataset
    found = [u for r in ds.influencers if len(ds.videos(u := str(r["user_id"]))) >= least]
    assert len(found) >= n
    return found[:n]


async def test_fan_out_pages_stop_and_continue_from(fake: FakeKeyAPI, client: KeyAPI) -> None:
    users = users_with_videos(fake, 4)
    fake.latency = 0.02
    fan = client.influencers.videos_many(users, concurrency=2)
    got: list[tuple[str, int, bool]] = []
    async with fan:
        async for page in fan.pages():
            assert isinstance(page, FanOutPage)
            got.append((page.user_id, page.page_num, page.last))
            if len(got) == 3:
                fan.stop()
    bought = sorted((r.params["user_id"], int(r.params["page_num"])) for r in fake.requests)
    assert sorted((u, n) for u, n, _ in got) == bought  # every page bought was delivered
    assert len(bought) <= 3 + 2  # and at most the ones in flight after stop()

    # Continue one user from page 2: page 1 is not bought again, the rest comes in order.
    fake.reset_log()
    fake.latency = 0.0
    (many,) = users_with_videos(fake, 1, least=30)
    rest = client.influencers.videos_many([many], limit_per_user=25)
    rest.continue_from({many: 2})
    pages = [(p.page_num, len(p.items), p.last) async for p in rest.pages()]
    assert pages == [(2, 10, False), (3, 5, True)]  # limit 25 counts page 1's 10
    assert [int(r.params["page_num"]) for r in fake.requests] == [2, 3]
    with pytest.raises(InvalidParameterError, match="next_pages"):
        client.influencers.videos_many(users).continue_from({"123": 2})
