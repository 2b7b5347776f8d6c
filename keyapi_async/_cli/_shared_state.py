"""--cache and --redis: answers kept between runs, and one plan shared by runs and services.

    --cache FILE [--cache-ttl SECONDS]   a SQLiteCache: a rerun pays only for what it lacks
    --redis URL [--plan NAME]            a RedisRateLimiter at --qps, and with --max-credits a
                                         RedisCreditBudget: every run naming the plan shares them

Both are checked before anything is sent; a missing extra is one line naming the pip install.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
from collections.abc import Callable
from typing import Any

from .. import SQLiteCache
from ._errors import UsageError

Default = Callable[[Any], Any]


def add_shared_state_options(parser: argparse.ArgumentParser, default: Default) -> None:
    group = parser.add_argument_group("sharing")
    group.add_argument(
        "--cache",
        metavar="FILE",
        default=default(None),
        help="keep answers in this SQLite file: a rerun, or another run on this machine, pays "
        "only for what the file lacks (the summary shows the hits)",
    )
    group.add_argument(
        "--cache-ttl",
        metavar="SECONDS",
        default=default(None),
        help="how long --cache keeps an answer (default 86400)",
    )
    group.add_argument(
        "--redis",
        metavar="URL",
        default=default(None),
        help="share the plan through this Redis (redis://host:6379/0): every run and service "
        "naming the same --plan paces on one schedule at --qps, and with --max-credits draws "
        "on one budget; pip install 'keyapi-async[redis]'",
    )
    group.add_argument(
        "--plan",
        metavar="NAME",
        default=default(None),
        help="the shared plan's name in Redis (default: a fingerprint of the API key)",
    )


def check_shared_state(args: argparse.Namespace) -> None:
    """Refuse what cannot work, before anything starts."""
    if args.cache_ttl is not None and args.cache is None:
        raise UsageError("--cache-ttl sets how long --cache keeps answers: add --cache FILE")
    if args.plan is not None and args.redis is None:
        raise UsageError("--plan names a plan shared through Redis: add --redis URL")
    if args.redis is not None:
        if args.sandbox:
            raise UsageError("--sandbox has no plan to share: drop --redis")
        try:
            importlib.import_module("redis.asyncio")
        except ImportError:
            raise UsageError("--redis needs redis-py: pip install 'keyapi-async[redis]'") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--cache-ttl: {text!r} is not a number of seconds") from None
    if not 0 <= value < float("inf"):
        raise UsageError(f"--cache-ttl: must be 0 or more seconds, got {text}")
    return value


async def shared_state(
    args: argparse.Namespace,
    stack: contextlib.AsyncExitStack,
    *,
    qps: float | None,
    max_credits: int | None,
) -> dict[str, Any]:
    """The client options that --cache and --redis stand for; what they open, `stack` closes
    (after the client, which closes first)."""
    options: dict[str, Any] = {}
    if args.cache is not None:
        ttl = 86_400.0 if args.cache_ttl is None else _seconds(args.cache_ttl)
        options["cache"] = SQLiteCache(args.cache, ttl=ttl)
    if args.redis is None:
        return options
    from redis.asyncio import Redis

    from ..redis import RedisCreditBudget, RedisRateLimiter

    try:
        redis = Redis.from_url(args.redis, socket_timeout=2.0, socket_connect_timeout=2.0)
    except ValueError as exc:
        raise UsageError(f"--redis: {exc}") from None
    stack.push_async_callback(redis.aclose)
    if qps is not None:  # --qps 0: no pacing; the fleet may still share its budget
        options["limiter"] = RedisRateLimiter(redis, qps=qps, name=args.plan)
    if max_credits is not None:
        options["budget"] = RedisCreditBudget(redis, max_credits=max_credits, name=args.plan)
    return options
