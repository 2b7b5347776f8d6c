"""Field lists of each endpoint's response records, with canonical kinds.

Kinds: "int", "float", "str", "opt_str" (a str, "" sent as null), "bool", and "json_dict" /
"json_list" for the fields the API delivers as JSON inside a string.
"""

from __future__ import annotations

from typing import Final

Kinds = dict[str, str]

_J_DICT: Final = "json_dict"

# The list schema plus total_likes_cnt (present in the list example and in detail).
INFLUENCER: Final[Kinds] = {
    "avatar": "str",
    "avg_30d_price": "float",
    "category": "str",
    "contact_email": "str",
    "ec_score": "float",
    "first_crawl_dt": "int",
    "gender": "str",
    "influencer_video_duration_level": _J_DICT,
    "influencer_video_publish_hour": _J_DICT,
    "influencer_video_publish_week": _J_DICT,
    "interaction_rate": "float",
    "language": "str",
    "most_category_product": "json_list",
    "most_views_video": "str",
    "nick_name": "str",
    "off_mark": "int",
    "per_video_product_views_avg_7d_cnt": "float",  # an average (docs' title)
    "region": "str",
    "sales_flag": "int",
    "seller_id": "opt_str",
    "show_case_flag": "int",
    "signature": "str",
    "total_comments_cnt": "int",
    "total_digg_1d_cnt": "int",
    "total_digg_30d_cnt": "int",
    "total_digg_7d_cnt": "int",
    "total_digg_90d_cnt": "int",
    "total_digg_cnt": "int",
    "total_followers_1d_cnt": "int",
    "total_followers_30d_cnt": "int",
    "total_followers_7d_cnt": "int",
    "total_followers_90d_cnt": "int",
    "total_followers_cnt": "int",
    "total_following_cnt": "int",
    "total_likes_cnt": "int",
    "total_live_cnt": "int",
    "total_live_sale_gmv_30d_amt": "float",
    "total_post_video_cnt": "int",
    "total_product_30d_cnt": "int",
    "total_product_cnt": "int",
    "total_sale_cnt": "int",
    "total_sale_gmv_30d_amt": "float",
    "total_sale_gmv_amt": "float",
    "total_shares_cnt": "int",
    "total_video_product_30d_cnt": "int",
    "total_video_sale_30d_cnt": "int",
    "total_video_sale_gmv_30d_amt": "float",
    "total_views_cnt": "int",
    "unique_id": "str",
    "user_id": "str",
}

# The detail schema lacks these two list fields; the fake still sends them (unknown to
# a detail model, harmless), so one canonical record serves both endpoints.
DETAIL_FIELDS: Final = tuple(
    k
    for k in INFLUENCER
    if k not in ("total_live_sale_gmv_30d_amt", "total_video_sale_gmv_30d_amt")
)
LIST_FIELDS: Final = tuple(INFLUENCER)

VIDEO: Final[Kinds] = {
    "create_time": "int",
    "created_by_ai": "bool",
    "data_size": "int",
    "duration": "int",
    "height": "int",
    "ratio": "str",
    "reflow_cover": "str",
    "region": "str",
    "sales_flag": "int",
    "total_comments_cnt": "int",
    "total_digg_1d_cnt": "int",
    "total_digg_30d_cnt": "int",
    "total_digg_7d_cnt": "int",
    "total_digg_cnt": "int",
    "total_favorites_cnt": "int",
    "total_shares_cnt": "int",
    "total_video_sale_cnt": "int",
    "total_video_sale_gmv_amt": "float",
    "total_views_1d_cnt": "int",
    "total_views_30d_cnt": "int",
    "total_views_7d_cnt": "int",
    "total_views_cnt": "int",
    "unique_id": "str",
    "user_id": "str",
    "video_desc": "str",
    "video_id": "str",
    "width": "int",
}

# Documented as strings and sent as strings by the real API (docs example).
VIDEO_STRINGLY: Final = frozenset({"create_time", "created_by_ai", "data_size", "height", "width"})

RANKING: Final[Kinds] = {
    "avatar": "str",
    "category": "str",
    "ec_score": "float",
    "nick_name": "str",
    "region": "str",
    "sales_flag": "int",
    "total_digg_cnt": "int",
    "total_digg_history_cnt": "int",
    "total_followers_cnt": "int",
    "total_followers_history_cnt": "int",
    "total_live_cnt": "int",
    "total_live_history_cnt": "int",
    "total_post_video_cnt": "int",
    "total_post_video_history_cnt": "int",
    "total_product_cnt": "int",
    "total_product_history_cnt": "int",
    "total_sale_cnt": "int",
    "total_sale_gmv_amt": "float",
    "total_sale_gmv_history_amt": "float",
    "total_sale_history_cnt": "int",
    "user_id": "str",
    "unique_id": "str",
    "product_category_list": "str",
    "most_category_id": "str",
    "most_category_l2_id": "str",
    "most_category_l3_id": "str",
}

LIVESTREAM: Final[Kinds] = {
    "cover_url": "str",
    "create_time": "int",
    "duration": "int",
    "finish_time": "int",
    "nick_name": "str",
    "region": "str",
    "room_id": "str",
    "title": "str",
    "total_comments_cnt": "int",
    "total_digg_cnt": "int",
    "total_followers_cnt": "int",
    "total_joins_cnt": "int",
    "total_product_cnt": "int",
    "total_sale_cnt": "int",
    "total_sale_gmv_amt": "float",
    "total_views_cnt": "int",
    "user_id": "str",
}
