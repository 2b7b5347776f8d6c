"""One OS process of a fleet, for the multi-process tests: `python -m tests.redis_worker ...`.

It pulls `--requests` pages through its own KeyAPI and RedisRateLimiter and prints one JSON line:
the records it got, the error it stopped on (if any) and the limiter's outage count. `--skew`
runs its event loop on a clock `skew` seconds off, as on a machine whose clock is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from redis.asyncio import Redis

from keyapi_async import KeyAPI, KeyAPIError, RateLimiter
from keyapi_async.redis import RedisRateLimiter


class SkewedLoop(asyncio.SelectorEventLoop):
    skew = 0.0

    def time(self) -> float:
        return super().time() + self.skew


async def pull(args: argparse.Namespace) -> dict[str, object]:
    redis = Redis.from_url(args.redis, socket_timeout=1.0, socket_connect_timeout=1.0)
    shared = RedisRateLimiter(redis, qps=args.qps, name=args.name)
    limiter = RateLimiter(args.qps) if args.local else shared
    got, error = 0, None
    try:
        async with KeyAPI(
            api_key=args.api_key, base_url=args.base_url, limiter=limiter, max_retries=0
        ) as client:
            pages = client.influencers.list(
                region="US", page_size=1, start_page=args.start, max_pages=args.requests,
                concurrency=args.concurrency,
            )  # fmt: skip
            async for _ in pages:
                got += 1
    except KeyAPIError as exc:
        error = type(exc).__name__
    finally:
        await shared.flush()
        await redis.aclose()
    skew = asyncio.get_running_loop().time() - time.monotonic()
    return {"got": got, "error": error, "outages": shared.outages, "skew": round(skew)}


def main() -> None:
    ap = argparse.ArgumentParser()
    for flag in ("--redis", "--base-url", "--api-key", "--name"):
        ap.add_argument(flag, required=True)
    ap.add_argument("--qps", type=float, required=True)
    ap.add_argument("--requests", type=int, required=True)
    ap.add_argument("--start", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--skew", type=float, default=0.0)
    ap.add_argument("--local", action="store_true", help="a local RateLimiter, for comparison")
    args = ap.parse_args()
    SkewedLoop.skew = args.skew
    loop = SkewedLoop()
    try:
        result = loop.run_until_complete(pull(args))
    finally:
        loop.close()
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
