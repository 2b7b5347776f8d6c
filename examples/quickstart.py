"""Quickstart: a real pull against an embedded FakeKeyAPI, so it needs no key.

Point it at the real API by setting KEYAPI_API_KEY and dropping the FakeKeyAPI block.
"""

from __future__ import annotations

import asyncio

from keyapi_async import KeyAPI, KeyAPIError, SortType, VideoSortField
from keyapi_async.testing import FakeKeyAPI


async def main() -> None:
    async with (
        FakeKeyAPI(influencers=500, latency=0.02) as fake,
        KeyAPI(api_key=fake.api_key, base_url=fake.url, qps=20, max_credits=60) as client,
    ):
        # Every US influencer above 10k followers, 4 pages in flight, first 50 only.
        creators = await client.influencers.list(
            region="US", min_total_followers_cnt=10_000, limit=50, concurrency=4
        ).collect()
        print(f"{len(creators)} US creators over 10k followers")
        for inf in creators[:5]:
            print(f"  @{inf.unique_id:<24} {inf.total_followers_cnt:>10,} followers")

        top = creators[0]
        details = await client.influencers.detail(user_ids=[c.user_id for c in creators[:25]])
        print(
            f"details for {len(details)} creators; @{top.unique_id} posts by weekday:",
            details[0].influencer_video_publish_week,
        )

        videos = client.influencers.videos(
            user_id=top.user_id,
            influencer_video_sort_field=VideoSortField.TOTAL_VIEWS_CNT,
            sort_type=SortType.DESC,
            limit=5,
        )
        async for video in videos:
            print(f"  video {video.video_id}: {video.total_views_cnt:,} views")

        try:
            client.influencers.ranking(
                date="2025-06-03", region="US", rank_type=2, influencer_rank_field=1
            )
        except KeyAPIError as exc:  # caught before any request: a weekly ranking needs a Monday
            print("refused before sending:", exc)

        print(client.usage)


if __name__ == "__main__":
    asyncio.run(main())
