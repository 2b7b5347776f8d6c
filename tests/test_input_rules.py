"""Input the API would refuse or answer with nothing, refused before any request is sent:
regions that are not two letters, ranking dates in the future, handles with whitespace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from keyapi_async import InvalidParameterError, KeyAPI, RankField, RankType
from keyapi_async.testing import FakeKeyAPI

Build = Callable[[KeyAPI, Any], object]


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _list(client: KeyAPI, region: Any) -> object:
    return client.influencers.list(region=region)


def _ranking(client: KeyAPI, region: Any) -> object:
    return client.influencers.ranking(
        date="2024-03-04",
        region=region,
        rank_type=RankType.DAY,
        influencer_rank_field=RankField.TOTAL_FOLLOWERS_CNT,
    )


WITH_REGION = pytest.mark.parametrize("build", [_list, _ranking], ids=["list", "ranking"])


@WITH_REGION
@pytest.mark.parametrize("given", ["us", "Us", " gb "])
async def test_a_region_is_sent_upper_case(
    fake: FakeKeyAPI, client: KeyAPI, build: Build, given: str
) -> None:
    await build(client, given)  # type: ignore[misc]  # a Paginator awaits as its first page
    assert len(fake.requests) == 1
    assert fake.requests[0].params["region"] == given.strip().upper()


NOT_REGIONS = ["USA", "U", "1A", "ÜS", "U S", "us-east", "\uff55\uff53", "u\ns"]


@WITH_REGION
@pytest.mark.parametrize("given", NOT_REGIONS)
async def test_a_region_that_is_not_two_ascii_letters_is_refused(
    fake: FakeKeyAPI, client: KeyAPI, build: Build, given: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        build(client, given)
    assert caught.value.parameter == "region"
    assert "two letters" in str(caught.value)
    assert "US" in str(caught.value)
    assert repr(given) in str(caught.value)
    assert fake.requests == []
    assert client.usage.requests == 0


def _ranking_on(client: KeyAPI, day: Any, rank_type: RankType = RankType.DAY) -> object:
    return client.influencers.ranking(
        date=day,
        region="US",
        rank_type=rank_type,
        influencer_rank_field=RankField.TOTAL_SALE_CNT,
    )


@pytest.mark.parametrize("days_ahead", [1, 2, 400])
@pytest.mark.parametrize("as_string", [False, True])
async def test_a_ranking_date_in_the_future_is_refused(
    fake: FakeKeyAPI, client: KeyAPI, days_ahead: int, as_string: bool
) -> None:
    day = _utc_today() + dt.timedelta(days=days_ahead)
    with pytest.raises(InvalidParameterError) as caught:
        _ranking_on(client, day.isoformat() if as_string else day)
    assert caught.value.parameter == "date"
    message = str(caught.value)
    assert "future" in message
    assert day.isoformat() in message
    assert "UTC" in message
    assert fake.requests == []
    assert client.usage.requests == 0


async def test_a_weekly_ranking_on_a_future_monday_is_refused(client: KeyAPI) -> None:
    today = _utc_today()
    monday = today + dt.timedelta(days=7 - today.weekday())
    with pytest.raises(InvalidParameterError, match="future") as caught:
        _ranking_on(client, monday, RankType.WEEK)
    assert caught.value.parameter == "date"


async def test_todays_ranking_in_utc_is_allowed(fake: FakeKeyAPI, client: KeyAPI) -> None:
    # Any date after today in UTC has not ended in any time zone, so no ranking exists for it;
    # today (in UTC) may already have ended east of UTC.
    page = await _ranking_on(client, _utc_today())  # type: ignore[misc]
    assert page is not None
    assert fake.requests[0].params["date"] == _utc_today().isoformat()


@pytest.mark.parametrize("handle", ["bible verse", "a\tb", "a\u3000b", "a\nb", "a\xa0b"])
async def test_a_handle_with_whitespace_is_refused(
    fake: FakeKeyAPI, client: KeyAPI, handle: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        client.influencers.videos(unique_id=handle)
    assert caught.value.parameter == "unique_id"
    assert "whitespace" in str(caught.value)
    with pytest.raises(InvalidParameterError) as caught:
        await client.influencers.detail(unique_ids=["bob", handle])
    assert caught.value.parameter == "unique_ids[1]"
    assert fake.requests == []
    assert client.usage.requests == 0


async def test_a_comma_separated_handle_list_with_an_inner_space_is_refused(
    fake: FakeKeyAPI, client: KeyAPI
) -> None:
    # Spaces around the commas are layout; a space inside a handle is not.
    with pytest.raises(InvalidParameterError) as caught:
        await client.influencers.detail(unique_ids="bob, bible verse")
    assert caught.value.parameter == "unique_ids[1]"
    assert fake.requests == []
    await client.influencers.detail(unique_ids=" bob , @alice ")
    assert fake.requests[0].params["unique_ids"] == "bob,alice"
