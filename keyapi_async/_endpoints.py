"""The endpoints, declared once each: path, parameters, model, page ceiling.

The generic machinery (validation, requests, paging) serves whatever is declared here. A new
endpoint is one declaration below plus a thin typed method in _resources.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from . import _params as p
from ._decode import ResponseDecoder
from ._errors import InvalidParameterError
from ._models import Influencer, InfluencerDetail, Livestream, RankedInfluencer, Video

T = TypeVar("T")
Check = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class Param:
    validate: p.Validator
    required: bool = False


@dataclass(frozen=True)
class Endpoint(Generic[T]):
    name: str  # what caches and logs call it: "list", "detail", ...
    path: str
    model: type[T]
    params: Mapping[str, Param]
    max_page: int | None = None  # None: not paginated
    checks: tuple[Check, ...] = ()
    decoder: ResponseDecoder[T] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "decoder", ResponseDecoder(self.model))

    def query(self, args: Mapping[str, Any]) -> dict[str, str]:
        """Validate the arguments and build the query. Unset (None) parameters are not sent."""
        unknown = sorted(set(args) - set(self.params))
        if unknown:
            allowed = ", ".join(self.params)
            raise InvalidParameterError(unknown[0], f"is not a parameter of {self.path}: {allowed}")
        query: dict[str, str] = {}
        for name, param in self.params.items():
            value = args.get(name)
            if value is None:
                if param.required:
                    raise InvalidParameterError(name, "is required")
                continue
            query[name] = param.validate(name, value)
        for check in self.checks:
            check(args)
        return query


def _ordered_ranges(args: Mapping[str, Any]) -> None:
    for name, low in args.items():
        if name.startswith("min_") and low is not None:
            high = args.get("max_" + name[4:])
            if high is not None and low > high:
                raise InvalidParameterError(name, f"must be <= max_{name[4:]} ({low} > {high})")


def _one_user(args: Mapping[str, Any]) -> None:
    given = [n for n in ("user_id", "unique_id") if args.get(n) is not None]
    if len(given) != 1:
        raise InvalidParameterError(
            "user_id", "pass exactly one of user_id or unique_id" + (", not both" if given else "")
        )


def _ranking_date(args: Mapping[str, Any]) -> None:
    # Weekly rankings are Mondays, monthly ones the 1st (docs: influencer-ranking-analytics.md)
    day = p.parse_date("date", args["date"])
    # A day after today in UTC has not ended in any time zone: its ranking cannot exist yet, and
    # asking could only buy an empty page. (Today in UTC may have ended east of UTC.)
    today = dt.datetime.now(dt.timezone.utc).date()
    if day > today:
        raise InvalidParameterError(
            "date", f"{day} is in the future (today is {today} in UTC): no ranking exists for it"
        )
    rank_type = args.get("rank_type")
    if rank_type == p.RankType.WEEK and day.weekday() != 0:
        raise InvalidParameterError(
            "date", f"a weekly ranking (rank_type=2) needs a Monday, got {day}"
        )
    if rank_type == p.RankType.MONTH and day.day != 1:
        raise InvalidParameterError(
            "date", f"a monthly ranking (rank_type=3) needs the first of a month, got {day}"
        )


_COUNT = Param(p.integer(0))
_RATE = Param(p.number)
_SORT_TYPE = Param(p.code(p.SortType))
_TEXT = Param(p.text)

INFLUENCER_LIST = Endpoint(
    name="list",
    path="/v1/tiktok/influencer/list/analytics",
    model=Influencer,
    max_page=10_000,  # "page numbers start from 1 and go up to 10000"
    params={
        "region": Param(p.region, required=True),
        "product_category_id": _TEXT,
        "influencer_category_name": _TEXT,
        "influencer_sort_field_v2": Param(p.code(p.InfluencerSortField)),
        "sort_type": _SORT_TYPE,
        "min_total_followers_cnt": _COUNT,
        "max_total_followers_cnt": _COUNT,
        "min_total_digg_cnt": _COUNT,
        "max_total_digg_cnt": _COUNT,
        "min_interaction_rate": _RATE,
        "max_interaction_rate": _RATE,
        "min_total_views_cnt": _COUNT,
        "max_total_views_cnt": _COUNT,
        "min_total_views_7d_cnt": _COUNT,
        "max_total_views_7d_cnt": _COUNT,
        "min_per_video_product_views_avg_cnt": _COUNT,
        "max_per_video_product_views_avg_cnt": _COUNT,
        "min_per_video_product_views_avg_7d_cnt": _COUNT,
        "max_per_video_product_views_avg_7d_cnt": _COUNT,
        "gender": _TEXT,
        "influencer_language": _TEXT,
        "show_case_flag": Param(p.flag),
        "sales_flag": Param(p.code(p.SalesFlag)),
    },
    checks=(_ordered_ranges,),
)

INFLUENCER_DETAIL = Endpoint(
    name="detail",
    path="/v1/tiktok/influencer/detail/analytics",
    model=InfluencerDetail,
    # The lists are validated and split into batches by influencers.detail.
    params={"user_ids": _TEXT, "unique_ids": _TEXT},
)

INFLUENCER_VIDEOS = Endpoint(
    name="videos",
    path="/v1/tiktok/influencer/videos/analytics",
    model=Video,
    max_page=100_000,
    params={
        "user_id": Param(p.numeric_id),
        "unique_id": Param(p.handle),
        "influencer_video_sort_field": Param(p.code(p.VideoSortField)),
        "sort_type": _SORT_TYPE,
    },
    checks=(_one_user,),
)

INFLUENCER_RANKING = Endpoint(
    name="ranking",
    path="/v1/tiktok/influencer/ranking/analytics",
    model=RankedInfluencer,
    max_page=100_000,
    params={
        "date": Param(p.date, required=True),
        "region": Param(p.region, required=True),
        "rank_type": Param(p.code(p.RankType), required=True),
        "influencer_rank_field": Param(p.code(p.RankField), required=True),
        "influencer_category_name": _TEXT,
        "product_category_id": _TEXT,
    },
    checks=(_ranking_date,),
)

INFLUENCER_LIVESTREAMS = Endpoint(
    name="livestreams",
    path="/v1/tiktok/influencer/livestreams/analytics",
    model=Livestream,
    max_page=100_000,
    params={"user_id": Param(p.numeric_id, required=True)},
)

# Every declaration above, by name: what caches and hooks know the endpoints by. A new
# endpoint is found here by itself (no list to keep in step).
DECLARED: dict[str, Endpoint[Any]] = {
    value.name: value for value in tuple(globals().values()) if isinstance(value, Endpoint)
}
_BY_MODEL: dict[type[Any], Endpoint[Any]] = {e.model: e for e in DECLARED.values()}


def decode_records(body: bytes, *, model: type[T]) -> list[T]:
    """The records of one answer body (as the API sent it, or as a cache or a file kept it),
    decoded exactly as the client decodes them; an error answer raises its typed error."""
    endpoint = _BY_MODEL.get(model)
    if endpoint is None:
        names = ", ".join(m.__name__ for m in _BY_MODEL)
        raise InvalidParameterError("model", f"must be one of {names}, got {model!r}")
    records: list[T] = endpoint.decoder.decode(200, body)[0]
    return records
