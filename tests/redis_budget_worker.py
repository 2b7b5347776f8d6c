"""One OS process of a fleet sharing a RedisCreditBudget: `python -m tests.redis_budget_worker`.

It pulls up to `--pages` pages (one record each) through its own KeyAPI, whose budget is a
RedisCreditBudget named `--name`, and prints one JSON line: the records it got, the error it
stopped on (if any), the requests its client sent, and the fleet's spent count as it left.
`--qps` adds a RedisRateLimiter of the same name (pacing and the 402 flag shared too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from redis.asyncio import Redis

from keyapi_async import KeyAPI, KeyAPIError
from keyapi_async.redis import RedisCreditBudget, RedisRateLimiter


async def pull(args: argparse.Namespace) -> dict[str, object]:
    redis = Redis.from_url(args.redis, socket_timeout=1.0, socket_connect_timeout=1.0)
    budget = RedisCreditBudget(
        redis, max_credits=args.max_credits, name=args.name, lease_ttl=args.lease_ttl
    )
    limiter = None if args.qps is None else RedisRateLimiter(redis, qps=args.qps, name=args.name)
    got, error, requests = 0, None, 0
    try:
        async with KeyAPI(
            api_key=args.api_key,
            base_url=args.base_url,
            qps=None,
            limiter=limiter,
            budget=budget,
            max_retries=args.max_retries,
            retry_base_delay=0.0,
            retry_max_delay=0.01,
        ) as client:
            try:
                pages = client.influencers.list(
                    region="US", page_size=1, start_page=args.start, max_pages=args.pages,
                    concurrency=args.concurrency,
                )  # fmt: skip
                async for _ in pages:
                    got += 1
                    print("got", flush=True, file=sys.stderr)  # progress, for a test to watch
            except KeyAPIError as exc:
                error = type(exc).__name__
            requests = client.usage.requests
        spent = await budget.spent()
    finally:
        if limiter is not None:
            await limiter.flush()
        await redis.aclose()
    return {"got": got, "error": error, "requests": requests, "spent": spent}


def main() -> None:
    ap = argparse.ArgumentParser()
    for flag in ("--redis", "--base-url", "--api-key", "--name"):
        ap.add_argument(flag, required=True)
    ap.add_argument("--max-credits", type=int, required=True)
    ap.add_argument("--pages", type=int, required=True)
    ap.add_argument("--start", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--lease-ttl", type=float, default=300.0)
    ap.add_argument("--max-retries", type=int, default=0)
    ap.add_argument("--qps", type=float, default=None)
    result = asyncio.run(pull(ap.parse_args()))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
