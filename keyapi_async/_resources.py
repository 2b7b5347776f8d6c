"""`client.influencers`: thin typed methods over the endpoint declarations.

Each method only states its signature (the documented query parameters, keyword-only) and hands
its arguments to the generic machinery. Arguments are validated when the method is called, so a
mistake raises at the line that made it, before anything is sent.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from . import _endpoints as e
from . import _params as p
from ._detail import DetailStream, detail_all, wanted_ids
from ._errors import InvalidParameterError
from ._fanout import FanOut
from ._models import Influencer, InfluencerDetail, Livestream, RankedInfluencer, Video
from ._pagination import MAX_CONCURRENCY, PAGING_OPTIONS, Paginator, PagingPlan

T = TypeVar("T")
# What the client hands its resources: one call of an endpoint, (records, request_id).
Request = Callable[[e.Endpoint[Any], dict[str, str]], Awaitable[tuple[list[Any], str | None]]]

DETAIL_CONCURRENCY = 8  # detail batches in flight at once


class Influencers:
    """The TikTok influencer analytics endpoints."""

    __slots__ = ("_detail_batch_size", "_request")

    def __init__(self, *, request: Request, detail_batch_size: int) -> None:
        self._request = request
        self._detail_batch_size = detail_batch_size

    def _paginate(self, endpoint: e.Endpoint[T], arguments: dict[str, Any]) -> Paginator[T]:
        arguments.pop("self", None)
        options = {name: arguments.pop(name) for name in PAGING_OPTIONS}
        query = endpoint.query(arguments)
        plan = PagingPlan.resolve(endpoint.max_page or 1, options)
        return Paginator(partial(self._fetch_page, endpoint, query, plan.page_size), plan)

    def _fetch_page(
        self, endpoint: e.Endpoint[T], query: dict[str, str], page_size: int, page_num: int
    ) -> Awaitable[tuple[list[T], str | None]]:
        paged = {**query, "page_num": str(page_num), "page_size": str(page_size)}
        return self._request(endpoint, paged)

    # The signatures below carry exactly the documented query parameters; `locals()` hands them
    # to the endpoint declaration, which validates and builds the query.

    def list(
        self,
        *,
        region: str,
        product_category_id: str | None = None,
        influencer_category_name: str | None = None,
        influencer_sort_field_v2: p.InfluencerSortField | int | None = None,
        sort_type: p.SortType | int | None = None,
        min_total_followers_cnt: int | None = None,
        max_total_followers_cnt: int | None = None,
        min_total_digg_cnt: int | None = None,
        max_total_digg_cnt: int | None = None,
        min_interaction_rate: float | None = None,
        max_interaction_rate: float | None = None,
        min_total_views_cnt: int | None = None,
        max_total_views_cnt: int | None = None,
        min_total_views_7d_cnt: int | None = None,
        max_total_views_7d_cnt: int | None = None,
        min_per_video_product_views_avg_cnt: int | None = None,
        max_per_video_product_views_avg_cnt: int | None = None,
        min_per_video_product_views_avg_7d_cnt: int | None = None,
        max_per_video_product_views_avg_7d_cnt: int | None = None,
        gender: str | None = None,
        influencer_language: str | None = None,
        show_case_flag: bool | int | None = None,
        sales_flag: p.SalesFlag | int | None = None,
        page_size: int = 10,
        start_page: int = 1,
        max_pages: int | None = None,
        limit: int | None = None,
        concurrency: int = 1,
    ) -> Paginator[Influencer]:
        """Search and filter influencers (pages 1..10,000)."""
        return self._paginate(e.INFLUENCER_LIST, locals())

    def videos(
        self,
        *,
        user_id: str | int | None = None,
        unique_id: str | None = None,
        influencer_video_sort_field: p.VideoSortField | int | None = None,
        sort_type: p.SortType | int | None = None,
        page_size: int = 10,
        start_page: int = 1,
        max_pages: int | None = None,
        limit: int | None = None,
        concurrency: int = 1,
    ) -> Paginator[Video]:
        """One influencer's videos, by user_id or unique_id (exactly one)."""
        return self._paginate(e.INFLUENCER_VIDEOS, locals())

    def ranking(
        self,
        *,
        date: str | dt.date,
        region: str,
        rank_type: p.RankType | int,
        influencer_rank_field: p.RankField | int,
        influencer_category_name: str | None = None,
        product_category_id: str | None = None,
        page_size: int = 10,
        start_page: int = 1,
        max_pages: int | None = None,
        limit: int | None = None,
        concurrency: int = 1,
    ) -> Paginator[RankedInfluencer]:
        """A daily, weekly (date: a Monday) or monthly (date: the 1st) ranking."""
        return self._paginate(e.INFLUENCER_RANKING, locals())

    def livestreams(
        self,
        *,
        user_id: str | int,
        page_size: int = 10,
        start_page: int = 1,
        max_pages: int | None = None,
        limit: int | None = None,
        concurrency: int = 1,
    ) -> Paginator[Livestream]:
        """One influencer's past livestreams."""
        return self._paginate(e.INFLUENCER_LIVESTREAMS, locals())

    def videos_many(
        self,
        user_ids: Sequence[str | int] | str,
        *,
        concurrency: int = 8,
        limit_per_user: int | None = None,
        page_size: int = 10,
        influencer_video_sort_field: p.VideoSortField | int | None = None,
        sort_type: p.SortType | int | None = None,
    ) -> FanOut[Video]:
        """Videos of many influencers, streamed as `(user_id, video)`; see FanOut."""
        params = {
            "influencer_video_sort_field": influencer_video_sort_field,
            "sort_type": sort_type,
        }
        return self._fan_out(
            e.INFLUENCER_VIDEOS, user_ids, concurrency, limit_per_user, page_size, params
        )

    def livestreams_many(
        self,
        user_ids: Sequence[str | int] | str,
        *,
        concurrency: int = 8,
        limit_per_user: int | None = None,
        page_size: int = 10,
    ) -> FanOut[Livestream]:
        """Livestreams of many influencers, streamed as `(user_id, livestream)`; see FanOut."""
        return self._fan_out(
            e.INFLUENCER_LIVESTREAMS, user_ids, concurrency, limit_per_user, page_size, {}
        )

    def _fan_out(
        self,
        endpoint: e.Endpoint[T],
        user_ids: Sequence[str | int] | str,
        concurrency: int,
        limit_per_user: int | None,
        page_size: int,
        params: dict[str, Any],
    ) -> FanOut[T]:
        ids = p.id_list("user_ids", user_ids, p.numeric_id)
        if not ids:
            raise InvalidParameterError("user_ids", "pass at least one user ID")
        workers = p.whole("concurrency", concurrency, 1, MAX_CONCURRENCY)
        if limit_per_user is not None:
            p.whole("limit_per_user", limit_per_user, 1)
        paging = {"page_size": page_size, "start_page": 1, "max_pages": None, "concurrency": 1}

        def pull(user_id: str) -> Paginator[T]:
            arguments = {**params, **paging, "user_id": user_id, "limit": limit_per_user}
            return self._paginate(endpoint, arguments)

        pull(ids[0])  # validates every argument now, before anything is sent
        return FanOut(pull, ids, workers)

    async def detail(
        self,
        *,
        user_ids: Sequence[str | int] | str | None = None,
        unique_ids: Sequence[str] | str | None = None,
    ) -> builtins.list[InfluencerDetail]:
        """Details for many influencers, in the order the IDs were given; all or nothing.

        IDs are batched `detail_batch_size` to a request and the batches run concurrently.
        A duplicate is sent once; an unknown ID is simply absent from the result.
        """
        wanted = wanted_ids(user_ids, unique_ids)
        size = self._detail_batch_size
        return await detail_all(self._detail_request, wanted, size, DETAIL_CONCURRENCY)

    def detail_stream(
        self,
        *,
        user_ids: Sequence[str | int] | str | None = None,
        unique_ids: Sequence[str] | str | None = None,
        concurrency: int = DETAIL_CONCURRENCY,
    ) -> DetailStream:
        """Details streamed in the order the IDs were given, `concurrency` batches in flight;
        a batch that fails for its own IDs is set aside (FanOutError at the end). See
        DetailStream."""
        wanted = wanted_ids(user_ids, unique_ids)
        workers = p.whole("concurrency", concurrency, 1, MAX_CONCURRENCY)
        size = self._detail_batch_size
        return DetailStream(self._detail_request, wanted, size, workers)

    def _detail_request(
        self, query: dict[str, str]
    ) -> Awaitable[tuple[builtins.list[InfluencerDetail], str | None]]:
        return self._request(e.INFLUENCER_DETAIL, query)
