"""keyapi_async: asyncio SDK for KeyAPI's TikTok influencer analytics API.

async with KeyAPI() as client:
    async for influencer in client.influencers.list(region="US", limit=100):
        ...
"""

from ._budget import CreditBudget, LocalCreditBudget
from ._cache import MemoryCache, ResponseCache, SQLiteCache
from ._client import KeyAPI
from ._detail import DetailStream
from ._endpoints import decode_records
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CreditBudgetExceeded,
    FanOutError,
    InsufficientCreditsError,
    InvalidParameterError,
    KeyAPIError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    TooManyRedirects,
)
from ._fanout import FanOut, FanOutPage
from ._hooks import AttemptDetails
from ._limiter import Limiter, RateLimiter
from ._models import Influencer, InfluencerDetail, Livestream, RankedInfluencer, Video
from ._pagination import (
    MAX_CONCURRENCY,
    MAX_PAGE_SIZE,
    PAGING_OPTIONS,
    Page,
    PageStream,
    Paginator,
    PagingPlan,
)
from ._params import (
    InfluencerSortField,
    RankField,
    RankType,
    SalesFlag,
    SortType,
    VideoSortField,
)
from ._resources import Influencers
from ._retry import set_testing
from ._usage import Usage
from ._version import __version__

__all__ = [
    # client
    "KeyAPI",
    "Usage",
    "CreditBudget",
    "LocalCreditBudget",
    "RateLimiter",
    "Limiter",
    "Influencers",
    "Paginator",
    "Page",
    "PagingPlan",
    "PageStream",
    "FanOut",
    "FanOutPage",
    "DetailStream",
    # limits and options (what the command line states in its help)
    "MAX_PAGE_SIZE",
    "MAX_CONCURRENCY",
    "PAGING_OPTIONS",
    # test suites: retries without waiting (also in keyapi_async.testing)
    "set_testing",
    "AttemptDetails",
    # caches
    "ResponseCache",
    "MemoryCache",
    "SQLiteCache",
    # models, and decoding an answer body kept elsewhere
    "decode_records",
    "Influencer",
    "InfluencerDetail",
    "Video",
    "RankedInfluencer",
    "Livestream",
    # coded parameters
    "InfluencerSortField",
    "VideoSortField",
    "SortType",
    "RankType",
    "RankField",
    "SalesFlag",
    # errors
    "KeyAPIError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "InsufficientCreditsError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "APIConnectionError",
    "APITimeoutError",
    "TooManyRedirects",
    "ResponseDecodeError",
    "InvalidParameterError",
    "CreditBudgetExceeded",
    "FanOutError",
    "__version__",
]
