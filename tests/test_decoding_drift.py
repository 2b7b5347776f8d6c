"""Decoding what real responses send: nulls, empty strings and fractions in numeric fields, bad
histogram buckets, IDs sent as floats, null IDs; and records that read, print and write the
documented field names with the embedded JSON parsed."""

from __future__ import annotations

import copy
import csv
import io
import pickle
import re
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from keyapi_async import (
    Influencer,
    InfluencerDetail,
    KeyAPI,
    ResponseDecodeError,
)
from keyapi_async import _endpoints as e
from keyapi_async._cli import main
from keyapi_async._cli._output import encode_page
from keyapi_async.testing import FakeKeyAPI
from keyapi_async.testing import _schema as schema

from . import endpoints
from .fields import field_types
from .fields import plain as plain_type

# Beside the repository (the main checkout) or the shared copy a worktree reads.
DOCS = (
    next(
        (
            p
            for p in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared"))
            if (p / "keyapi-docs").is_dir()
        ),
        Path("/nonexistent"),
    )
    / "keyapi-docs"
)
MODELS = [row.model for row in endpoints.ALL]
HISTOGRAMS = (
    "influencer_video_duration_level",
    "influencer_video_publish_hour",
    "influencer_video_publish_week",
)
EMBEDDED = (*HISTOGRAMS, "most_category_product")


def _fields(model: type[Any], *types: Any) -> list[str]:
    return [name for name, tp in field_types(model).items() if tp in types]


def _body(*records: Any) -> bytes:
    return msgspec.json.encode({"code": 0, "message": "ok", "data": records, "requestId": "r-1"})


def _decode(model: type[Any], *records: Any) -> list[Any]:
    got, request_id = endpoints.BY_MODEL[model].declaration.decoder.decode(200, _body(*records))
    assert request_id == "r-1"
    assert len(got) == len(records)
    return got


def _key(model: type[Any]) -> str:
    return endpoints.BY_MODEL[model].key


# --- 1. nulls, empty strings and fractions in numeric fields ---------------------------------


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("empty", [None, ""], ids=["null", "empty-string"])
def test_null_or_empty_in_every_numeric_field_reads_as_the_default(
    model: type[Any], empty: Any
) -> None:
    numeric = _fields(model, int, float, bool)
    assert len(numeric) >= 10
    everything = dict.fromkeys(numeric, empty)
    one_each = [{_key(model): str(n), name: empty} for n, name in enumerate(numeric)]
    got = _decode(model, {_key(model): "k", **everything}, *one_each)
    blank = model()
    for record in got:
        for name in numeric:
            assert getattr(record, name) == getattr(blank, name), name
            assert type(getattr(record, name)) is type(getattr(blank, name)), name
    assert got[0] == model(**{_key(model): "k"})


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_a_fraction_in_a_count_rounds_and_a_float_keeps_it(model: type[Any]) -> None:
    counts, floats = _fields(model, int), _fields(model, float)
    assert counts
    assert floats
    wire: dict[str, Any] = {_key(model): "k"}
    wire |= {name: 182.6 if n % 2 else "183.4" for n, name in enumerate(counts)}
    wire |= {name: 0.25 if n % 2 else "2627.73" for n, name in enumerate(floats)}
    (record,) = _decode(model, wire)
    for name in counts:
        assert getattr(record, name) == 183, name
        assert type(getattr(record, name)) is int, name
    for n, name in enumerate(floats):
        assert getattr(record, name) == (0.25 if n % 2 else 2627.73), name


def test_a_fraction_rounds_to_the_nearest_int() -> None:
    records = [{"user_id": str(n), "total_digg_cnt": v} for n, v in enumerate([0.4, 0.6, -1.7])]
    assert [r.total_digg_cnt for r in _decode(Influencer, *records)] == [0, 1, -2]


def _documented_titles(page: str) -> dict[str, str]:
    """Field name -> its `title:` in the page's response schema (one line or folded)."""
    text = (DOCS / page).read_text(encoding="utf-8")
    schema_part = text[text.index("'200':") :]
    titles: dict[str, str] = {}
    for match in re.finditer(
        r"^ {24}([a-z0-9_]+):\n(?: {26}type: \w+\n)?(?: {26}title: (?:>-\n {28})?(.+))?",
        schema_part,
        re.MULTILINE,
    ):
        titles[match.group(1)] = match.group(2) or ""
    return titles


@pytest.mark.parametrize(
    ("model", "page"),
    [(row.model, row.page) for row in endpoints.ALL],
)
def test_averages_are_floats(model: type[Any], page: str) -> None:
    if not DOCS.is_dir():
        pytest.skip(f"the API docs are not at {DOCS}")
    types = field_types(model)
    titles = _documented_titles(page)
    assert len(titles) >= 15
    averages = [n for n, t in titles.items() if "_avg_" in f"_{n}_" or "average" in t.lower()]
    averages += [n for n in types if "_avg_" in f"_{n}_"]
    if model in (Influencer, InfluencerDetail):
        assert "per_video_product_views_avg_7d_cnt" in averages
        assert "avg_30d_price" in averages
    for name in averages:
        assert types[name] is float, name
    if averages:
        (record,) = _decode(model, dict.fromkeys(averages, 12.5))
        assert all(getattr(record, n) == 12.5 for n in averages)


# --- 1. histograms: one bad bucket drops that bucket only -------------------------------------

BAD_BUCKETS = '{"15s": 13, "30s": null, "1m": "many", "2m": 4.6, "3m": "7", "4m": [1], "5m": ""}'


@pytest.mark.parametrize("name", HISTOGRAMS)
@pytest.mark.parametrize("model", [Influencer, InfluencerDetail], ids=lambda m: m.__name__)
@pytest.mark.parametrize("as_object", [False, True], ids=["json-in-a-string", "object"])
def test_one_bad_bucket_drops_that_bucket_only(
    model: type[Any], name: str, as_object: bool
) -> None:
    wire = msgspec.json.decode(BAD_BUCKETS) if as_object else BAD_BUCKETS
    (record,) = _decode(model, {"user_id": "1", name: wire})
    assert getattr(record, name) == {"15s": 13, "2m": 5, "3m": 7}
    assert all(type(v) is int for v in getattr(record, name).values())


@pytest.mark.parametrize("model", [Influencer, InfluencerDetail], ids=lambda m: m.__name__)
def test_one_bad_category_drops_that_entry_only(model: type[Any]) -> None:
    good = [{"category_id": "1", "product_cnt": 3}, {"category_id": "2", "category_name": "Food"}]
    wire = msgspec.json.encode([good[0], None, 5, "x", [1], good[1]]).decode()
    (record,) = _decode(model, {"user_id": "1", "most_category_product": wire})
    assert record.most_category_product == good


# --- 2. IDs sent as floats --------------------------------------------------------------------

ID_FIELDS = [
    (model, name)
    for model in MODELS
    for name in _fields(model, str, str | None)  # str | None: seller_id, null read as ""
    if name.endswith("_id") or name == "most_views_video"
]


@pytest.mark.parametrize(
    ("model", "field"), ID_FIELDS, ids=[f"{m.__name__}.{n}" for m, n in ID_FIELDS]
)
@pytest.mark.parametrize("value", [7.123456789012346e18, 2.0**53 + 2, 1.5, -3.25])
def test_an_id_sent_as_an_inexact_float_is_refused_naming_the_field(
    model: type[Any], field: str, value: float
) -> None:
    with pytest.raises(ResponseDecodeError, match=field) as caught:
        _decode(model, {_key(model): "k"}, {_key(model): "j", field: value})
    assert caught.value.retryable is False
    assert caught.value.request_id == "r-1"


@pytest.mark.parametrize(
    ("model", "field"), ID_FIELDS, ids=[f"{m.__name__}.{n}" for m, n in ID_FIELDS]
)
def test_an_id_sent_as_a_number_becomes_its_exact_string(model: type[Any], field: str) -> None:
    values: list[Any] = [123.0, 2.0**53 - 1, 7123456789012345678, 10**40, -5, "0042"]
    want = ["123", str(2**53 - 1), "7123456789012345678", str(10**40), "-5", "0042"]
    records = [{**({} if field == _key(model) else {_key(model): "k"}), field: v} for v in values]
    assert [getattr(r, field) for r in _decode(model, *records)] == want


# --- 5. null IDs read as "" and every string field is a plain str -----------------------------


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_string_field_is_a_plain_str_and_null_reads_as_empty(model: type[Any]) -> None:
    strings = [
        f for f in msgspec.structs.fields(model) if plain_type(f.type) not in (int, float, bool)
    ]
    plain = [f.encode_name for f in strings if f.name not in EMBEDDED]
    # seller_id takes null on the fast path (it is null on most records) and reads it as "".
    wire_types = {f.encode_name: f.type for f in strings if f.type is not str}
    assert wire_types == ({"seller_id": str | None} if "seller_id" in plain else {}) | {
        n: Any for n in EMBEDDED if n in wire_types
    }
    assert all(isinstance(v, str) for v in (getattr(model(), n) for n in plain))
    annotations = {
        k: v for c in model.__mro__ for k, v in getattr(c, "__annotations__", {}).items()
    }
    assert all(annotations[n] in ("str", "NullAsEmpty") for n in plain)
    (record,) = _decode(model, dict.fromkeys(plain))
    assert all(getattr(record, n) == "" for n in plain)
    assert record == model()


def test_seller_id_null_means_no_shop() -> None:
    no_shop, shop = _decode(
        Influencer, {"user_id": "1", "seller_id": None}, {"user_id": "2", "seller_id": "7494"}
    )
    assert no_shop.seller_id == ""
    assert not no_shop.seller_id
    assert shop.seller_id == "7494"
    assert Influencer().seller_id == ""


# --- 3. documented names everywhere a user reads ----------------------------------------------

HOUR = '{\n "00": 1,\n "23": "4"\n}'
CATEGORIES = [{"category_id": "824328", "category_name": "Food", "product_cnt": 37}]


def _rich() -> Influencer:
    (record,) = _decode(
        Influencer,
        {
            "user_id": "9",
            "influencer_video_publish_hour": HOUR,
            "influencer_video_publish_week": '{"1": 7}',
            "most_category_product": msgspec.json.encode(CATEGORIES).decode(),
        },
    )
    return record


def test_asdict_repr_and_fields_show_documented_names_with_parsed_values() -> None:
    record = _rich()
    as_dict = msgspec.structs.asdict(record)
    assert not [k for k in as_dict if k.endswith("_raw")]
    assert [f.name for f in msgspec.structs.fields(Influencer)] == [
        f.encode_name for f in msgspec.structs.fields(Influencer)
    ]
    assert as_dict["influencer_video_publish_hour"] == {"00": 1, "23": 4}
    assert as_dict["influencer_video_publish_week"] == {"1": 7}
    assert as_dict["influencer_video_duration_level"] == {}
    assert as_dict["most_category_product"] == CATEGORIES
    assert msgspec.to_builtins(record)["influencer_video_publish_hour"] == {"00": 1, "23": 4}
    text = repr(record)
    assert "_raw" not in text
    assert "influencer_video_publish_hour={'00': 1, '23': 4}" in text
    assert "\\n" not in text  # no embedded JSON text left


def test_parsed_values_cannot_be_changed() -> None:
    record = _rich()
    hour = record.influencer_video_publish_hour
    with pytest.raises(TypeError):
        hour["00"] = 5
    with pytest.raises(TypeError):
        hour.clear()
    with pytest.raises(TypeError):
        record.most_category_product.append({})
    with pytest.raises(TypeError):
        record.most_category_product[0]["product_cnt"] = 0
    with pytest.raises(AttributeError):
        record.influencer_video_publish_hour = {}  # type: ignore[misc]
    assert record == _rich()
    assert hash(record) == hash(_rich())
    assert pickle.loads(pickle.dumps(record)) == record
    assert copy.deepcopy(record) == record


def test_a_record_built_by_hand_gets_the_same_types() -> None:
    built = Influencer(
        user_id="9",
        influencer_video_publish_hour={"00": 1, "23": 4},  # type: ignore[arg-type]
        influencer_video_publish_week='{"1": 7}',  # type: ignore[arg-type]
        most_category_product=CATEGORIES,  # type: ignore[arg-type]
    )
    assert built == _rich()
    with pytest.raises(TypeError):
        built.influencer_video_publish_hour["00"] = 2


def test_jsonl_and_csv_carry_parsed_values_not_json_text() -> None:
    record = _rich()
    line = encode_page([record], "jsonl", None)
    assert b"_raw" not in line
    assert b'"influencer_video_publish_hour":{"00":1,"23":4}' in line
    assert b'\\"' not in line  # no JSON encoded inside a JSON string
    assert msgspec.json.decode(line, type=Influencer) == record
    header = [f.encode_name for f in msgspec.structs.fields(Influencer)]
    text = encode_page([record], "csv", header).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert msgspec.json.decode(rows[0]["influencer_video_publish_hour"]) == {"00": 1, "23": 4}
    assert msgspec.json.decode(rows[0]["most_category_product"]) == CATEGORIES
    assert rows[0]["influencer_video_duration_level"] == "{}"


def test_the_cli_writes_jsonl_that_decodes_back_to_equal_records(tmp_path: Path) -> None:
    out = tmp_path / "inf.jsonl"
    with FakeKeyAPI(influencers=300, api_key="sk_test_h3") as fake:
        argv = ["--base-url", fake.url, "--api-key", "sk_test_h3", "--qps", "0"]
        argv += ["influencers", "list", "--region", "US", "--limit", "60", "-o", str(out)]
        assert main(argv) == 0
        want = fake.dataset.query_influencers({"region": "US"})[:60]
    data = out.read_bytes()
    assert b"_raw" not in data
    assert b'\\"' not in data
    back = [msgspec.json.decode(line, type=Influencer) for line in data.splitlines()]
    assert len(back) == 60
    assert [r.user_id for r in back] == [w["user_id"] for w in want]
    for record, canonical in zip(back, want, strict=True):
        for name in EMBEDDED:
            assert getattr(record, name) == canonical[name], name
    assert any(r.influencer_video_publish_hour for r in back)
    assert encode_page(back, "jsonl", None) == data  # written again, byte for byte


# --- 4. the fake server sends all of it --------------------------------------------------------


async def test_the_fake_sends_nulls_empty_strings_fractions_and_bad_buckets() -> None:
    numeric = {n for n, k in schema.INFLUENCER.items() if k in ("int", "float")}
    counts = {n for n, k in schema.INFLUENCER.items() if k == "int"}
    seen: dict[str, int] = dict.fromkeys(["null", "empty", "fraction", "bucket", "category"], 0)
    async with FakeKeyAPI(influencers=300) as fake, aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {fake.api_key}"}
        for page in range(1, 16):
            query = {"region": "US", "page_num": str(page), "page_size": "10"}
            async with session.get(
                fake.url + e.INFLUENCER_LIST.path, params=query, headers=headers
            ) as resp:
                records = msgspec.json.decode(await resp.read())["data"]
            for w in records:
                seen["null"] += sum(w.get(n, 0) is None for n in numeric)
                seen["empty"] += sum(w.get(n, 0) == "" for n in numeric)
                seen["fraction"] += sum(
                    isinstance(w.get(n), float) and not w[n].is_integer() for n in counts
                )
                for hist in (w.get(name) for name in HISTOGRAMS):
                    if isinstance(hist, str) and hist.startswith("{"):
                        try:
                            buckets = msgspec.json.decode(hist)
                        except msgspec.DecodeError:
                            buckets = {}
                        seen["bucket"] += any(not isinstance(v, int) for v in buckets.values())
                cats = w.get("most_category_product")
                if isinstance(cats, str) and cats.startswith("[{"):
                    with_bad = msgspec.json.decode(cats)
                    seen["category"] += any(not isinstance(c, dict) for c in with_bad)
        async with KeyAPI(fake.api_key, base_url=fake.url, qps=None) as client:
            got = await client.influencers.list(region="US", limit=150).collect()
        want = fake.dataset.query_influencers({"region": "US"})[:150]
    assert all(seen.values()), seen
    for record, canonical in zip(got, want, strict=True):
        for name, value in canonical.items():
            assert getattr(record, name) == value, (record.user_id, name)
