"""influencers.detail: one list in the order the IDs were given, each ID asked once, in batches
of detail_batch_size; unknown IDs are absent; handles and comma-separated strings work."""

from __future__ import annotations

from keyapi_async import KeyAPI
from keyapi_async.testing import FakeKeyAPI

from .conftest import MakeClient


async def test_detail_keeps_the_callers_order(fake: FakeKeyAPI, client: KeyAPI) -> None:
    ids = [r["user_id"] for r in fake.dataset.influencers[:7]][::-1]
    details = await client.influencers.detail(user_ids=ids)
    assert [d.user_id for d in details] == ids
    assert len(fake.requests) == 1


async def test_detail_batches_dedupes_and_skips_unknown(
    fake: FakeKeyAPI, make_client: MakeClient
) -> None:
    client = make_client(detail_batch_size=4)
    known = [r["user_id"] for r in fake.dataset.influencers[:9]]
    asked = [*known[:5], known[0], "1", *known[5:]]  # a duplicate and an unknown id
    details = await client.influencers.detail(user_ids=asked)
    assert [d.user_id for d in details] == known
    sent = [r.params["user_ids"].split(",") for r in fake.requests]
    assert sorted(len(batch) for batch in sent) == [2, 4, 4]
    assert sorted(i for batch in sent for i in batch) == sorted([*known, "1"])


async def test_detail_accepts_a_comma_string_and_handles(fake: FakeKeyAPI, client: KeyAPI) -> None:
    first, second, third = fake.dataset.influencers[:3]
    details = await client.influencers.detail(
        user_ids=f"{first['user_id']}, {second['user_id']}",
        unique_ids=["@" + third["unique_id"], first["unique_id"]],
    )
    # first is asked for twice (by id and by handle) and listed once.
    assert [d.user_id for d in details] == [first["user_id"], second["user_id"], third["user_id"]]
    assert {r.params.get("unique_ids") for r in fake.requests} >= {
        f"{third['unique_id']},{first['unique_id']}"
    }
