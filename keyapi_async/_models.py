"""Typed records, one msgspec Struct per endpoint.

Attribute names are the documented field names, declared in the order the API sends them
(alphabetical, as in the docs): msgspec decodes keys that arrive in declared order fastest, about
a quarter faster here than in any other order. Every field has a default so that a record with
missing fields still decodes, and unknown fields are ignored. Decoding is lax (strict=False):
"183" and 183.0 become the int 183, "0.13" the float 0.13, "false" the bool False.

IDs stay strings. A record's own key (user_id, video_id, room_id) is a plain str; the other IDs
may be None where the API sends null (the docs' examples carry `seller_id: null`). Missing, they
read as "" (seller_id, documented nullable, as None), the same as when sent empty.

Four fields carry JSON inside a string (histograms and the best-selling categories). They are kept
raw when the page is decoded and parsed when read, so nobody pays for what nobody reads; a
malformed one reads as empty. Encoding a record writes the raw string back, so a JSON Lines file of
records decodes to equal records.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

__all__ = ["Influencer", "InfluencerDetail", "Livestream", "RankedInfluencer", "Video"]

E = TypeVar("E")
_Histogram = dict[str, int]
_CategoryList = list[dict[str, Any]]
_histogram_decoder = msgspec.json.Decoder(_Histogram, strict=False)
_category_decoder = msgspec.json.Decoder(_CategoryList, strict=False)


def _embedded(raw: Any, decoder: msgspec.json.Decoder[E], empty: E) -> E:
    """Parse JSON-in-a-string; anything malformed or of the wrong shape reads as `empty`."""
    try:
        if isinstance(raw, str):
            return decoder.decode(raw)
        if raw is not None:  # the API may one day send the object itself
            converted: E = msgspec.convert(raw, decoder.type, strict=False)
            return converted
    except msgspec.MsgspecError:
        pass
    return empty


class _Record(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """Keyword-only and immutable. gc=False: records hold only strings, numbers and decoded JSON,
    never a cycle, so the garbage collector need not track them (decoding is ~15% faster)."""


class Influencer(_Record, frozen=True):
    """One influencer from `influencers.list` (docs: influencer-list-analytics.md).

    The four JSON-in-a-string fields are parsed on every read, into a fresh value: keep the
    result if you read it in a loop.
    """

    avatar: str = ""
    avg_30d_price: float = 0.0
    category: str = ""
    contact_email: str = ""
    ec_score: float = 0.0
    first_crawl_dt: int = 0
    gender: str = ""
    influencer_video_duration_level_raw: Any = msgspec.field(
        default=None, name="influencer_video_duration_level"
    )
    influencer_video_publish_hour_raw: Any = msgspec.field(
        default=None, name="influencer_video_publish_hour"
    )
    influencer_video_publish_week_raw: Any = msgspec.field(
        default=None, name="influencer_video_publish_week"
    )
    interaction_rate: float = 0.0
    language: str = ""
    most_category_product_raw: Any = msgspec.field(default=None, name="most_category_product")
    most_views_video: str | None = ""
    nick_name: str = ""
    off_mark: int = 0
    per_video_product_views_avg_7d_cnt: int = 0
    region: str = ""
    sales_flag: int = 0
    seller_id: str | None = None
    show_case_flag: int = 0
    signature: str = ""
    total_comments_cnt: int = 0
    total_digg_1d_cnt: int = 0
    total_digg_30d_cnt: int = 0
    total_digg_7d_cnt: int = 0
    total_digg_90d_cnt: int = 0
    total_digg_cnt: int = 0
    total_followers_1d_cnt: int = 0
    total_followers_30d_cnt: int = 0
    total_followers_7d_cnt: int = 0
    total_followers_90d_cnt: int = 0
    total_followers_cnt: int = 0
    total_following_cnt: int = 0
    total_likes_cnt: int = 0  # in the examples, not in the schema
    total_live_cnt: int = 0
    total_live_sale_gmv_30d_amt: float = 0.0
    total_post_video_cnt: int = 0
    total_product_30d_cnt: int = 0
    total_product_cnt: int = 0
    total_sale_cnt: int = 0
    total_sale_gmv_30d_amt: float = 0.0
    total_sale_gmv_amt: float = 0.0
    total_shares_cnt: int = 0
    total_video_product_30d_cnt: int = 0
    total_video_sale_30d_cnt: int = 0
    total_video_sale_gmv_30d_amt: float = 0.0
    total_views_cnt: int = 0
    unique_id: str | None = ""
    user_id: str = ""

    @property
    def influencer_video_duration_level(self) -> dict[str, int]:
        """Videos per duration bucket, e.g. {"15s": 13, "15s-30s": 8}."""
        return _embedded(self.influencer_video_duration_level_raw, _histogram_decoder, {})

    @property
    def influencer_video_publish_hour(self) -> dict[str, int]:
        """Videos per hour of day, keys "00".."23"."""
        return _embedded(self.influencer_video_publish_hour_raw, _histogram_decoder, {})

    @property
    def influencer_video_publish_week(self) -> dict[str, int]:
        """Videos per weekday, keys "1".."7"."""
        return _embedded(self.influencer_video_publish_week_raw, _histogram_decoder, {})

    @property
    def most_category_product(self) -> list[dict[str, Any]]:
        """Best-selling product categories."""
        return _embedded(self.most_category_product_raw, _category_decoder, [])


class InfluencerDetail(Influencer, frozen=True):
    """One influencer from `influencers.detail`; the docs refer its fields to the list's."""


class Video(_Record, frozen=True):
    """One video from `influencers.videos` (docs: influencer-videos-analytics.md)."""

    create_time: int = 0  # documented as a string of epoch seconds
    created_by_ai: bool = False  # documented as the string "false"
    data_size: int = 0
    duration: int = 0
    height: int = 0
    ratio: str = ""
    reflow_cover: str = ""
    region: str = ""
    sales_flag: int = 0
    total_comments_cnt: int = 0
    total_digg_1d_cnt: int = 0
    total_digg_30d_cnt: int = 0
    total_digg_7d_cnt: int = 0
    total_digg_cnt: int = 0
    total_favorites_cnt: int = 0
    total_shares_cnt: int = 0
    total_video_sale_cnt: int = 0
    total_video_sale_gmv_amt: float = 0.0
    total_views_1d_cnt: int = 0
    total_views_30d_cnt: int = 0
    total_views_7d_cnt: int = 0
    total_views_cnt: int = 0
    unique_id: str | None = ""
    user_id: str | None = ""
    video_desc: str = ""
    video_id: str = ""
    width: int = 0


class RankedInfluencer(_Record, frozen=True):
    """One row of `influencers.ranking` (docs: influencer-ranking-analytics.md).

    The plain counts cover the ranking period; the *_history_* ones are all-time totals.
    """

    avatar: str = ""
    category: str = ""
    ec_score: float = 0.0
    most_category_id: str | None = ""
    most_category_l2_id: str | None = ""
    most_category_l3_id: str | None = ""
    nick_name: str = ""
    product_category_list: str = ""
    region: str = ""
    sales_flag: int = 0
    total_digg_cnt: int = 0
    total_digg_history_cnt: int = 0
    total_followers_cnt: int = 0
    total_followers_history_cnt: int = 0
    total_live_cnt: int = 0
    total_live_history_cnt: int = 0
    total_post_video_cnt: int = 0
    total_post_video_history_cnt: int = 0
    total_product_cnt: int = 0
    total_product_history_cnt: int = 0
    total_sale_cnt: int = 0
    total_sale_gmv_amt: float = 0.0
    total_sale_gmv_history_amt: float = 0.0
    total_sale_history_cnt: int = 0
    unique_id: str | None = ""
    user_id: str = ""


class Livestream(_Record, frozen=True):
    """A past live session (docs: influencer-livestreams-analytics.md)."""

    cover_url: str = ""
    create_time: int = 0
    duration: int = 0
    finish_time: int = 0
    nick_name: str = ""
    region: str = ""
    room_id: str = ""
    title: str = ""
    total_comments_cnt: int = 0
    total_digg_cnt: int = 0
    total_followers_cnt: int = 0
    total_joins_cnt: int = 0
    total_product_cnt: int = 0
    total_sale_cnt: int = 0
    total_sale_gmv_amt: float = 0.0
    total_views_cnt: int = 0
    user_id: str | None = ""
