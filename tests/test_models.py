"""Decoding: documented fields, drift the API shows, typed errors, frozen records, round trips."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from keyapi_async import (
    APIStatusError,
    Influencer,
    InfluencerDetail,
    InsufficientCreditsError,
    KeyAPI,
    Livestream,
    RankedInfluencer,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    Video,
)
from keyapi_async import _endpoints as e
from keyapi_async.testing import FakeKeyAPI

from . import endpoints

# The reference pages live beside the repository (../shared/keyapi-docs), not in it: the field
# lists they document are kept in tests/fixtures, and checked against the pages when present.
DOCS = Path(__file__).resolve().parents[2] / "shared" / "keyapi-docs"
DOCUMENTED_FIELDS: dict[str, list[str]] = json.loads(
    (Path(__file__).parent / "fixtures" / "documented_fields.json").read_text(encoding="utf-8")
)
PAGES: dict[str, tuple[type[Any], e.Endpoint[Any]]] = {
    row.page: (row.model, row.declaration) for row in endpoints.ALL
}
LIST = e.INFLUENCER_LIST
JSON_FIELDS: dict[str, Any] = {
    "influencer_video_duration_level": {},
    "influencer_video_publish_hour": {},
    "influencer_video_publish_week": {},
    "most_category_product": [],
}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def documented_fields(page: Path) -> list[str]:
    """Property names of the 200 response's `data.items` in the page's OpenAPI section."""
    lines = page.read_text(encoding="utf-8").splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("## OpenAPI"))
    i = next(n for n in range(i, len(lines)) if lines[n].strip() == "'200':")
    i = next(n for n in range(i, len(lines)) if lines[n].strip() == "items:")
    i = next(n for n in range(i, len(lines)) if lines[n].strip() == "properties:")
    base, names, level = _indent(lines[i]), [], None
    for line in lines[i + 1 :]:
        if not line.strip():
            continue
        if _indent(line) <= base:
            break
        level = level or _indent(line)
        match = re.match(r" *([A-Za-z_][A-Za-z0-9_]*):", line)
        if _indent(line) == level and match:
            names.append(match.group(1))
    return names


def test_the_field_fixture_matches_the_reference_pages_beside_the_repo() -> None:
    assert sorted(DOCUMENTED_FIELDS) == sorted(PAGES)
    pages = [page for page in PAGES if (DOCS / page).is_file()]
    # A clone without ../shared beside it checks the fixture alone (above).
    for page in pages:
        assert documented_fields(DOCS / page) == DOCUMENTED_FIELDS[page], page


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_documented_field_is_on_its_model(page: str) -> None:
    model, _ = PAGES[page]
    documented = list(DOCUMENTED_FIELDS[page])
    assert len(documented) >= 15, documented
    assert len(documented) == len(set(documented))
    if model in (Influencer, InfluencerDetail):
        documented.append("total_likes_cnt")  # in the examples, not in the list schema
    wire_names = {f.encode_name for f in msgspec.structs.fields(model)}
    blank = model()
    assert [n for n in documented if n not in wire_names] == []
    assert [n for n in documented if not hasattr(blank, n)] == []


def body(*records: Any, code: int = 0, message: str = "success", rid: str = "req-1") -> bytes:
    return msgspec.json.encode(
        {"code": code, "message": message, "data": records, "requestId": rid}
    )


def one(record: dict[str, Any], endpoint: e.Endpoint[Any] = LIST) -> Any:
    records, request_id = endpoint.decoder.decode(200, body(record))
    assert request_id == "req-1"
    assert len(records) == 1
    return records[0]


# --- drift that decodes ---------------------------------------------------------------


def test_numbers_as_strings_and_floats_decode_to_their_types() -> None:
    rec = one(
        {
            "user_id": "1",
            "total_followers_cnt": "183",
            "total_digg_cnt": 2.0,
            "total_sale_cnt": 5e3,
            "first_crawl_dt": "20250816",
            "interaction_rate": "0.13",
            "ec_score": "2.62",
            "avg_30d_price": 73446,
        }
    )
    assert (rec.total_followers_cnt, rec.total_digg_cnt, rec.total_sale_cnt) == (183, 2, 5000)
    assert rec.first_crawl_dt == 20250816
    assert type(rec.total_digg_cnt) is int
    assert type(rec.total_sale_cnt) is int
    assert rec.interaction_rate == 0.13
    assert rec.ec_score == 2.62
    assert rec.avg_30d_price == 73446.0
    assert type(rec.avg_30d_price) is float


@pytest.mark.parametrize(("wire", "value"), [("false", False), ("true", True), (True, True)])
def test_video_strings_decode(wire: Any, value: bool) -> None:
    fields = {"create_time": "1736000679", "height": "1024", "width": "576", "data_size": "99"}
    video = one({"video_id": "7", "created_by_ai": wire, **fields}, e.INFLUENCER_VIDEOS)
    assert video.created_by_ai is value
    got = (video.create_time, video.height, video.width, video.data_size)
    assert got == (1736000679, 1024, 576, 99)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_missing_fields_get_defaults(page: str) -> None:
    model, endpoint = PAGES[page]
    assert one({}, endpoint) == model()


def test_defaults_and_nulls() -> None:
    rec = one({"user_id": "1", "seller_id": None, "unique_id": None})
    assert rec.seller_id == ""  # null reads as "": `if rec.seller_id:` tells a shop
    assert rec.unique_id == ""
    assert rec.nick_name == ""
    assert rec.total_followers_cnt == 0
    assert rec.interaction_rate == 0.0
    for name, empty in JSON_FIELDS.items():
        assert getattr(rec, name) == empty
    assert one({}).user_id == ""
    assert one({}).seller_id == ""  # documented nullable: no shop


def test_unknown_and_deep_fields_are_ignored() -> None:
    extras = {"new_metric": 5, "x_debug": {"deep": [1, {"a": None}]}, "labels": [], "s": "x"}
    assert one({"user_id": "1", **extras}) == one({"user_id": "1"})


@pytest.mark.parametrize(
    ("endpoint", "ids"),
    [
        (e.INFLUENCER_LIST, {"user_id": 7288986759428588590}),
        (e.INFLUENCER_DETAIL, {"user_id": 104312351695292486, "seller_id": 7494000000000000001}),
        (e.INFLUENCER_VIDEOS, {"video_id": 7451695292486000015, "user_id": 1}),
        (e.INFLUENCER_RANKING, {"user_id": 55, "most_category_id": 824328}),
        (e.INFLUENCER_LIVESTREAMS, {"room_id": 7321509771910417194, "user_id": 9}),
    ],
)
def test_numeric_ids_sent_as_numbers_become_strings(
    endpoint: e.Endpoint[Any], ids: dict[str, int]
) -> None:
    # The typed fast path refuses a number for a str field; the slow path restores the string,
    # keeps the other drift and the request id, and decodes the whole page.
    drifted = {**ids, "total_digg_cnt": "12"}
    records, request_id = endpoint.decoder.decode(200, body(drifted, {"total_digg_cnt": 3}))
    assert request_id == "req-1"
    assert len(records) == 2
    for name, value in ids.items():
        assert getattr(records[0], name) == str(value)
    assert records[0].total_digg_cnt == 12
    assert records[1].total_digg_cnt == 3


CATEGORIES = [{"category_id": "824328", "category_name": "Food", "product_cnt": 37}]


@pytest.mark.parametrize(
    ("name", "wire", "parsed"),
    [
        ("influencer_video_duration_level", '{"15s": 13, "15s-30s": 8}', {"15s": 13, "15s-30s": 8}),
        ("influencer_video_publish_hour", '{\n "00": 1,\n "23": "4"\n}', {"00": 1, "23": 4}),
        ("influencer_video_publish_week", '{"1": 7}', {"1": 7}),
        ("influencer_video_publish_week", {"1": 7}, {"1": 7}),
        ("most_category_product", msgspec.json.encode(CATEGORIES).decode(), CATEGORIES),
        ("most_category_product", CATEGORIES, CATEGORIES),
    ],
)
def test_json_in_a_string_parses(name: str, wire: Any, parsed: Any) -> None:
    rec = one({"user_id": "1", name: wire})
    value = getattr(rec, name)
    assert value == parsed
    with pytest.raises(TypeError):  # read-only: changing one cannot corrupt the record
        value.clear()
    assert getattr(rec, name) == parsed


MALFORMED = ['{"15s":', "", "[", '{"2m":0,', "null", '"text"', "12", None, "[1, 2]", '{"a": "x"}']


@pytest.mark.parametrize("name", sorted(JSON_FIELDS))
@pytest.mark.parametrize("wire", MALFORMED)  # cut short, empty, or of the wrong shape
def test_malformed_json_in_a_string_reads_as_empty(name: str, wire: Any) -> None:
    rec = one({"user_id": "1", name: wire})
    assert getattr(rec, name) == JSON_FIELDS[name]
    assert isinstance(getattr(rec, name), type(JSON_FIELDS[name]))  # a read-only subclass


# --- answers that do not decode -------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "field", "value"),
    [
        (e.INFLUENCER_LIST, "total_followers_cnt", {"a": 1}),
        (e.INFLUENCER_LIST, "total_followers_cnt", "12,5"),  # a fraction rounds: not this
        (e.INFLUENCER_DETAIL, "total_likes_cnt", "lots"),
        (e.INFLUENCER_LIST, "interaction_rate", [0.1]),
        (e.INFLUENCER_VIDEOS, "created_by_ai", "maybe"),
        (e.INFLUENCER_RANKING, "total_sale_cnt", "half"),
        (e.INFLUENCER_LIST, "user_id", 7.123456789012346e18),  # a float cannot hold this ID
        (e.INFLUENCER_VIDEOS, "video_id", 1.5),
        (e.INFLUENCER_LIVESTREAMS, "total_joins_cnt", {"n": 7}),
    ],
)
def test_a_record_that_does_not_fit_names_the_field(
    endpoint: e.Endpoint[Any], field: str, value: Any
) -> None:
    data = body({"user_id": "1"}, {"user_id": "2", field: value}, rid="req-9")
    with pytest.raises(ResponseDecodeError) as info:
        endpoint.decoder.decode(200, data)
    assert field in str(info.value)
    assert info.value.retryable is False
    assert info.value.request_id == "req-9"


def test_data_that_is_not_a_list_is_refused() -> None:
    data = msgspec.json.encode({"code": 0, "data": {"user_id": "1"}, "requestId": "r"})
    with pytest.raises(ResponseDecodeError) as info:
        LIST.decoder.decode(200, data)
    assert "data" in str(info.value)
    assert info.value.retryable is False


@pytest.mark.parametrize("raw", [b"<html>", b'{"code":0,"data":[{"user_id":', b""])
def test_a_body_that_is_not_json_is_retryable(raw: bytes) -> None:
    with pytest.raises(ResponseDecodeError) as info:
        LIST.decoder.decode(200, raw)
    assert info.value.retryable is True


@pytest.mark.parametrize(
    ("code", "error"),
    [(402, InsufficientCreditsError), (429, RateLimitError), (500, ServerError)],
)
def test_http_200_with_an_error_code_raises_it(code: int, error: type[APIStatusError]) -> None:
    data: Any
    for data in (None, [], "oops", {"user_id": 1}):  # whatever `data` holds, the code decides
        raw = msgspec.json.encode(
            {"code": code, "message": "nope", "data": data, "requestId": "r7"}
        )
        with pytest.raises(error) as info:
            LIST.decoder.decode(200, raw)
        err = info.value
        assert (err.status_code, err.code, err.request_id) == (code, code, "r7")
        assert "nope" in str(err)
        assert err.retryable is (code != 402)


def test_a_502_html_page_is_a_server_error() -> None:
    with pytest.raises(ServerError) as info:
        LIST.decoder.decode(502, b"<html>502 Bad Gateway</html>")
    assert info.value.status_code == 502
    assert info.value.code is None
    assert info.value.retryable is True


def test_http_429_carries_retry_after() -> None:
    raw = body(code=429, message="qps limit exceeded")
    with pytest.raises(RateLimitError) as info:
        LIST.decoder.decode(429, raw, retry_after=1.5)
    assert info.value.retry_after == 1.5
    assert info.value.status_code == 429


# --- end to end: what the fake serves decodes to its canonical values --------------


def assert_canonical(got: list[Any], want: list[dict[str, Any]], key: str) -> None:
    assert [getattr(r, key) for r in got] == [w[key] for w in want]
    for record, canonical in zip(got, want, strict=True):
        for name, value in canonical.items():
            assert getattr(record, name) == value, (getattr(record, key), name)
            got_type, want_type = type(getattr(record, name)), type(value)
            if want_type in (dict, list):  # parsed JSON: a read-only dict or list
                assert issubclass(got_type, want_type), (name, value)
            else:
                assert got_type is want_type, (name, value)


@pytest.mark.parametrize("seed", [0, 2])  # seed 2 omits some empty most_views_video
async def test_list_serves_canonical_values(seed: int) -> None:
    async with (
        FakeKeyAPI(seed=seed, influencers=120) as fake,
        KeyAPI(fake.api_key, base_url=fake.url, qps=None) as client,
    ):
        regions = sorted({str(r["region"]) for r in fake.dataset.influencers})
        seen = 0
        for region in regions:
            got = await client.influencers.list(region=region).collect()
            assert_canonical(got, fake.dataset.query_influencers({"region": region}), "user_id")
            seen += len(got)
        assert seen == len(fake.dataset.influencers)


STRING_FIELDS = [
    (endpoint, f.encode_name)
    for _, endpoint in PAGES.values()
    for f in msgspec.structs.fields(endpoint.model)
    if f.type in (str, str | None)  # str | None: seller_id, where null reads as "" too
]


@pytest.mark.parametrize(
    ("endpoint", "field"),
    STRING_FIELDS,
    ids=[f"{ep.model.__name__}.{n}" for ep, n in STRING_FIELDS],
)
def test_an_omitted_string_reads_like_an_empty_one(endpoint: e.Endpoint[Any], field: str) -> None:
    # The docs type these as plain strings and show "" as the empty value; the API may omit a
    # field that holds its empty value. seller_id, documented nullable, reads "" for no shop.
    assert one({}, endpoint) == one({field: ""}, endpoint)
    assert getattr(one({}, endpoint), field) == ""


async def test_detail_serves_canonical_values(fake: FakeKeyAPI, client: KeyAPI) -> None:
    want = fake.dataset.influencers
    got = await client.influencers.detail(user_ids=[str(r["user_id"]) for r in want])
    assert_canonical(got, want, "user_id")


async def test_videos_and_livestreams_serve_canonical_values(
    fake: FakeKeyAPI, client: KeyAPI
) -> None:
    ds = fake.dataset
    uids = [str(r["user_id"]) for r in ds.influencers]
    busiest = sorted(uids, key=lambda u: -len(ds.videos(u)))[:3]
    live = sorted(uids, key=lambda u: -len(ds.livestreams(u)))[:3]
    for uid in busiest:
        videos = await client.influencers.videos(user_id=uid).collect()
        assert_canonical(videos, ds.videos(uid), "video_id")
    for uid in live:
        lives = await client.influencers.livestreams(user_id=uid).collect()
        assert_canonical(lives, ds.livestreams(uid), "room_id")
    assert sum(len(ds.videos(u)) for u in busiest) > 50
    assert sum(len(ds.livestreams(u)) for u in live) > 20


async def test_ranking_serves_canonical_values(fake: FakeKeyAPI, client: KeyAPI) -> None:
    for rank_type, date in ((1, "2024-03-05"), (2, "2024-03-04"), (3, "2024-03-01")):
        got = await client.influencers.ranking(
            date=date, region="US", rank_type=rank_type, influencer_rank_field=2
        ).collect()
        want = fake.dataset.ranking(date, "US", rank_type, 2)
        assert len(want) > 5
        assert_canonical(got, want, "user_id")


async def test_the_fake_does_drift(fake: FakeKeyAPI) -> None:
    # Guard for the end-to-end tests above: the served JSON really differs from clean JSON.
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    params = {"region": "US", "page_num": "1", "page_size": "10"}
    url = fake.url + e.INFLUENCER_LIST.path
    stringly = 0
    async with aiohttp.ClientSession() as session:
        for page in range(1, 9):
            async with session.get(
                url, params={**params, "page_num": str(page)}, headers=headers
            ) as r:
                data = msgspec.json.decode(await r.read())["data"]
            stringly += sum(isinstance(d.get("total_digg_cnt", 0), (str, float)) for d in data)
    assert stringly > 0


# --- records are frozen and survive JSON Lines -----------------------------------------


async def test_records_are_frozen_and_round_trip_through_json_lines(
    fake: FakeKeyAPI, client: KeyAPI
) -> None:
    ds = fake.dataset
    uid = next(
        str(r["user_id"])
        for r in ds.influencers
        if r["influencer_video_publish_hour"]
        and ds.videos(str(r["user_id"]))
        and ds.livestreams(str(r["user_id"]))
    )
    batches: list[tuple[type[Any], list[Any]]] = [
        (Influencer, await client.influencers.list(region="US", limit=40).collect()),
        (InfluencerDetail, await client.influencers.detail(user_ids=[uid])),
        (Video, await client.influencers.videos(user_id=uid, limit=20).collect()),
        (Livestream, await client.influencers.livestreams(user_id=uid).collect()),
        (
            RankedInfluencer,
            await client.influencers.ranking(
                date="2024-03-04", region="US", rank_type=2, influencer_rank_field=1, limit=20
            ).collect(),
        ),
    ]
    for model, records in batches:
        assert records
        lines = b"\n".join(msgspec.json.encode(r) for r in records)
        back = [msgspec.json.decode(line, type=model) for line in lines.split(b"\n")]
        assert back == records
        first = records[0]
        with pytest.raises(AttributeError):
            first.region = "XX"
        if model in (Influencer, InfluencerDetail):
            parsed = [{n: getattr(r, n) for n in JSON_FIELDS} for r in records]
            assert [{n: getattr(r, n) for n in JSON_FIELDS} for r in back] == parsed
            assert any(p["influencer_video_publish_hour"] for p in parsed)
            with pytest.raises(AttributeError):
                first.most_category_product = []
            # Reading a parsed field does not change what is written.
            assert msgspec.json.decode(msgspec.json.encode(first), type=model) == first
