"""Hostile input, generated at random: mutated records and envelopes, random bytes, and random
arguments for every method and for KeyAPI(...).

The contract under test (keyapi_async._errors): a page either decodes to exactly as many records
as it carried, or raises ResponseDecodeError (naming the field when one field is to blame) or an
APIStatusError subclass; bad arguments raise InvalidParameterError naming one of them, before
anything is sent. Never any other exception.

Decoders are fed bytes directly and clients point at 127.0.0.1:9, where nothing listens (one
end-to-end test uses a tiny local aiohttp app). The properties are derandomized so CI runs the
same examples.

Bugs these properties found are pinned at the end of the file as regression tests; the
properties leave those inputs to them (each exclusion says which test covers it): bodies with
invalid UTF-8 in a string, whole numbers past the float range or past Python's 4300-digit str()
limit, malformed base URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from aiohttp import web
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from keyapi_async import (
    APIStatusError,
    InvalidParameterError,
    KeyAPI,
    KeyAPIError,
    Paginator,
    RankType,
    RateLimiter,
    RateLimitError,
    ResponseDecodeError,
    SortType,
)
from keyapi_async import _endpoints as e
from keyapi_async.testing import FakeKeyAPI

from . import endpoints
from .conftest import serve
from .fields import plain

OFFLINE = "http://127.0.0.1:9"  # nothing listens there: anything sent would fail loudly

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- the five models, as the decoder sees them ---------------------------------------------

ENDPOINTS = endpoints.BY_METHOD


def _kind(name: str, tp: Any) -> str:
    tp = plain(tp)
    if tp is Any:
        return "any"  # JSON-in-a-string fields, parsed by the model
    if tp is str or tp == (str | None):  # str | None: seller_id, null read as "" by the model
        # IDs: the *_id fields and most_views_video (a video ID)
        return "id" if name.endswith("_id") or name == "most_views_video" else "str"
    names: dict[Any, str] = {int: "int", float: "float", bool: "bool"}
    if tp in names:
        return names[tp]
    raise AssertionError(f"a field type this test does not know: {tp!r}")


# wire name -> (attribute name, kind), per endpoint
FIELDS: dict[str, dict[str, tuple[str, str]]] = {
    name: {
        f.encode_name: (f.name, _kind(f.encode_name, f.type))
        for f in msgspec.structs.fields(endpoint.model)
    }
    for name, endpoint in ((row.method, row.declaration) for row in endpoints.ALL)
}
DEFAULTS: dict[str, Any] = {"str": "", "id": "", "int": 0, "float": 0.0, "bool": False}
TEMPLATE = {
    "str": "plain",
    "id": "maybe",
    "int": 7,
    "float": 0.25,
    "bool": False,
    "any": '{"15s": 3, "30s": 1}',
}

# --- hostile values --------------------------------------------------------------------------

LONE_SURROGATE = "\ud800"  # only ever sent escaped (ensure_ascii=True): "\\ud800"
REMOVE = object()  # the field is left out


def _deep(depth: int) -> Any:
    value: Any = {"leaf": [1, None, "x"]}
    for n in range(depth):
        value = {f"k{n % 3}": value, "list": [value] if n % 50 == 0 else []}
    return value


DEEP = _deep(200)
ODD_STRINGS = [
    "\u200f\u202eRTL mark and override",
    "nul\u0000inside",
    "emoji 😀 👩‍👩‍👧 🇺🇸",
    "\ufeffBOM first",
    "combining e\u0301",
    "\U0001d518\U0001d52b\U0001d526 outside the BMP",
    "line\nbreak\ttab",
    '"quotes" and \\backslashes\\',
    "x" * 20_000,
    " ",
    "",
]
HOSTILE: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    -0.0,
    10**30,
    -(10**30),
    1e308,
    -1e308,
    5e-324,
    2**63,
    -(2**63) - 1,
    "abc",
    "12",
    "-7",
    "5.0",
    "1.25",
    "1e400",
    "true",
    "FALSE",
    "null",
    "NaN",
    '{"15s":',
    "[",
    '{"15s": "many"}',
    "10000000000000000000000000000000",
    [],
    [1, "a", None],
    {},
    {"nested": {"deeper": [1, 2, {"deepest": None}]}},
    DEEP,
    LONE_SURROGATE,
    *ODD_STRINGS,
]
hostile_values = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.just(REMOVE),
)

ACCEPT, REJECT, EITHER, OPAQUE = "accept", "reject", "either", "opaque"
SKIP = object()  # accepted, but the decoded value is not predicted here
INT64 = range(-(2**63), 2**63)
_INT_TEXT = re.compile(r"-?[0-9]{1,18}")
_FLOAT_TEXT = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    return False


def _textual(value: str) -> bool:
    """A string no lax number reading can take: no digit, not a number word."""
    lowered = value.lower()
    return not any(c.isdigit() for c in value) and "inf" not in lowered and "nan" not in lowered


def verdict(kind: str, value: Any) -> tuple[str, Any]:
    """What the model should do with `value` in a field of `kind`, per the documented rules
    (keyapi_async._models and _repair: lax decoding, null and "" read as the default, a fraction
    in a count rounds, numbers for IDs become their exact string or are refused, embedded JSON
    parsed with bad buckets dropped: see `embedded`).

    ACCEPT comes with the decoded value (or SKIP), REJECT must fail, EITHER is not predicted.
    OPAQUE: an escaped lone surrogate, which the JSON parser itself refuses (see
    test_a_lone_surrogate_escape_is_not_retried).
    """
    if value is REMOVE:
        return ACCEPT, SKIP
    if _has_lone_surrogate(value):
        return OPAQUE, None
    if kind == "any":
        return ACCEPT, SKIP  # checked against `embedded` in _check_page
    if value is None or (value == "" and kind not in ("str", "id")):
        return ACCEPT, DEFAULTS[kind]
    if isinstance(value, (list, dict)):
        return REJECT, None
    if isinstance(value, bool):
        return (ACCEPT, value) if kind == "bool" else (REJECT, None)
    if kind == "id":
        if isinstance(value, str):
            return ACCEPT, value
        if isinstance(value, int):
            return ACCEPT, str(value)  # exact, whatever its size
        exact = value.is_integer() and abs(value) < 2**53  # 2**53 may be 2**53 + 1 rounded
        return (ACCEPT, str(int(value))) if exact else (REJECT, None)
    if kind == "str":
        if isinstance(value, str):
            return ACCEPT, value
        if isinstance(value, float) or value in INT64:
            return ACCEPT, str(value)
        return EITHER, None
    if kind == "int":
        if isinstance(value, int):
            return (ACCEPT, value) if value in INT64 else (EITHER, None)
        if isinstance(value, float):
            if not value.is_integer():
                return ACCEPT, round(value)
            return (ACCEPT, int(value)) if abs(value) < 2**53 else (EITHER, None)
        if _INT_TEXT.fullmatch(value):
            return ACCEPT, int(value)
        if _FLOAT_TEXT.fullmatch(value) and not float(value).is_integer():
            return ACCEPT, round(float(value))
        return (REJECT, None) if _textual(value) else (EITHER, None)
    if kind == "float":
        if isinstance(value, int):
            return (ACCEPT, float(value)) if value in INT64 else (EITHER, None)
        if isinstance(value, float):
            return ACCEPT, value
        if _FLOAT_TEXT.fullmatch(value):
            return ACCEPT, float(value)
        return (REJECT, None) if _textual(value) else (EITHER, None)
    assert kind == "bool"
    if isinstance(value, str):
        if value.lower() in ("true", "false"):
            return ACCEPT, value.lower() == "true"
        return (REJECT, None) if _textual(value) else (EITHER, None)
    return EITHER, None


def embedded(attribute: str, value: Any) -> Any:
    """What a JSON-in-a-string field reads as: parsed, malformed or odd as empty, a histogram's
    bad buckets dropped and fractional counts rounded, a category list's non-objects dropped."""
    if isinstance(value, str):
        try:
            value = msgspec.json.decode(value)
        except msgspec.DecodeError:
            value = None
    if attribute == "most_category_product":
        return [c for c in value if isinstance(c, dict)] if isinstance(value, list) else []
    if not isinstance(value, dict):
        return {}
    out = {}
    for key, count in value.items():
        if isinstance(count, str):
            try:
                count = float(count)
            except ValueError:
                continue
        if isinstance(count, bool) or not isinstance(count, (int, float)):
            continue
        if isinstance(count, float):
            if count != count or count in (float("inf"), float("-inf")):
                continue
            count = round(count)
        out[key] = count
    return out


def attempt(call: Any, *args: Any, **kwargs: Any) -> tuple[Any, BaseException | None]:
    """(result, None) or (None, the exception); an exception outside the contract propagates,
    the documented ones are returned for the caller to check."""
    try:
        return call(*args, **kwargs), None
    except KeyAPIError as exc:
        return None, exc


def _envelope(data: Any, **extra: Any) -> dict[str, Any]:
    return {"code": 0, "message": "success", "data": data, "requestId": "rid-1", **extra}


def _encode(obj: Any, ensure_ascii: bool, indent: int | None) -> bytes:
    if _has_lone_surrogate(obj):
        ensure_ascii = True  # a lone surrogate can only travel escaped
    return json.dumps(obj, ensure_ascii=ensure_ascii, indent=indent, allow_nan=False).encode()


def _base_record(name: str, key: str, n: int) -> dict[str, Any]:
    record = {wire: TEMPLATE[kind] for wire, (_, kind) in FIELDS[name].items()}
    record[key] = str(104312351695292486 + n)
    return record


# --- records, mutated ---------------------------------------------------------------------------


@st.composite
def mutated_pages(draw: st.DrawFn, name: str) -> tuple[list[dict[str, Any]], dict[Any, Any]]:
    key = ENDPOINTS[name].key
    wires = sorted(FIELDS[name])
    size = draw(st.integers(2, 6))
    records = [_base_record(name, key, n) for n in range(size)]
    # (record, wire name) -> value; a wire name not on the model is an added unknown field
    mutations: dict[tuple[int, str], Any] = {}
    for _ in range(draw(st.integers(0, 4))):
        index = draw(st.integers(0, size - 1))
        field = draw(st.one_of(st.sampled_from([key, *wires]), st.sampled_from(["x_new", "é"])))
        mutations[(index, field)] = draw(hostile_values)
    for (index, field), value in mutations.items():
        if value is REMOVE:
            records[index].pop(field, None)
        else:
            records[index][field] = value
    return records, mutations


def _note(what: str) -> None:
    if currently_in_test_context():  # statistics for --hypothesis-show-statistics
        event(what)


def _check_page(
    name: str, records: list[dict[str, Any]], mutations: dict[Any, Any], body: bytes
) -> None:
    endpoint, key = ENDPOINTS[name].declaration, ENDPOINTS[name].key
    fields = FIELDS[name]
    judged = {
        (index, field): verdict(fields[field][1], value) if field in fields else (ACCEPT, SKIP)
        for (index, field), value in mutations.items()
    }
    if any(v is not REMOVE and _has_lone_surrogate(v) for v in mutations.values()):
        judged = dict.fromkeys(judged, (OPAQUE, None))  # even in a field never read
    outcomes = {outcome for outcome, _ in judged.values()}
    result, error = attempt(endpoint.decoder.decode, 200, body)
    if error is not None:
        assert isinstance(error, ResponseDecodeError), repr(error)
        assert outcomes - {ACCEPT}, f"refused a page every field of which fits: {error}"
        to_blame = [field for (_, field), (outcome, _) in judged.items() if outcome != ACCEPT]
        if len(to_blame) == 1 and OPAQUE not in outcomes:
            _note("refused, one field to blame")
            assert to_blame[0] in str(error), (to_blame[0], str(error))
        else:
            _note("refused")
        return
    got, request_id = result
    _note(f"decoded, {len(mutations)} mutation(s)")
    assert REJECT not in outcomes, f"took a value it cannot hold: {judged}"
    assert request_id == "rid-1"
    assert len(got) == len(records), "a record was dropped or invented"
    clean = endpoint.decoder.decode(
        200, _encode(_envelope([_base_record(name, key, 0)]), True, None)
    )
    clean_record = clean[0][0]
    for index, (record, decoded) in enumerate(zip(records, got, strict=True)):
        assert isinstance(decoded, endpoint.model)
        wire_key = record.get(key, "")
        if isinstance(wire_key, str):
            assert getattr(decoded, key) == wire_key
        for wire, (attribute, kind) in fields.items():
            outcome, expected = judged.get((index, wire), (None, None))
            if outcome is None:  # untouched: as in a clean record
                if wire != key:
                    assert getattr(decoded, attribute) == getattr(clean_record, attribute), wire
            elif outcome == ACCEPT and expected is not SKIP:
                assert getattr(decoded, attribute) == expected, (wire, expected)
            if kind == "any":  # parsed when decoded: malformed or odd reads as empty, never raises
                wire_value = record.get(wire)
                want = embedded(attribute, wire_value)
                assert getattr(decoded, attribute) == want, (wire, wire_value)
                assert type(getattr(decoded, attribute)) is not type(want)  # read-only kind


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
@PROPERTY
@given(data=st.data(), ensure_ascii=st.booleans(), indent=st.sampled_from([None, 0, 2]))
def test_mutated_records_decode_whole_or_fail_naming_the_field(
    name: str, data: st.DataObject, ensure_ascii: bool, indent: int | None
) -> None:
    records, mutations = data.draw(mutated_pages(name))
    body = _encode(_envelope(records), ensure_ascii, indent)
    _check_page(name, records, mutations, body)


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("total_views_cnt", {"a": 1}),
        ("total_views_cnt", "lots"),
        ("total_views_cnt", [1.5]),  # 1.5 rounds: test_unmutated_and_lax_pages_decode_exactly
        ("user_id", 7.123456789012346e18),  # a float cannot hold this ID exactly
        ("region", True),
        ("region", [1]),
    ],
)
def test_one_bad_field_is_named(name: str, field: str, value: Any) -> None:
    """Fixed examples of the property's naming rule, for every model that has the field."""
    if field not in FIELDS[name]:
        pytest.skip(f"{name} records have no {field}")
    key = ENDPOINTS[name].key
    records = [_base_record(name, key, n) for n in range(3)]
    records[1][field] = value
    assert verdict(FIELDS[name][field][1], value)[0] == REJECT
    body = _encode(_envelope(records), True, None)
    with pytest.raises(ResponseDecodeError, match=field) as caught:
        ENDPOINTS[name].declaration.decoder.decode(200, body)
    assert caught.value.retryable is False  # asking again would buy the same answer
    _check_page(name, records, {(1, field): value}, body)


def test_unmutated_and_lax_pages_decode_exactly() -> None:
    """The oracle's ACCEPT side, pinned: lax values decode to what the docs promise."""
    records = [_base_record("videos", "video_id", n) for n in range(3)]
    lax = {"duration": "183", "total_video_sale_gmv_amt": "0.13", "created_by_ai": "true"}
    records[2].update(lax, video_id=104312351695292999, total_views_cnt=183.0)
    gaps = {"total_views_cnt": 1.5, "region": None, "total_digg_cnt": "", "width": None}
    records[1].update(gaps, total_comments_cnt="182.6", user_id=2.0**53 - 1)
    got, _ = e.INFLUENCER_VIDEOS.decoder.decode(200, _encode(_envelope(records), False, None))
    assert [v.video_id for v in got] == [str(104312351695292486 + n) for n in (0, 1)] + [
        "104312351695292999"
    ]
    assert (got[2].duration, got[2].total_video_sale_gmv_amt, got[2].created_by_ai) == (
        183,
        0.13,
        True,
    )
    assert got[2].total_views_cnt == 183
    assert (got[1].total_views_cnt, got[1].region, got[1].total_digg_cnt) == (2, "", 0)
    assert (got[1].width, got[1].total_comments_cnt, got[1].user_id) == (0, 183, str(2**53 - 1))


# --- envelopes, mutated -------------------------------------------------------------------------

VALID_RECORDS = [{"user_id": "1", "nick_name": "a"}, {"user_id": "2", "total_views_cnt": "9"}]
envelope_values = {
    "code": st.sampled_from([0, "0", 0.0, 1, 400, 401, 402, 429, 500, 503, -1, 200, 10**30, "abc"])
    | st.sampled_from([True, None, [], {}, "429", REMOVE]),
    "message": st.sampled_from(
        ["success", "", None, 5, {}, ["x"], "nul\u0000", "x" * 5000, REMOVE]
    ),
    "data": st.sampled_from(
        [
            VALID_RECORDS,
            [],
            None,
            {},
            {"items": VALID_RECORDS},
            "records",
            5,
            [1, "x", None, []],
            [VALID_RECORDS],
            [{"user_id": {"deep": DEEP}}],
            REMOVE,
        ]
    ),
    "requestId": st.sampled_from(["rid-1", None, "", 5, {}, "x" * 1000, "é😀", REMOVE]),
}
STATUSES = [200, 200, 200, 400, 401, 402, 404, 418, 429, 500, 502, 503, 302, 204]


@st.composite
def envelopes(draw: st.DrawFn) -> Any:
    body: dict[str, Any] = {}
    for name, values in envelope_values.items():
        value = draw(values)
        if value is not REMOVE:
            body[name] = value
    for n in range(draw(st.integers(0, 3))):
        body[f"extra_{n}"] = draw(st.sampled_from([DEEP, None, [1, 2], "x", 10**30, {"a": {}}]))
    shape = draw(st.sampled_from(["object", "object", "object", "list", "number", "null", "str"]))
    return {"list": [body], "number": 0, "null": None, "str": "success"}.get(shape, body)


@PROPERTY
@given(
    envelope=envelopes(),
    status=st.sampled_from(STATUSES),
    retry_after=st.none() | st.floats(0, 100),
    ensure_ascii=st.booleans(),
)
def test_mutated_envelopes_decode_or_raise_a_documented_error(
    envelope: Any, status: int, retry_after: float | None, ensure_ascii: bool
) -> None:
    body = _encode(envelope, ensure_ascii, None)
    whole = isinstance(envelope, dict)
    code = envelope.get("code") if whole else None
    data = envelope.get("data") if whole else None
    well_formed = (
        whole
        and isinstance(code, int)
        and not isinstance(code, bool)
        and isinstance(envelope.get("message", ""), (str, type(None)))
        and isinstance(envelope.get("requestId"), (str, type(None)))
    )
    result, error = attempt(e.INFLUENCER_LIST.decoder.decode, status, body, retry_after=retry_after)
    if isinstance(error, APIStatusError):
        if status != 200:
            assert error.status_code == status  # the response's own status is the error's
        elif well_formed:
            assert error.code == code
            assert code != 0
        if status != 200 or (well_formed and data in (VALID_RECORDS, [], None)):
            # (A 200 whose data does not fit: test_a_body_error_keeps_retry_after_...)
            assert error.retry_after == retry_after
        return
    if error is not None:
        assert isinstance(error, ResponseDecodeError), repr(error)
        assert status == 200, "an error status is an APIStatusError, whatever its body"
        assert not (well_formed and code == 0 and data in (VALID_RECORDS, [], None)), body[:200]
        return
    records, request_id = result
    assert status == 200, "an error status must never decode as data"
    assert isinstance(records, list)
    if well_formed:
        assert code == 0
        assert len(records) == len(data or [])
        assert request_id == envelope.get("requestId")


# --- random bytes ---------------------------------------------------------------------------

_PREFIXES = [b"", b'{"code":0,"data":[{"user_id":"', b'{"code":', b"[", b'"', b"\xef\xbb\xbf"]


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


random_bodies = st.one_of(
    st.binary(max_size=300).filter(_is_utf8),
    st.text(max_size=300).map(str.encode),
    st.tuples(st.sampled_from(_PREFIXES), st.text(max_size=100)).map(
        lambda parts: parts[0] + parts[1].encode()
    ),
)


@PROPERTY
@given(body=random_bodies, status=st.sampled_from([200, 500]))
def test_random_bytes_raise_only_documented_errors(body: bytes, status: int) -> None:
    # Bodies with invalid UTF-8 are left to test_invalid_utf8_in_a_json_string below.
    result, error = attempt(e.INFLUENCER_LIST.decoder.decode, status, body)
    if status == 500:
        assert isinstance(error, APIStatusError), repr(error)
        assert error.status_code == 500
    elif error is None:
        records, _ = result
        assert isinstance(records, list)
    else:
        assert isinstance(error, (ResponseDecodeError, APIStatusError)), repr(error)


# --- random arguments ---------------------------------------------------------------------------

UID = "104312351695292486"
NOT_TEXT: list[Any] = [5, 0, True, b"US", ["US"], {"US": 1}, 1.5]
TEXT_VALID: list[Any] = ["US", "GB", "Beauty & Care", "é😀", " padded ", "\u200fRTL"]
TEXT_INVALID: list[Any] = ["", "   ", "\n\t", *NOT_TEXT]
REGION_VALID: list[Any] = ["US", "GB", "us", " jp "]  # two ASCII letters, sent upper-case
REGION_INVALID: list[Any] = [*TEXT_INVALID, "USA", "U", "é😀", "U S", "\uff35\uff33"]
COUNT_VALID: list[Any] = [0, 1, 5000, 2**63 - 1]  # the API's integers are 64-bit
COUNT_INVALID: list[Any] = [-1, -(10**30), 2**63, 10**30, True, 1.5, "5", float("nan"), [], b"1"]
RATE_VALID: list[Any] = [0, 0.0, 0.05, 3, 1e308, 5e-324]
RATE_INVALID: list[Any] = [-0.1, -1, float("nan"), float("inf"), True, "0.5", [0.1]]


def codes(valid: list[Any], high: int) -> tuple[list[Any], list[Any]]:
    return valid, [-1, high + 1, True, False, "1", 1.0, 2.5, [1], 10**30]


ID_VALID: list[Any] = [UID, int(UID), f" {UID} ", "0", 7]
ID_INVALID: list[Any] = [
    "",
    "abc",
    "@bible._.verse",
    "12a",
    -1,
    1.5,
    True,
    ["1"],
    "\uff11\uff12",
    None,
]
HANDLE_VALID: list[Any] = ["bible._.verse", "@bible._.verse", " bob ", "é😀"]
HANDLE_INVALID: list[Any] = ["", "@", "  ", "a,b", 5, True, ["bob"]]
DATE_VALID: list[Any] = [
    "2024-03-04",  # a Monday
    "2024-03-01",  # the first, a Friday
    "2024-03-05",  # a Tuesday
    dt.date(2024, 1, 1),  # a Monday and the first
    dt.date(2023, 5, 17),
]
DATE_INVALID: list[Any] = [
    "2024-02-30",
    "2024/03/04",
    "04-03-2024",
    "2024-3-4",
    "",
    "\u0662\u0660\u0662\u0664-\u0660\u0661-\u0660\u0661",  # Arabic-Indic digits
    20240304,
    dt.datetime(2024, 3, 4, 12, 0),
    True,
    None,
]

OPTIONAL = None  # marks "valid: leave it unset"
PARAMS: dict[str, dict[str, tuple[list[Any], list[Any]]]] = {
    "list": {
        "region": (REGION_VALID, [None, *REGION_INVALID]),
        "product_category_id": ([OPTIONAL, *TEXT_VALID], TEXT_INVALID),
        "influencer_category_name": ([OPTIONAL, *TEXT_VALID], TEXT_INVALID),
        "influencer_sort_field_v2": codes([OPTIONAL, 0, 3, 6], 6),
        "sort_type": codes([OPTIONAL, 0, 1, SortType.DESC], 1),
        **{
            f"{bound}_{name}": ([OPTIONAL, *COUNT_VALID], COUNT_INVALID)
            for name in (
                "total_followers_cnt",
                "total_digg_cnt",
                "total_views_cnt",
                "total_views_7d_cnt",
                "per_video_product_views_avg_cnt",
                "per_video_product_views_avg_7d_cnt",
            )
            for bound in ("min", "max")
        },
        "min_interaction_rate": ([OPTIONAL, *RATE_VALID], RATE_INVALID),
        "max_interaction_rate": ([OPTIONAL, *RATE_VALID], RATE_INVALID),
        "gender": ([OPTIONAL, *TEXT_VALID], TEXT_INVALID),
        "influencer_language": ([OPTIONAL, *TEXT_VALID], TEXT_INVALID),
        "show_case_flag": ([OPTIONAL, 0, 1, True, False], [2, -1, "1", 1.0, [1]]),
        "sales_flag": codes([OPTIONAL, 0, 2, 4], 4),
    },
    "videos": {
        "user_id": ([OPTIONAL, *ID_VALID], [v for v in ID_INVALID if v is not None]),
        "unique_id": ([OPTIONAL, *HANDLE_VALID], HANDLE_INVALID),
        "influencer_video_sort_field": codes([OPTIONAL, 1, 4], 4),
        "sort_type": codes([OPTIONAL, 0, 1], 1),
    },
    "ranking": {
        "date": (DATE_VALID, DATE_INVALID),
        "region": (REGION_VALID, [None, *REGION_INVALID]),
        "rank_type": ([1, 2, 3, RankType.WEEK], [None, 0, 4, True, "1", 2.0]),
        "influencer_rank_field": ([1, 2], [None, 0, 3, True, "2"]),
        "influencer_category_name": ([OPTIONAL, *TEXT_VALID], TEXT_INVALID),
        "product_category_id": ([OPTIONAL, *TEXT_VALID], TEXT_INVALID),
    },
    "livestreams": {"user_id": (ID_VALID, ID_INVALID)},
}
REQUIRED = {
    "list": {"region"},
    "videos": set(),
    "ranking": {"date", "region", "rank_type", "influencer_rank_field"},
    "livestreams": {"user_id"},
}


def paging_options(method: str) -> dict[str, tuple[list[Any], list[Any]]]:
    # limit and max_pages stay below 10**308: test_an_enormous_limit covers above.
    # (No pool here or above holds an int past 4300 digits: test_ints_past_the_str_digit_limit.)
    ceiling = endpoints.BY_METHOD[method].ceiling
    assert ceiling is not None
    bad_int = [True, False, "3", 3.0, [3], float("nan")]
    return {
        "page_size": ([1, 7, 10], [None, 0, -1, 11, 10**30, *bad_int]),
        "start_page": ([1, 2, ceiling], [None, 0, -5, ceiling + 1, 10**30, *bad_int]),
        "max_pages": ([OPTIONAL, 1, 3, 10**30], [0, -1, *bad_int]),
        "limit": ([OPTIONAL, 1, 25, 10**30], [0, -1, *bad_int]),
        "concurrency": ([1, 8, 64], [None, 0, 65, -1, *bad_int]),
    }


def cross_violations(method: str, kwargs: dict[str, Any]) -> set[str]:
    """Parameters a cross-parameter rule blames, given each value alone is valid."""
    blamed = set()
    if method == "list":
        for name, low in kwargs.items():
            high = kwargs.get("max_" + name[4:])
            if name.startswith("min_") and low is not None and high is not None and low > high:
                blamed.add(name)
    if method == "videos" and sum(kwargs.get(n) is not None for n in ("user_id", "unique_id")) != 1:
        blamed.add("user_id")
    if method == "ranking":
        day = kwargs["date"]
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
        if kwargs["rank_type"] == 2 and day.weekday() != 0:
            blamed.add("date")
        if kwargs["rank_type"] == 3 and day.day != 1:
            blamed.add("date")
    return blamed


@st.composite
def arguments(
    draw: st.DrawFn, pools: dict[str, tuple[list[Any], list[Any]]], required: set[str]
) -> tuple[dict[str, Any], set[str]]:
    """(kwargs, names given an invalid value). Optional parameters may be left out."""
    names = sorted(pools)
    refusable = [name for name in names if pools[name][1]]
    bad = draw(st.sets(st.sampled_from(refusable), max_size=3))
    kwargs: dict[str, Any] = {}
    for name in names:
        valid, invalid = pools[name]
        value = draw(st.sampled_from(invalid if name in bad else valid))
        if name in bad or name in required or value is not OPTIONAL or draw(st.booleans()):
            kwargs[name] = value
    return kwargs, bad


def _offline_client(**options: Any) -> KeyAPI:
    return KeyAPI("sk_test_offline", base_url=OFFLINE, qps=None, **options)


@pytest.mark.parametrize("method", sorted(PARAMS))
@settings(PROPERTY, max_examples=300)
@given(data=st.data())
def test_random_arguments_build_a_paginator_or_raise_invalid_parameter(
    method: str, data: st.DataObject
) -> None:
    paging = paging_options(method)
    kwargs, bad = data.draw(arguments({**PARAMS[method], **paging}, REQUIRED[method]))
    client = _offline_client()
    call = getattr(client.influencers, method)
    # The order the SDK checks in: each query parameter, then the cross-parameter rules (which
    # only make sense once every value is valid), then the paging options.
    query_bad = bad - set(paging)
    blamed = query_bad or cross_violations(method, kwargs) or bad
    if not blamed:
        pager = call(**kwargs)
        assert isinstance(pager, Paginator)
        for option in ("page_size", "start_page", "concurrency"):
            if option in kwargs:
                assert re.search(rf"\b{option}={kwargs[option]}[,)]", repr(pager)), repr(pager)
    else:
        with pytest.raises(InvalidParameterError) as caught:
            call(**kwargs)
        parameter = caught.value.parameter
        assert parameter in blamed, (parameter, blamed, kwargs)
        assert parameter in kwargs or (method, parameter) == ("videos", "user_id")
        assert str(caught.value).startswith(parameter + ": ")
    assert client.usage.requests == 0


# --- fan-out and detail --------------------------------------------------------------------

USER_IDS_VALID: list[Any] = [[UID], [UID, 7, "0"], UID, f"{UID},7", (UID,), [f" {UID} "]]
USER_IDS_INVALID: list[Any] = [
    [],
    "",
    [""],
    ["abc"],
    [None],
    [-1],
    [1.5],
    [True],
    5,
    {UID},
    {UID: 1},
]
HANDLES_VALID: list[Any] = [["bob"], ["@bob", "alice"], "bob,alice", ("é😀",)]
HANDLES_INVALID: list[Any] = [[""], ["@"], [5], 7, "", [None], ["a,b"]]


@settings(PROPERTY, max_examples=200)
@given(data=st.data())
def test_random_fan_out_arguments(data: st.DataObject) -> None:
    method = data.draw(st.sampled_from(["videos_many", "livestreams_many"]))
    pools: dict[str, tuple[list[Any], list[Any]]] = {
        "user_ids": (USER_IDS_VALID, USER_IDS_INVALID),
        "concurrency": ([1, 8, 64], [0, 65, True, "8", None]),
        # limit_per_user stays below 10**308: see test_an_enormous_limit.
        "limit_per_user": ([OPTIONAL, 1, 10**30], [0, -1, True, "5", 2.0]),
        "page_size": ([1, 10], [0, 11, True, None]),
    }
    if method == "videos_many":
        pools["influencer_video_sort_field"] = codes([OPTIONAL, 1, 4], 4)
        pools["sort_type"] = codes([OPTIONAL, 0, 1], 1)
    kwargs, bad = data.draw(arguments(pools, {"user_ids"}))
    client = _offline_client()
    call = getattr(client.influencers, method)
    if not bad:
        call(**kwargs)  # a FanOut, not started: nothing is sent until it is iterated
    else:
        with pytest.raises(InvalidParameterError) as caught:
            call(**kwargs)
        assert caught.value.parameter.split("[")[0] in bad, (caught.value, kwargs)
    assert client.usage.requests == 0


@settings(PROPERTY, max_examples=200)
@given(data=st.data())
def test_random_detail_ids_are_refused_before_sending(data: st.DataObject) -> None:
    # An empty list is fine next to IDs of the other kind; with no ID at all, user_ids is blamed,
    # unless unique_ids is the only list given (unique_ids=[] names unique_ids).
    pools = {
        "user_ids": ([OPTIONAL, [], *USER_IDS_VALID], [v for v in USER_IDS_INVALID if v != []]),
        "unique_ids": ([OPTIONAL, [], *HANDLES_VALID], HANDLES_INVALID),
    }
    kwargs, bad = data.draw(arguments(pools, set()))
    if not bad and not any(kwargs.get(name) for name in pools):
        only_handles = kwargs.get("user_ids") is None and kwargs.get("unique_ids") is not None
        bad = {"unique_ids"} if only_handles else {"user_ids"}

    async def run() -> None:
        # A closed client: a call that passes validation stops at "closed", before sending.
        client = _offline_client()
        await client.aclose()
        try:
            if bad:
                with pytest.raises(InvalidParameterError) as caught:
                    await client.influencers.detail(**kwargs)
                assert caught.value.parameter.split("[")[0] in bad, (caught.value, kwargs)
            else:
                with pytest.raises(KeyAPIError, match="closed") as refused:
                    await client.influencers.detail(**kwargs)
                assert not isinstance(refused.value, InvalidParameterError)
        finally:
            assert client.usage.requests == 0

    asyncio.run(run())


# --- KeyAPI(...) options ----------------------------------------------------------------------

CLIENT_OPTIONS: dict[str, tuple[list[Any], list[Any]]] = {
    "api_key": (
        ["sk_test_1", "k", "sk_live_0123456789abcdef"],
        [" sk", "sk ", "sk\n1", "sk\r", "sk\x00x", "sk\x7f", 5, b"sk", ["sk"]],
    ),
    # Malformed URLs (bad port, bad IPv6) are test_a_malformed_base_url below.
    "base_url": (
        [OFFLINE, "https://api.example.com", "https://api.example.com/", "http://localhost:8000"],
        ["ftp://example.com", "api.keyapi.ai", "https://", "", "http://", 5, b"https://x"],
    ),
    "qps": ([OPTIONAL, 0.5, 10, 1000, 10**30], [0, -1, float("nan"), float("inf"), True, "10"]),
    "max_retries": ([0, 4, 10**6], [-1, True, 1.5, None, "4"]),
    # Whole numbers past the float range are test_enormous_numeric_options below.
    "retry_base_delay": ([0, 0.5, 30], [-1, float("nan"), float("inf"), True, "1", None]),
    "retry_max_delay": ([0, 0.5, 30, 10**30], [-0.5, float("nan"), True, "1", None]),
    "timeout": ([0.001, 30, 10**30], [0, -1, float("nan"), float("inf"), True, "30", None]),
    "max_credits": ([OPTIONAL, 1, 10**30], [0, -1, True, 1.5, "5"]),
    "detail_batch_size": ([1, 20, 100], [0, 101, -1, True, 10.0, None]),
    "allow_insecure_http": ([True, False], []),
    "session": ([OPTIONAL], ["session", object(), 5]),
}


@settings(PROPERTY, max_examples=300)
@given(data=st.data(), limiter=st.booleans(), insecure_url=st.booleans())
def test_random_client_options(data: st.DataObject, limiter: bool, insecure_url: bool) -> None:
    kwargs, bad = data.draw(arguments(CLIENT_OPTIONS, {"api_key", "base_url"}))
    blamed = set(bad)
    if insecure_url and "base_url" not in bad:
        kwargs["base_url"] = "http://api.example.com"  # plain http off loopback
        if not kwargs.get("allow_insecure_http"):
            blamed.add("base_url")
    if limiter:
        kwargs["limiter"] = RateLimiter(5)
        if kwargs.get("qps") is not None:
            blamed.add("qps")  # the rate belongs on the limiter, even the default's value
    low, high = kwargs.get("retry_base_delay", 0.5), kwargs.get("retry_max_delay", 30.0)
    if not bad & {"retry_base_delay", "retry_max_delay"} and low > high:
        blamed.add("retry_base_delay")
    if not blamed:
        client = KeyAPI(**kwargs)
        assert client.base_url == kwargs["base_url"]
        assert client.detail_batch_size == kwargs["detail_batch_size"]
        assert client.usage.requests == 0
    else:
        with pytest.raises(InvalidParameterError) as caught:
            KeyAPI(**kwargs)
        assert caught.value.parameter in blamed, (caught.value, blamed)


# --- known bugs, pinned -------------------------------------------------------------------------

BAD_UTF8 = b'{"code":0,"message":"ok","data":[{"user_id":"\xff"}],"requestId":"r"}'


@pytest.mark.parametrize("status", [200, 500])
def test_invalid_utf8_in_a_json_string(status: int) -> None:
    with pytest.raises((ResponseDecodeError, APIStatusError)):
        e.INFLUENCER_LIST.decoder.decode(status, BAD_UTF8)


@settings(PROPERTY, max_examples=50)
@given(body=st.binary(max_size=60).map(lambda tail: b'{"code":0,"message":"' + tail + b'"}'))
@example(body=b'{"code":0,"message":"\xff"}')
def test_random_invalid_utf8_bodies(body: bytes) -> None:
    for status in (200, 500):
        with contextlib.suppress(ResponseDecodeError, APIStatusError):
            e.INFLUENCER_LIST.decoder.decode(status, body)


@pytest.fixture
async def bad_utf8_server() -> AsyncIterator[str]:
    async def handle(_: web.Request) -> web.Response:
        return web.Response(body=BAD_UTF8, content_type="application/json")

    async with serve({e.INFLUENCER_LIST.path: handle}) as url:
        yield url


async def test_invalid_utf8_reaches_the_caller_as_a_documented_error(bad_utf8_server: str) -> None:
    async with KeyAPI("k", base_url=bad_utf8_server, qps=None, max_retries=0) as client:
        with pytest.raises(KeyAPIError):
            await client.influencers.list(region="US")


def test_a_lone_surrogate_escape_is_not_retried() -> None:
    body = _encode(_envelope([{"user_id": "1", "nick_name": LONE_SURROGATE}]), True, None)
    assert b"\\ud800" in body
    with pytest.raises(ResponseDecodeError) as caught:
        e.INFLUENCER_LIST.decoder.decode(200, body)
    assert caught.value.retryable is False


def test_a_body_error_keeps_retry_after_when_data_does_not_fit() -> None:
    body = json.dumps({"code": 429, "message": "qps", "data": {}, "requestId": "r"}).encode()
    with pytest.raises(RateLimitError) as caught:
        e.INFLUENCER_LIST.decoder.decode(200, body, retry_after=5.0)
    assert caught.value.retry_after == 5.0


@pytest.mark.parametrize("where", ["list", "videos_many"])
async def test_an_enormous_limit(where: str) -> None:
    # A limit past anything a list can hold is no limit: the same items, the same requests.
    async def pull(client: KeyAPI, limit: int | None) -> list[str]:
        if where == "list":
            return [i.user_id async for i in client.influencers.list(region="US", limit=limit)]
        many = client.influencers.videos_many([user], limit_per_user=limit)
        return [f"{uid}/{v.video_id}" async for uid, v in many]

    async with FakeKeyAPI(influencers=40) as fake:
        user = str(fake.dataset.influencers[0]["user_id"])
        async with KeyAPI(fake.api_key, base_url=fake.url, qps=None) as client:
            unlimited = await pull(client, None)
            requests = len(fake.requests)
            assert unlimited
            assert await pull(client, 10**400) == unlimited
            assert len(fake.requests) == 2 * requests


@pytest.mark.parametrize(
    ("build", "parameter"),
    [
        (lambda c: c.influencers.list(region="US", start_page=10**5000), "start_page"),
        (
            lambda c: c.influencers.list(region="US", min_total_digg_cnt=10**5000),
            "min_total_digg_cnt",
        ),
        (lambda c: c.influencers.videos(user_id=10**5000), "user_id"),
        (lambda c: KeyAPI("k", base_url=OFFLINE, detail_batch_size=10**5000), "detail_batch_size"),
    ],
    ids=["start_page", "count", "user_id", "detail_batch_size"],
)
def test_ints_past_the_str_digit_limit(build: Any, parameter: str) -> None:
    # Refused by name, and described by size: str() of such an int would itself raise.
    client = _offline_client()
    with pytest.raises(InvalidParameterError) as caught:
        build(client)
    assert caught.value.parameter == parameter
    assert "an integer of 16610 bits" in str(caught.value)
    assert len(str(caught.value)) < 200
    assert client.usage.requests == 0


@pytest.mark.parametrize("option", ["timeout", "qps", "retry_max_delay", "retry_base_delay"])
def test_enormous_numeric_options(option: str) -> None:
    # Past the float range: no wait or rate can be that number, so it is refused by name, and
    # the message stays short (it describes the number instead of printing 400 digits).
    kwargs: dict[str, Any] = {option: 10**400}
    if option == "retry_base_delay":
        kwargs["retry_max_delay"] = 10**401
    with pytest.raises(InvalidParameterError) as caught:
        KeyAPI("k", base_url=OFFLINE, **kwargs)
    assert caught.value.parameter == option
    assert "finite number" in str(caught.value)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    "url",
    ["http://[::1", "http://127.0.0.1:abc", "http://127.0.0.1:99999", "https://\u202e.example"],
)
def test_a_malformed_base_url(url: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        KeyAPI("k", base_url=url, allow_insecure_http=True)
    assert caught.value.parameter == "base_url"


@pytest.mark.parametrize("key", ["sk\x00test", "sk\x7ftest", "sk\x1btest"])
def test_a_key_with_control_characters_is_refused_up_front(key: str) -> None:
    """Not only CR and LF: aiohttp refuses these in a header, so a key with one would fail every
    request with a plain ValueError. (Such keys used to be accepted here.)"""
    with pytest.raises(InvalidParameterError) as caught:
        KeyAPI(key, base_url=OFFLINE)
    assert caught.value.parameter == "api_key"
