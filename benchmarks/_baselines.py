"""The baselines of benchmark 4, each doing the SDK's work with its own tool (like with like).

Every baseline parses the four JSON-in-a-string fields after (or while) decoding the page, a
malformed one reading as empty and seller_id's null as "", as the SDK's records do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
import pydantic

from ._common import _FIELDS

HISTOGRAMS = (
    "influencer_video_duration_level",
    "influencer_video_publish_hour",
    "influencer_video_publish_week",
)
CATEGORIES = "most_category_product"
_hist = msgspec.json.Decoder(dict[str, int], strict=False)
_cats = msgspec.json.Decoder(list[dict[str, Any]], strict=False)


def _or_empty(decode: Callable[[Any], Any], value: Any, empty: type) -> Any:
    """Parse JSON text; malformed, or of another shape, reads as empty (as in the SDK)."""
    try:
        parsed = decode(value) if isinstance(value, str) and value else empty()
    except ValueError:  # msgspec.DecodeError and json.JSONDecodeError are ValueErrors
        return empty()
    return parsed if isinstance(parsed, empty) else empty()


def _parse_struct_fields(records: list[Any]) -> None:
    """What the SDK does after decoding, as plainly as msgspec allows: parse the four fields."""
    for r in records:
        if r.seller_id is None:  # no linked shop: "" in the SDK
            r.seller_id = ""
        r.influencer_video_duration_level = _or_empty(
            _hist.decode, r.influencer_video_duration_level, dict
        )
        r.influencer_video_publish_hour = _or_empty(
            _hist.decode, r.influencer_video_publish_hour, dict
        )
        r.influencer_video_publish_week = _or_empty(
            _hist.decode, r.influencer_video_publish_week, dict
        )
        r.most_category_product = _or_empty(_cats.decode, r.most_category_product, list)


def with_fields_parsed(
    decode: Callable[[bytes], Any], loads: Callable[[Any], Any]
) -> Callable[[bytes], Any]:
    """A decoder to Python dicts, then the four fields parsed with the same parser."""

    def run(body: bytes) -> Any:
        page = decode(body)
        for r in page["data"]:
            if r.get("seller_id", "") is None:
                r["seller_id"] = ""
            for name in HISTOGRAMS:
                if name in r:
                    r[name] = _or_empty(loads, r[name], dict)
            if CATEGORIES in r:
                r[CATEGORIES] = _or_empty(loads, r[CATEGORIES], list)
        return page

    return run


def struct_with_fields_parsed(decoder: Any) -> Callable[[bytes], Any]:
    def run(body: bytes) -> Any:
        page = decoder.decode(body)
        _parse_struct_fields(page.data)
        return page

    return run


def _json_or_empty(empty: type) -> Any:
    """pydantic's JSON-in-a-string field; malformed reads as empty, as in the SDK."""

    def validate(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except pydantic.ValidationError:
            return empty()

    return pydantic.WrapValidator(validate)


def pydantic_decoder() -> Callable[[bytes], Any]:
    # The same fields and defaults; lax mode converts "183" to 183. IDs are always strings here.
    fields: dict[str, Any] = {name: (kind, default) for name, kind, default in _FIELDS}
    for name in HISTOGRAMS:
        fields[name] = (Annotated[pydantic.Json[dict[str, int]], _json_or_empty(dict)], {})
    fields[CATEGORIES] = (Annotated[pydantic.Json[list[dict[str, Any]]], _json_or_empty(list)], [])
    no_shop = pydantic.BeforeValidator(lambda v: "" if v is None else v)
    fields["seller_id"] = (Annotated[str, no_shop], "")
    model: Any = pydantic.create_model("PydanticInfluencer", **fields)

    class Envelope(pydantic.BaseModel):
        code: int
        message: str | None = ""
        data: list[model] | None = None
        requestId: str | None = None

    adapter = pydantic.TypeAdapter(Envelope)
    return adapter.validate_json


def wire_ordered_decoder(clean: bytes) -> Callable[[bytes], Any]:
    """The bare Struct with its fields declared in the order the server sends them.

    msgspec matches each key against the field it expects next, so keys arriving in declared
    order decode fastest; this shows what the SDK's field order costs. Not judged.
    """
    wire = {name: n for n, name in enumerate(json.loads(clean)["data"][0])}
    fields = sorted(_FIELDS, key=lambda f: wire.get(f[0], len(wire)))
    record: Any = msgspec.defstruct("WireOrderInfluencer", fields)
    envelope = msgspec.defstruct(
        "WireOrderEnvelope",
        [
            ("code", int),
            ("message", str | None, ""),
            ("data", list[record] | None, None),
            ("requestId", str | None, None),
        ],
    )
    return struct_with_fields_parsed(msgspec.json.Decoder(envelope, strict=False))
