"""A small FastAPI app that owns one KeyAPI client for its whole life.

    KEYAPI_API_KEY=... uvicorn examples.fastapi_app.app:app

The client is created when the app starts (the lifespan), shared by every request, and closed
at shutdown. Sharing it is the point: one client means one connection pool, one limiter keeping
the whole app under the plan's QPS, one credit budget and one `usage` count.

    GET /influencers?region=US&page=2&page_size=10&min_followers=10000
    GET /influencers/{user_id or @handle}            (?fresh=true buys a new answer)
    GET /influencers/{user_id or @handle}/videos?page=1
    GET /usage

The client keeps answers in a MemoryCache (see `default_client`): a creator page visited a
thousand times an hour costs one credit an hour, and visits that arrive while its answer is on
the way share that one request (coalescing). `/usage` shows what was bought and what was saved.

Each search call buys exactly one page of the API (one credit); `next_page` says which page to
ask for next, or null when this one was short (the API returns no total count, so a full page
may still be followed by an empty one).

SDK errors become HTTP errors (see `keyapi_error`); the API key never appears in a response.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import msgspec
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

from keyapi_async import (
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CreditBudgetExceeded,
    Influencer,
    InsufficientCreditsError,
    InvalidParameterError,
    KeyAPI,
    KeyAPIError,
    MemoryCache,
    RateLimitError,
    Video,
)

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

LAST_LIST_PAGE = 10_000  # the list endpoint's documented page ceiling
LAST_VIDEOS_PAGE = 100_000

# The SDK names the parameter it refused; the caller knows it by this app's query name.
QUERY_NAMES = {
    "start_page": "page",
    "min_total_followers_cnt": "min_followers",
    "max_total_followers_cnt": "max_followers",
    "influencer_category_name": "category",
    "influencer_sort_field_v2": "sort_by",
    "influencer_video_sort_field": "sort_by",
    "user_id": "influencer",
    "unique_id": "influencer",
}


class InfluencerPage(msgspec.Struct):
    page: int
    page_size: int
    request_id: str | None
    next_page: int | None
    items: list[Influencer]


class VideoPage(msgspec.Struct):
    influencer: str
    page: int
    page_size: int
    request_id: str | None
    next_page: int | None
    items: list[Video]


def _json(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    # msgspec encodes the SDK's records directly: no copy into pydantic models.
    return Response(
        msgspec.json.encode(body),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )


def _next_page(page: int, page_size: int, got: int, last_page: int) -> int | None:
    return page + 1 if got == page_size and page < last_page else None


def keyapi_client(request: Request) -> KeyAPI:
    """The app's one client, made at startup (a FastAPI dependency)."""
    client: KeyAPI = request.app.state.keyapi
    return client


Client = Annotated[KeyAPI, Depends(keyapi_client)]


# How long answers are kept: analytics are computed from history and change slowly, so an hour
# for a creator's detail; search pages and video lists move more, so less.
CACHE_TTL = {"detail": 3600, "list": 600, "videos": 900, "default": 600}


def default_client() -> KeyAPI:
    """The app's client: key and base URL from the environment, answers cached in memory."""
    return KeyAPI(cache=MemoryCache(ttl=CACHE_TTL, max_entries=50_000))


def create_app(*, client_factory: Callable[[], KeyAPI] = default_client) -> FastAPI:
    """Build the app. `client_factory` makes the one KeyAPI client, at startup.

    The default reads KEYAPI_API_KEY and KEYAPI_BASE_URL from the environment and caches
    answers (see `default_client`). A test passes a factory pointed at FakeKeyAPI.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = client_factory()
        app.state.keyapi = client
        try:
            yield
        finally:
            await client.aclose()

    app = FastAPI(title="KeyAPI influencer search", lifespan=lifespan)
    app.exception_handler(KeyAPIError)(keyapi_error)

    @app.get("/influencers")
    async def search_influencers(
        client: Client,
        region: str,
        page: int = 1,
        page_size: int = 10,
        min_followers: int | None = None,
        max_followers: int | None = None,
        category: str | None = None,
        sort_by: int | None = None,
    ) -> Response:
        """One page of influencers in a region (one credit). `sort_by`: InfluencerSortField,
        highest first."""
        result = await client.influencers.list(
            region=region,
            min_total_followers_cnt=min_followers,
            max_total_followers_cnt=max_followers,
            influencer_category_name=category,
            influencer_sort_field_v2=sort_by,
            sort_type=None if sort_by is None else 1,
            start_page=page,
            page_size=page_size,
        )
        got = len(result.items)
        return _json(
            InfluencerPage(
                page=result.page_num,
                page_size=page_size,
                request_id=result.request_id,
                next_page=_next_page(page, page_size, got, LAST_LIST_PAGE),
                items=result.items,
            )
        )

    @app.get("/influencers/{influencer}")
    async def influencer_detail(client: Client, influencer: str, fresh: bool = False) -> Response:
        """One influencer's detail (one credit, or none when cached). `fresh=true` buys a new
        answer and renews the cached one."""
        by_id = influencer.isascii() and influencer.isdigit()
        view = client.with_options(refresh_cache=True) if fresh else client
        found = await view.influencers.detail(
            user_ids=[influencer] if by_id else None,
            unique_ids=None if by_id else [influencer],
        )
        if not found:
            return _json({"detail": f"no influencer {influencer}"}, 404)
        return _json(found[0])

    @app.get("/influencers/{influencer}/videos")
    async def influencer_videos(
        client: Client,
        influencer: str,
        page: int = 1,
        page_size: int = 10,
        sort_by: int | None = None,
    ) -> Response:
        """One page of an influencer's videos (one credit). `influencer`: a numeric user ID or a
        handle (`@name`). `sort_by`: VideoSortField, highest first; newest first when unset."""
        by_id = influencer.isascii() and influencer.isdigit()
        result = await client.influencers.videos(
            user_id=influencer if by_id else None,
            unique_id=None if by_id else influencer,
            influencer_video_sort_field=sort_by,
            sort_type=None if sort_by is None else 1,
            start_page=page,
            page_size=page_size,
        )
        got = len(result.items)
        return _json(
            VideoPage(
                influencer=influencer,
                page=result.page_num,
                page_size=page_size,
                request_id=result.request_id,
                next_page=_next_page(page, page_size, got, LAST_VIDEOS_PAGE),
                items=result.items,
            )
        )

    @app.get("/usage")
    async def usage(client: Client) -> dict[str, int]:
        """What the app's client has spent since startup, and what its cache saved."""
        spent = client.usage
        return {
            "requests": spent.requests,
            "credits": spent.credits,
            "retries": spent.retries,
            "cache_hits": spent.cache_hits,
            "coalesced": spent.coalesced,
        }

    return app


async def keyapi_error(request: Request, exc: KeyAPIError) -> Response:
    """Map an SDK error to an HTTP answer.

    - Bad input (refused by the SDK before sending, or by the API): 422, naming the parameter.
    - Rate limited even after the SDK's retries: 429 with Retry-After.
    - The app's own key refused, its account out of credits, or its credit budget spent: 503.
      Not 401/402, which would tell the caller that *their* credentials or payment are wrong;
      not 502, since the API answered correctly. The service is unavailable until its operator
      fixes the key or the account, so this is logged at ERROR.
    - No answer in time: 504. Anything else (5xx after retries, connection failures, an answer
      that does not decode): 502.

    Bodies carry the SDK's message only for bad input; otherwise a fixed text and the API's
    request_id (for support). The SDK never puts the key in a message, and neither does this.
    """
    request_id = getattr(exc, "request_id", None)
    if isinstance(exc, InvalidParameterError):
        name = QUERY_NAMES.get(exc.parameter, exc.parameter)
        reason = exc.reason
        return _json({"detail": f"{name}: {reason}", "parameter": name}, 422)
    if isinstance(exc, BadRequestError):
        return _json({"detail": exc.message, "request_id": request_id}, 422)
    if isinstance(exc, RateLimitError):
        wait = max(1, math.ceil(exc.retry_after or 1))
        body = {"detail": "KeyAPI rate limit reached; try again later", "request_id": request_id}
        return _json(body, 429, {"Retry-After": str(wait)})
    if isinstance(exc, (AuthenticationError, InsufficientCreditsError, CreditBudgetExceeded)):
        if isinstance(exc, AuthenticationError):
            detail = "this service's KeyAPI key was refused"
        elif isinstance(exc, InsufficientCreditsError):
            detail = "this service's KeyAPI account has no credits left"
        else:
            detail = "this service's KeyAPI credit budget is spent"
        logger.error("KeyAPI unavailable: %s", exc)
        return _json({"detail": detail, "request_id": request_id}, 503)
    if isinstance(exc, APITimeoutError):
        return _json({"detail": "KeyAPI did not answer in time", "request_id": None}, 504)
    logger.warning("KeyAPI request failed: %s", exc)
    body = {"detail": f"KeyAPI request failed ({type(exc).__name__})", "request_id": request_id}
    return _json(body, 502)


app = create_app()  # the client is made at startup, so importing needs no key
