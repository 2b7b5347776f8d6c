"""Shared state on Redis for a fleet of clients on one plan: `pip install "keyapi-async[redis]"`.

    from redis.asyncio import Redis
    from keyapi_async.redis import RedisCreditBudget, RedisRateLimiter

    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    limiter = RedisRateLimiter(redis, qps=20, name="acme-plan")
    budget = RedisCreditBudget(redis, max_credits=50_000, name="acme-plan")
    async with KeyAPI(limiter=limiter, budget=budget) as client:
        ...

Every process, on every machine, whose limiter names "acme-plan" shares one pacing schedule;
every one whose budget names it shares one budget, and a 402 stops them all.
The core SDK never imports this package.
"""

from __future__ import annotations

try:
    import redis.asyncio  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without redis-py
    raise ImportError(
        'keyapi_async.redis needs redis-py: pip install "keyapi-async[redis]"'
    ) from exc

from ._budget import RedisCreditBudget
from ._cache import RedisCache
from ._errors import SharedStateUnavailable
from ._limiter import RedisRateLimiter

__all__ = ["RedisCache", "RedisCreditBudget", "RedisRateLimiter", "SharedStateUnavailable"]
