# ruff: noqa: E501  (the examples are copied verbatim: their long strings stay whole)
"""The example records of the provider's reference pages, as the wire sends them.

The sandbox serves these beside the generated records, so every example in the docs (the
provider's and ours) returns data there. Copied from the example responses of the pages named.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Final

from . import _schema as s
from ._people import Hidden, Record, make_influencer
from ._render import canonical

# docs: influencer-detail-analytics.md
DETAIL: Final[dict[str, object]] = {
    "avatar": "https://echosell-images.tos-ap-southeast-1.volces.com/user-avatar/280/MS4wLjABAAAAGv7w6D2u2phSw05CR84dBwv8WAjIs4Pj1A4D_OJxkxE6-zlvSHrbdoz5Rhj6mvbh.jpg",
    "avg_30d_price": 0,
    "category": "",
    "contact_email": "",
    "ec_score": 4.28,
    "first_crawl_dt": 20240227,
    "gender": "",
    "influencer_video_duration_level": '{"2m":0,"1m-2m":0,"30s-60s":0,"15s-30s":8,"15s":13}',
    "influencer_video_publish_hour": '{"00":0,"01":0,"02":0,"03":1,"04":1,"05":0,"06":1,"07":0,"08":7,"09":7,"10":0,"11":0,"12":0,"13":0,"14":0,"15":0,"16":1,"17":0,"18":0,"19":0,"20":1,"21":1,"22":0,"23":1}',
    "influencer_video_publish_week": '{"1":3,"2":2,"3":4,"4":4,"5":1,"6":4,"7":3}',
    "interaction_rate": 0.13,
    "language": "en",
    "most_category_product": "[]",
    "most_views_video": "7376938080051170606",
    "nick_name": "Bible._.Verse",
    "off_mark": 0,
    "per_video_product_views_avg_7d_cnt": 0,
    "region": "US",
    "sales_flag": 0,
    "seller_id": None,
    "show_case_flag": 0,
    "signature": "Jesus Loves You",
    "total_comments_cnt": 15,
    "total_digg_1d_cnt": 0,
    "total_digg_30d_cnt": 0,
    "total_digg_7d_cnt": 0,
    "total_digg_90d_cnt": 0,
    "total_digg_cnt": 17289,
    "total_followers_1d_cnt": 0,
    "total_followers_30d_cnt": 0,
    "total_followers_7d_cnt": 0,
    "total_followers_90d_cnt": 0,
    "total_followers_cnt": 818,
    "total_following_cnt": 281,
    "total_likes_cnt": 21040,
    "total_live_cnt": 0,
    "total_post_video_cnt": 97,
    "total_product_30d_cnt": 0,
    "total_product_cnt": 0,
    "total_sale_cnt": 0,
    "total_sale_gmv_30d_amt": 0,
    "total_sale_gmv_amt": 0,
    "total_shares_cnt": 19,
    "total_video_product_30d_cnt": 0,
    "total_video_sale_30d_cnt": 0,
    "total_views_cnt": 7428,
    "unique_id": "bible._.verse",
    "user_id": "100034034780479488",
}

# docs: influencer-list-analytics.md
LIST: Final[dict[str, object]] = {
    "avatar": "https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/77eebc91f0b5728ad38d8f0edeb567e0~tplv-tiktokx-cropcenter:100:100.jpeg?dr=10399&refresh_token=cef28bf7&x-expires=1756242000&x-signature=jL3CBEBjqpNqtOwtxWxQcIjCWNo%3D&t=4d5b0474&ps=13740610&shp=a5d48078&shcp=81f88b70&idc=no1a",
    "avg_30d_price": 0,
    "category": "",
    "contact_email": "",
    "ec_score": 2.62,
    "first_crawl_dt": 20250816,
    "gender": "",
    "influencer_video_duration_level": "{}",
    "influencer_video_publish_hour": "{}",
    "influencer_video_publish_week": "{}",
    "interaction_rate": 0,
    "language": "en",
    "most_category_product": "[]",
    "most_views_video": "",
    "nick_name": "Hannah Culver",
    "off_mark": 0,
    "per_video_product_views_avg_7d_cnt": 0,
    "region": "US",
    "sales_flag": 0,
    "seller_id": None,
    "show_case_flag": 0,
    "signature": "",
    "total_comments_cnt": 0,
    "total_digg_1d_cnt": 0,
    "total_digg_30d_cnt": 0,
    "total_digg_7d_cnt": 0,
    "total_digg_90d_cnt": 0,
    "total_digg_cnt": 2,
    "total_followers_1d_cnt": 0,
    "total_followers_30d_cnt": 0,
    "total_followers_7d_cnt": 0,
    "total_followers_90d_cnt": 1,
    "total_followers_cnt": 183,
    "total_following_cnt": 571,
    "total_likes_cnt": 0,
    "total_live_cnt": 0,
    "total_live_sale_gmv_30d_amt": 0,
    "total_post_video_cnt": 0,
    "total_product_30d_cnt": 0,
    "total_product_cnt": 0,
    "total_sale_cnt": 0,
    "total_sale_gmv_30d_amt": 0,
    "total_sale_gmv_amt": 0,
    "total_shares_cnt": 0,
    "total_video_product_30d_cnt": 0,
    "total_video_sale_30d_cnt": 0,
    "total_video_sale_gmv_30d_amt": 0,
    "total_views_cnt": 0,
    "unique_id": "hannahdowns",
    "user_id": "1000038",
}

# docs: influencer-livestreams-analytics.md
LIVESTREAM: Final[dict[str, object]] = {
    "cover_url": "https://echosell-images.tos-ap-southeast-1.volces.com/live-cover/36/7321509771910417194.jpeg",
    "create_time": 1704672004,
    "duration": 18009,
    "finish_time": 1704690013,
    "nick_name": "POP MART US SHOP",
    "region": "US",
    "room_id": "7321509771910417194",
    "title": "NEW FREEBIES!!!",
    "total_comments_cnt": 0,
    "total_digg_cnt": 0,
    "total_followers_cnt": 6,
    "total_joins_cnt": 7506,
    "total_product_cnt": 97,
    "total_sale_cnt": 121,
    "total_sale_gmv_amt": 2627.73,
    "total_views_cnt": 9335,
    "user_id": "7288986759428588590",
}

# docs: influencer-ranking-analytics.md
RANKING: Final[dict[str, object]] = {
    "avatar": "https://echosell-images.tos-ap-southeast-1.volces.com/user-avatar/853/MS4wLjABAAAAJN3v63JkTkZW72ae9hb2Wlb70uzhU8H3AZEKxIVTg38lwBGTx0tSNH7IBcrocdKd.jpg",
    "category": "Other",
    "ec_score": 7.33,
    "most_category_id": "601450",
    "most_category_l2_id": "605248",
    "most_category_l3_id": "603014",
    "nick_name": "ﾌひﾚﾉの",
    "product_category_list": "601450-849672-601690:1,601450-848776-601608:2,601450-849672-875400:3,601450-848776-601619:4,601450-849416-601660:5,601739-909064-601925:6,601739-909320-601990:7,601450-848776-601653:8,601450-848776-873480:9,601450-848904-601513:10,601450-849416-874120:11,824328-840072-601218:12,601450-849160-601686:13,601450-856208-855696:14,700645-700646-700650:15,601450-848904-1004168:16,601450-848904-981512:17,824328-840072-601202:18,604579-871560-881672:19,601755-831112-831752:20,601450-848776-601602:21,604579-872328-887560:22,603014-835336-837768:23,601450-849288-601644:24,601450-848776-601733:25,601739-909064-910728:26,604968-872968-897160:27,601352-900616-901896:28,601739-909320-602029:29,601450-848776-601615:30,601450-849032-1004552:31,605248-905224-906248:32,603014-835464-603835:33,601450-848648-601588:34,604206-859656-700699:35,601450-856208-856080:36,601739-909192-911752:37,600024-859400-600048:38,600001-851848-852872:39,824328-839944-601213:40,601450-849416-874248:41,601352-900616-601364:42,604453-871432-881416:43,601352-900488-901384:44,601450-849288-601520:45,601450-849160-601490:46,601352-900488-601405:47,601152-842376-601266:48,604206-860296-869256:49,601450-849416-601672:50,605248-905224-906376:51,601450-849160-2169232:52,604453-871048-979720:53,824584-902664-601419:54,600942-844808-601090:55,604453-871048-876680:56,601739-984584-992264:57,824584-902792-601446:58,600024-859528-600029:59,600154-809992-600221:60,604453-871048-876040:61,605248-905352-605304:62,700437-915336-700554:63,601450-849416-874376:64,603014-834568-603042:65,603014-834696-2151184:66,700645-700646-700649:67,601450-849416-601677:68,824328-840456-841736:69,601450-856208-855952:70,600942-844808-601108:71,824328-840456-841352:72,824584-902920-904840:73,600001-852232-600812:74,604206-859912-864520:75,601739-909064-601936:76,603014-834568-603704:77,605196-930184-700684:78,700437-915336-963464:79,601739-909448-913672:80,600001-852104-600338:81,601450-849416-873992:82,600001-851848-600621:83,601450-848776-601611:84,604453-871048-604468:85,600024-859528-865288:86,600024-859144-863880:87,953224-964360-958216:88,600024-859400-600032:89,824328-839944-601226:90,604206-860040-867592:91,601450-849160-601498:92,601450-848904-601469:93,605248-905608-605274:94,601739-984584-992008:95,824328-839944-601195:96,601152-842248-601295:97,700437-915336-921736:98,604453-871048-875912:99,601450-856208-855824:100,824328-839944-601197:101,601152-842376-601276:102,824328-839944-960776:103,824328-839944-601223:104",
    "region": "US",
    "sales_flag": 4,
    "total_digg_cnt": 0,
    "total_digg_history_cnt": 9415852,
    "total_followers_cnt": 0,
    "total_followers_history_cnt": 46652,
    "total_live_cnt": 0,
    "total_live_history_cnt": 0,
    "total_post_video_cnt": 0,
    "total_post_video_history_cnt": 1716,
    "total_product_cnt": 0,
    "total_product_history_cnt": 228,
    "total_sale_cnt": 7752,
    "total_sale_gmv_amt": 73446,
    "total_sale_gmv_history_amt": 583910,
    "total_sale_history_cnt": 45720,
    "unique_id": "iamjuliocr",
    "user_id": "6633792625097490438",
}

# docs: influencer-videos-analytics.md
VIDEO: Final[dict[str, object]] = {
    "create_time": "1736000679",
    "created_by_ai": "false",
    "data_size": "970184",
    "duration": 16,
    "height": "1024",
    "ratio": "540p",
    "reflow_cover": "https://echosell-images.tos-ap-southeast-1.volces.com/video-cover/805/7456066022957665553.jpeg",
    "region": "MY",
    "sales_flag": 1,
    "total_comments_cnt": 0,
    "total_digg_1d_cnt": 0,
    "total_digg_30d_cnt": 0,
    "total_digg_7d_cnt": 0,
    "total_digg_cnt": 8,
    "total_favorites_cnt": 0,
    "total_shares_cnt": 0,
    "total_video_sale_cnt": 0,
    "total_video_sale_gmv_amt": 0,
    "total_views_1d_cnt": 0,
    "total_views_30d_cnt": 0,
    "total_views_7d_cnt": 0,
    "total_views_cnt": 176,
    "unique_id": "mrmnaznrm_",
    "user_id": "7122344901288068123",
    "video_desc": "memang best weh ! skin nampak lebih fresh bila pakai 🤪 #faceglow #facespray "
    "#facewhitening #faceglowspray #glowingspray #whiteningspray ",
    "video_id": "7456066022957665553",
    "width": "576",
}
# The detail page's parameter example names two more influencers (docs: influencer-detail-
# analytics.md, "for example 100034034780479488,100037587565707264,100049707246170112").
EXTRA_USER_IDS: Final = ("100037587565707264", "100049707246170112")
# The livestreams page shows no handle for its influencer; this one is ours.
LIVESTREAM_HANDLE: Final = "popmartusshop"
USER_IDS: Final = (
    str(LIST["user_id"]),
    str(DETAIL["user_id"]),
    str(RANKING["user_id"]),
    str(VIDEO["user_id"]),
    str(LIVESTREAM["user_id"]),
    *EXTRA_USER_IDS,
)


def _canonical(kinds: dict[str, str], wire: dict[str, object]) -> Record:
    return canonical(kinds, {k: v for k, v in wire.items() if k in kinds})


# The ranking row's all-time totals are the influencer's own counts.
_HISTORY = {
    "total_digg_history_cnt": "total_digg_cnt",
    "total_followers_history_cnt": "total_followers_cnt",
    "total_live_history_cnt": "total_live_cnt",
    "total_post_video_history_cnt": "total_post_video_cnt",
    "total_product_history_cnt": "total_product_cnt",
    "total_sale_gmv_history_amt": "total_sale_gmv_amt",
    "total_sale_history_cnt": "total_sale_cnt",
}
_SHARED = ("avatar", "category", "ec_score", "nick_name", "region", "sales_flag")


def _person(seed: int, uid: str, handle: str, nick: str) -> tuple[Record, Hidden]:
    rng = random.Random(f"{seed}|documented|{uid}")
    return make_influencer(rng, uid, handle, nick)


def documented_people(seed: int) -> list[tuple[Record, Hidden]]:
    """The influencers the reference pages show, each with generated videos and livestreams."""
    people: list[tuple[Record, Hidden]] = []
    for example in (LIST, DETAIL):
        rec, hidden = _person(seed, str(example["user_id"]), str(example["unique_id"]), "")
        rec.update(_canonical(s.INFLUENCER, example))
        people.append((rec, hidden))

    rec, hidden = _person(seed, str(RANKING["user_id"]), str(RANKING["unique_id"]), "")
    row = _canonical(s.RANKING, RANKING)
    rec.update({name: row[name] for name in _SHARED})
    rec.update({mine: row[theirs] for theirs, mine in _HISTORY.items()})
    people.append((rec, hidden))

    rec, hidden = _person(seed, str(VIDEO["user_id"]), str(VIDEO["unique_id"]), "")
    rec.update(nick_name=str(VIDEO["unique_id"]), region=str(VIDEO["region"]))
    people.append((rec, hidden))

    uid = str(LIVESTREAM["user_id"])
    rec, hidden = _person(seed, uid, LIVESTREAM_HANDLE, str(LIVESTREAM["nick_name"]))
    rec.update(region=str(LIVESTREAM["region"]))
    people.append((rec, hidden))

    for uid in EXTRA_USER_IDS:
        people.append(_person(seed, uid, f"creator{uid[-6:]}", f"Creator {uid[-4:]}"))
    return [(rec, _consistent(rec, hidden)) for rec, hidden in people]


def _consistent(rec: Record, hidden: Hidden) -> Hidden:
    """Hidden metrics that agree with the documented values put over the generated ones."""
    views, posts = rec["total_views_cnt"], rec["total_post_video_cnt"]
    assert isinstance(views, int)
    assert isinstance(posts, int)
    products = rec["most_category_product"]
    assert isinstance(products, list)
    l1s = {str(c.get("category_id")) for c in products if isinstance(c, dict)}
    return replace(
        hidden,
        # Everyone documented has a few videos and livestreams, so any example finds some.
        n_videos=max(hidden.n_videos, 12),
        n_live=max(hidden.n_live, 3),
        per_views_avg_cnt=views // max(posts, 1),
        triples=tuple(t for t in hidden.triples if t[0] in l1s),
    )


def with_documented_video(user_id: str, videos: list[Record]) -> list[Record]:
    """The videos page's example video joins its influencer's videos, newest first."""
    if user_id != VIDEO["user_id"]:
        return videos
    return _newest_first([_canonical(s.VIDEO, VIDEO), *videos])


def with_documented_livestream(user_id: str, lives: list[Record]) -> list[Record]:
    """The livestreams page's example session joins its influencer's sessions, newest first."""
    if user_id != LIVESTREAM["user_id"]:
        return lives
    return _newest_first([_canonical(s.LIVESTREAM, LIVESTREAM), *lives])


def documented_ranking_row() -> Record:
    return _canonical(s.RANKING, RANKING)


def _newest_first(records: list[Record]) -> list[Record]:
    return sorted(records, key=lambda r: -int(str(r["create_time"])))
