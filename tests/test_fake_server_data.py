"""Tests of the fake KeyAPI's dataset and of its drift rules."""

from __future__ import annotations

import json
from collections.abc import Callable

import aiohttp
import pytest

from keyapi_async.testing import FakeKeyAPI
from keyapi_async.testing import _schema as schema
from keyapi_async.testing._dataset import Dataset
from keyapi_async.testing._render import Renderer, canonical

from . import endpoints
from .fake_http import Json, all_pages

LIST = endpoints.LIST.path
VIDEOS = endpoints.VIDEOS.path


# --- dataset and drift ----------------------------------------------------------------------


def test_dataset_is_deterministic_and_shaped_like_the_api() -> None:
    assert (
        Dataset(seed=1, influencers=50).influencers == Dataset(seed=1, influencers=50).influencers
    )
    assert (
        Dataset(seed=1, influencers=50).influencers != Dataset(seed=2, influencers=50).influencers
    )
    big = Dataset(influencers=5000)  # its build time is not a test's business (benchmarks/)
    documented = set(big.documented_user_ids)
    generated = [r for r in big.influencers if r["user_id"] not in documented]
    regions = [r["region"] for r in generated]
    assert regions.count("US") / len(regions) >= 0.6
    assert len(set(regions)) == 5
    assert all(17 <= len(r["user_id"]) - 1 <= 18 for r in generated)
    uids = [int(r["user_id"]) for r in big.influencers]
    assert uids == sorted(uids)
    assert len(set(uids)) == 5000 + len(documented)
    assert documented <= {r["user_id"] for r in big.influencers}


def test_canonical_records_have_every_field_with_its_type() -> None:
    ds = Dataset(influencers=80)
    types = {
        "int": int,
        "float": float,
        "str": str,
        "bool": bool,
        "json_dict": dict,
        "json_list": list,
    }
    uid = ds.influencers[0]["user_id"]
    samples = [
        (schema.INFLUENCER, ds.influencers),
        (schema.VIDEO, [v for r in ds.influencers for v in ds.videos(r["user_id"])]),
        (schema.LIVESTREAM, [v for r in ds.influencers for v in ds.livestreams(r["user_id"])]),
        (schema.RANKING, ds.ranking("2025-02-01", "US", 3, 1)),
    ]
    for kinds, records in samples:
        assert records, kinds
        for rec in records:
            assert set(rec) == set(kinds)
            for name, kind in kinds.items():
                value = rec[name]
                want = (str, type(None)) if kind == "opt_str" else types[kind]
                assert isinstance(value, want), name
                assert kind != "int" or type(value) is int, name
    assert set(schema.DETAIL_FIELDS) <= set(ds.influencers[0])
    assert uid


async def test_drifted_records_decode_to_canonical(session: aiohttp.ClientSession) -> None:
    async with FakeKeyAPI(influencers=300) as api:
        ds = api.dataset
        wire = await all_pages(session, api, LIST, region="US")
        canon = [ds.by_user_id(w["user_id"]) for w in wire]
        assert [canonical(schema.INFLUENCER, w) for w in wire] == canon
        clean = Renderer(0, drift=False)
        drifted = [
            w
            for w, c in zip(wire, canon, strict=True)
            if c and w != clean.wire(c, schema.INFLUENCER, "")
        ]
        assert 0.15 < len(drifted) / len(wire) < 0.45

        def some(pred: Callable[[Json], bool]) -> bool:
            return any(pred(w) for w in drifted)

        assert some(lambda w: isinstance(w.get("total_followers_cnt"), str))
        assert some(lambda w: isinstance(w.get("total_digg_cnt"), float))
        assert some(lambda w: isinstance(w.get("interaction_rate"), str))
        assert some(lambda w: bool(set(w) - set(schema.INFLUENCER)))  # unknown extras
        assert some(lambda w: bool(set(schema.INFLUENCER) - set(w)))  # defaults left out
        assert some(lambda w: w.get("influencer_video_publish_week") in ('{"15s":', '{"2m":0,', ""))
        assert any(w["seller_id"] is None for w in wire)
        uid = next(r["user_id"] for r in ds.influencers if ds.hidden(r["user_id"]).n_videos > 30)
        videos = await all_pages(session, api, VIDEOS, user_id=uid)
        assert all(
            isinstance(v["create_time"], str) and isinstance(v["height"], str) for v in videos
        )
        assert {v.get("created_by_ai", "false") for v in videos} <= {"true", "false"}
        assert [canonical(schema.VIDEO, v) for v in videos] == ds.videos(uid)


async def test_clean_rendering_equals_canonical(session: aiohttp.ClientSession) -> None:
    async with FakeKeyAPI(drift=False) as api:
        wire = await all_pages(session, api, LIST, region="US")
        ds = api.dataset
        for w in wire:
            rec = ds.by_user_id(w["user_id"])
            assert rec is not None
            assert set(w) == set(schema.INFLUENCER)
            parsed = {
                k: json.loads(v) if schema.INFLUENCER[k].startswith("json") else v
                for k, v in w.items()
            }
            if rec["seller_id"] == "":  # no shop: sent as null, as the docs show
                assert parsed["seller_id"] is None
                parsed["seller_id"] = ""
            assert parsed == rec
            assert all(type(parsed[k]) is type(rec[k]) for k in rec)
        uid = next(r["user_id"] for r in ds.influencers if ds.hidden(r["user_id"]).n_videos)
        videos = await all_pages(session, api, VIDEOS, user_id=uid)
        assert videos == ds.videos(uid)


def test_canonical_rejects_what_no_drift_rule_explains() -> None:
    kinds = {"n": "int", "h": "json_dict", "b": "bool", "s": "opt_str"}
    got = canonical(kinds, {"n": "7", "h": '{"15s":', "b": "true", "x_new": 1})
    assert got == {"n": 7, "h": {}, "b": True, "s": ""}
    # Gaps: null and "" are the default, a fraction rounds, bad buckets drop, null is "".
    gaps = {"n": 182.6, "h": '{"15s": 3.2, "?": null, "x": [1]}', "s": None}
    assert canonical(kinds, gaps) == {"n": 183, "h": {"15s": 3}, "b": False, "s": ""}
    assert canonical(kinds, {"n": None})["n"] == canonical(kinds, {"n": ""})["n"] == 0
    for bad in ({"n": [1]}, {"n": True}, {"b": 1}, {"s": 3}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            canonical(kinds, bad)
