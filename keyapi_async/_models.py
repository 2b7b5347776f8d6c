"""Typed records, one msgspec Struct per endpoint.

Attribute names are the documented field names, declared in the order the API sends them
(alphabetical, as in the docs): msgspec decodes keys that arrive in declared order fastest, about
a quarter faster here than in any other order. Every field has a default so that a record with
missing fields still decodes, and unknown fields are ignored. Decoding is lax (strict=False):
"183" and 183.0 become the int 183, "0.13" the float 0.13, "false" the bool False. What the
typed decoder cannot take is repaired before the record is built (keyapi_async._repair): null
and "" read as the field's default in every field, a fraction in a count rounds to the nearest
int, and an ID sent as a number becomes its exact string.

IDs are plain strings, "" when the API sends null or nothing: test one with `if record.seller_id:`.
Counts are int; amounts, scores, rates and averages are float.

Four fields carry JSON inside a string (histograms and the best-selling categories). Records hold
them parsed, as read-only dicts and lists (keyapi_async._embedded), so a record prints, compares
and encodes with the documented names and real values, and a JSON Lines file of records decodes
to equal records. A malformed one reads as empty; one bad bucket drops that bucket only.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from . import _embedded

if TYPE_CHECKING:
    from ._embedded import Categories, Histogram

    NullAsEmpty = str
else:
    # What the attribute holds (above) and what msgspec takes off the wire differ here, and
    # __post_init__ turns the one into the other. The histograms arrive as JSON text (docs:
    # influencer-list-analytics.md, `type: string`), in a JSON Lines file as the object.
    Categories = Histogram = Any
    # seller_id is null on most records (docs: `seller_id: null`): taken on the fast path.
    NullAsEmpty = str | None

__all__ = ["Influencer", "InfluencerDetail", "Livestream", "RankedInfluencer", "Video"]

_force = msgspec.structs.force_setattr
# A float JSON can carry: "inf" or "nan" sent as text would be lost on the way back out (JSON has
# no such number), so they do not fit and are refused naming the field.
Amount = Annotated[float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max)]
_Histogram = _embedded.Histogram
_Categories = _embedded.Categories
_as_histogram = _embedded.histogram
_as_categories = _embedded.categories


class _Record(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """Keyword-only and immutable. gc=False: records hold only strings, numbers and read-only
    parsed JSON, so no cycle can form and the garbage collector need not track them (decoding is
    ~15% faster)."""


class Influencer(_Record, frozen=True):
    """One influencer from `influencers.list` (docs: influencer-list-analytics.md).

    `seller_id` is the linked shop's ID, "" for none (the API sends null): `if record.seller_id:`.
    The histograms and `most_category_product` are parsed, read-only dicts and lists.
    """

    avatar: str = ""
    avg_30d_price: Amount = 0.0
    category: str = ""
    contact_email: str = ""
    ec_score: Amount = 0.0
    first_crawl_dt: int = 0
    gender: str = ""
    influencer_video_duration_level: Histogram = _embedded.EMPTY_HISTOGRAM  # {"15s": 13, ...}
    influencer_video_publish_hour: Histogram = _embedded.EMPTY_HISTOGRAM  # keys "00".."23"
    influencer_video_publish_week: Histogram = _embedded.EMPTY_HISTOGRAM  # keys "1".."7"
    interaction_rate: Amount = 0.0
    language: str = ""
    most_category_product: Categories = _embedded.EMPTY_CATEGORIES
    most_views_video: str = ""  # a video ID
    nick_name: str = ""
    off_mark: int = 0
    per_video_product_views_avg_7d_cnt: Amount = 0.0  # an average (docs' title), though *_cnt
    region: str = ""
    sales_flag: int = 0
    seller_id: NullAsEmpty = ""  # "" for no linked shop
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
    total_live_sale_gmv_30d_amt: Amount = 0.0
    total_post_video_cnt: int = 0
    total_product_30d_cnt: int = 0
    total_product_cnt: int = 0
    total_sale_cnt: int = 0
    total_sale_gmv_30d_amt: Amount = 0.0
    total_sale_gmv_amt: Amount = 0.0
    total_shares_cnt: int = 0
    total_video_product_30d_cnt: int = 0
    total_video_sale_30d_cnt: int = 0
    total_video_sale_gmv_30d_amt: Amount = 0.0
    total_views_cnt: int = 0
    unique_id: str = ""
    user_id: str = ""

    def __post_init__(self) -> None:
        # Runs for every record decoded (msgspec calls it), so it stays flat and cheap; a value
        # already parsed (a record built from parsed values, or copied) is left alone.
        value: Any = self.influencer_video_duration_level
        if type(value) is not _Histogram:
            _force(self, "influencer_video_duration_level", _as_histogram(value))
        value = self.influencer_video_publish_hour
        if type(value) is not _Histogram:
            _force(self, "influencer_video_publish_hour", _as_histogram(value))
        value = self.influencer_video_publish_week
        if type(value) is not _Histogram:
            _force(self, "influencer_video_publish_week", _as_histogram(value))
        value = self.most_category_product
        if type(value) is not _Categories:
            _force(self, "most_category_product", _as_categories(value))
        if self.seller_id is None:
            _force(self, "seller_id", "")


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
    total_video_sale_gmv_amt: Amount = 0.0
    total_views_1d_cnt: int = 0
    total_views_30d_cnt: int = 0
    total_views_7d_cnt: int = 0
    total_views_cnt: int = 0
    unique_id: str = ""
    user_id: str = ""
    video_desc: str = ""
    video_id: str = ""
    width: int = 0


class RankedInfluencer(_Record, frozen=True):
    """One row of `influencers.ranking` (docs: influencer-ranking-analytics.md).

    The plain counts cover the ranking period; the *_history_* ones are all-time totals.
    """

    avatar: str = ""
    category: str = ""
    ec_score: Amount = 0.0
    most_category_id: str = ""
    most_category_l2_id: str = ""
    most_category_l3_id: str = ""
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
    total_sale_gmv_amt: Amount = 0.0
    total_sale_gmv_history_amt: Amount = 0.0
    total_sale_history_cnt: int = 0
    unique_id: str = ""
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
    total_sale_gmv_amt: Amount = 0.0
    total_views_cnt: int = 0
    user_id: str = ""
