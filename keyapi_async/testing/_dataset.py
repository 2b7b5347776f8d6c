"""Deterministic generated dataset behind the fake API.

Canonical records are plain dicts keyed by the documented field names and hold the
typed values an SDK must end up with (see `_schema` for each field's kind). Videos,
livestreams and rankings are generated on first use and cached, so a large dataset
starts quickly.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable, Mapping

from . import _documented as documented
from . import _params as p
from ._people import Hidden, Record, make_ids, make_influencer
from ._records import make_livestreams, make_ranking_rows, make_videos
from ._render import Renderer

__all__ = ["Dataset", "Record"]

_Getter = Callable[[Record, Hidden], float]


def _field(name: str) -> _Getter:
    def get(rec: Record, _: Hidden) -> float:
        value = rec[name]
        assert isinstance(value, (int, float))
        return value

    return get


def _hidden(name: str) -> _Getter:
    def get(_: Record, h: Hidden) -> float:
        value = getattr(h, name)
        assert isinstance(value, int)
        return value

    return get


# min_X / max_X range filters on the list endpoint (inclusive bounds).
_RANGES: dict[str, tuple[_Getter, bool]] = {
    "total_followers_cnt": (_field("total_followers_cnt"), False),
    "total_digg_cnt": (_field("total_digg_cnt"), False),
    "interaction_rate": (_field("interaction_rate"), True),
    "total_views_cnt": (_field("total_views_cnt"), False),
    "total_views_7d_cnt": (_hidden("total_views_7d_cnt"), False),
    "per_video_product_views_avg_cnt": (_hidden("per_video_product_views_avg_cnt"), False),
    "per_video_product_views_avg_7d_cnt": (_field("per_video_product_views_avg_7d_cnt"), False),
}
# influencer_sort_field_v2 1..6; 0 is the default order (user_id ascending).
_LIST_SORTS: dict[int, _Getter] = {
    1: _field("total_followers_cnt"),
    2: _field("total_followers_30d_cnt"),
    3: _field("total_post_video_cnt"),
    4: _hidden("per_views_avg_cnt"),
    5: _field("interaction_rate"),
    6: _field("total_product_cnt"),
}
# influencer_video_sort_field 1..4
_VIDEO_SORTS = {
    1: "total_views_cnt",
    2: "total_video_sale_cnt",
    3: "total_video_sale_gmv_amt",
    4: "create_time",
}
_RANK_FIELDS = {1: "total_followers_cnt", 2: "total_sale_cnt"}
_CACHE_SIZE = 256


class Dataset:
    """Influencers plus lazily generated videos, livestreams and rankings.

    `influencers` generated ones, plus the influencers of the reference pages' examples
    (`documented_user_ids`), so the documented examples return data.
    """

    documented_user_ids = documented.USER_IDS

    def __init__(self, seed: int = 0, influencers: int = 300, *, drift: bool = True) -> None:
        self.seed = seed
        self.generated = influencers
        self.drift = drift
        self.renderer = Renderer(seed, drift=drift)
        rng = random.Random(seed)
        people = [make_influencer(rng, *ids) for ids in make_ids(rng, influencers)]
        # The reference pages' examples too, so every documented example returns data.
        people += documented.documented_people(seed)
        people.sort(key=lambda pair: pair[1].uid_int)
        self._people = people
        self.influencers: list[Record] = [rec for rec, _ in people]
        self._hid: dict[str, Hidden] = {str(rec["user_id"]): h for rec, h in people}
        self._by_uid: dict[str, Record] = {str(rec["user_id"]): rec for rec in self.influencers}
        self._by_handle: dict[str, Record] = {
            str(rec["unique_id"]): rec for rec in self.influencers
        }
        self._videos: dict[str, list[Record]] = {}
        self._lives: dict[str, list[Record]] = {}
        self._rank_rows: dict[tuple[str, int], list[tuple[Record, Hidden]]] = {}
        self._queries: OrderedDict[tuple[object, ...], list[Record]] = OrderedDict()

    def __repr__(self) -> str:
        return f"Dataset(seed={self.seed}, influencers={self.generated}, drift={self.drift})"

    # --- lookups -------------------------------------------------------------------

    def by_user_id(self, user_id: str) -> Record | None:
        return self._by_uid.get(user_id)

    def by_unique_id(self, unique_id: str) -> Record | None:
        return self._by_handle.get(unique_id)

    def hidden(self, user_id: str) -> Hidden:
        """Metrics the API filters/sorts on but never returns (total_views_7d_cnt, ...)."""
        return self._hid[user_id]

    # --- list ----------------------------------------------------------------------

    def query_influencers(self, params: Mapping[str, str]) -> list[Record]:
        """The list endpoint's filtered, sorted result (before paging).

        Raises `ParamError` for bad parameters. Sorting breaks ties by user_id ascending;
        sort field 0 (or absent) means user_id ascending whatever sort_type says.
        """
        region = p.req_str(params, "region")
        sort_field = p.opt_int(params, "influencer_sort_field_v2", 0, 6) or 0
        desc = p.opt_int(params, "sort_type", 0, 1) == 1
        ranges: list[tuple[str, float | None, float | None]] = []
        for name, (_, is_float) in _RANGES.items():
            parse = p.opt_float if is_float else p.opt_int
            lo, hi = parse(params, f"min_{name}"), parse(params, f"max_{name}")
            if lo is not None or hi is not None:
                ranges.append((name, lo, hi))
        equals: list[tuple[str, object]] = []
        for name in ("gender", "influencer_language", "influencer_category_name"):
            value = p.opt_str(params, name)
            if value is not None:
                equals.append((name, value))
        for name, hi in (("show_case_flag", 1), ("sales_flag", 4)):
            flag = p.opt_int(params, name, 0, hi)
            if flag is not None:
                equals.append((name, flag))
        product = p.opt_str(params, "product_category_id")

        key = (region, sort_field, desc, tuple(ranges), tuple(equals), product)
        cached = self._recall(key)
        if cached is None:
            cached = self._filter_sort(region, sort_field, desc, ranges, equals, product)
            self._remember(key, cached)
        return list(cached)  # a copy: callers may mutate, the cache must not change

    def _recall(self, key: tuple[object, ...]) -> list[Record] | None:
        cached = self._queries.get(key)
        if cached is not None:
            self._queries.move_to_end(key)
        return cached

    def _remember(self, key: tuple[object, ...], rows: list[Record]) -> None:
        self._queries[key] = rows
        if len(self._queries) > _CACHE_SIZE:
            self._queries.popitem(last=False)

    def _filter_sort(
        self,
        region: str,
        sort_field: int,
        desc: bool,
        ranges: list[tuple[str, float | None, float | None]],
        equals: list[tuple[str, object]],
        product: str | None,
    ) -> list[Record]:
        rename = {"influencer_language": "language", "influencer_category_name": "category"}
        checks = [(rename.get(name, name), value) for name, value in equals]
        getters = [(_RANGES[name][0], lo, hi) for name, lo, hi in ranges]
        rows: list[tuple[Record, Hidden]] = []
        for rec, h in self._people:
            if rec["region"] != region or any(rec[f] != v for f, v in checks):
                continue
            if product is not None and not any(product in tr for tr in h.triples):
                continue
            if any(
                (lo is not None and get(rec, h) < lo) or (hi is not None and get(rec, h) > hi)
                for get, lo, hi in getters
            ):
                continue
            rows.append((rec, h))
        if sort_field:
            get = _LIST_SORTS[sort_field]
            sign = -1 if desc else 1
            rows.sort(key=lambda pair: (sign * get(*pair), pair[1].uid_int))
        return [rec for rec, _ in rows]

    # --- videos & livestreams ------------------------------------------------------

    def videos(
        self, user_id: str, sort_field: int | None = None, sort_type: int | None = None
    ) -> list[Record]:
        """A user's videos; default newest first, else by the field (ties: video_id asc).

        Unknown users have no videos.
        """
        cached = self._videos.get(user_id)
        if cached is None:
            rec = self._by_uid.get(user_id)
            if rec is None:
                return []
            made = make_videos(self.seed, rec, self._hid[user_id])
            cached = self._videos[user_id] = documented.with_documented_video(user_id, made)
        if not sort_field:
            return list(cached)
        name = _VIDEO_SORTS[sort_field]
        sign = -1 if sort_type == 1 else 1

        def key(v: Record) -> tuple[float, int]:
            value = v[name]
            assert isinstance(value, (int, float))
            return sign * value, int(str(v["video_id"]))

        return sorted(cached, key=key)

    def livestreams(self, user_id: str) -> list[Record]:
        """A user's livestreams, newest first; unknown users have none."""
        cached = self._lives.get(user_id)
        if cached is None:
            rec = self._by_uid.get(user_id)
            if rec is None:
                return []
            made = make_livestreams(self.seed, rec, self._hid[user_id])
            cached = self._lives[user_id] = documented.with_documented_livestream(user_id, made)
        return list(cached)

    # --- ranking -------------------------------------------------------------------

    def ranking(
        self,
        date: str,
        region: str,
        rank_type: int,
        rank_field: int,
        category: str | None = None,
        product_category_id: str | None = None,
    ) -> list[Record]:
        """Rows active in the period with a positive rank value, highest first.

        Values are seeded by (seed, date, rank_type); ties break by user_id ascending.
        """
        qkey = ("ranking", date, region, rank_type, rank_field, category, product_category_id)
        cached = self._recall(qkey)
        if cached is None:
            cached = self._rank(date, region, rank_type, rank_field, category, product_category_id)
            self._remember(qkey, cached)
        return list(cached)

    def _with_documented_row(
        self, rows: list[tuple[Record, Hidden]]
    ) -> list[tuple[Record, Hidden]]:
        """The ranking page's example row ranks in every period."""
        row = documented.documented_ranking_row()
        uid = str(row["user_id"])
        return [pair for pair in rows if pair[0]["user_id"] != uid] + [(row, self._hid[uid])]

    def _rank(
        self,
        date: str,
        region: str,
        rank_type: int,
        rank_field: int,
        category: str | None,
        product_category_id: str | None,
    ) -> list[Record]:
        key = (date, rank_type)
        rows = self._rank_rows.get(key)
        if rows is None:
            rows = make_ranking_rows(self.seed, date, rank_type, self._people)
            rows = self._rank_rows[key] = self._with_documented_row(rows)
        name = _RANK_FIELDS[rank_field]

        def value(row: Record) -> int:
            v = row[name]
            assert isinstance(v, int)
            return v

        picked = [
            (row, h)
            for row, h in rows
            if row["region"] == region
            and value(row) > 0
            and (category is None or row["category"] == category)
            and (product_category_id is None or any(product_category_id in tr for tr in h.triples))
        ]
        picked.sort(key=lambda pair: (-value(pair[0]), pair[1].uid_int))
        return [row for row, _ in picked]
