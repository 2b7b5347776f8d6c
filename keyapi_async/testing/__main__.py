"""Run the fake in the foreground: `python -m keyapi_async.testing --port 0`.

Prints `READY http://127.0.0.1:PORT` (flushed) once listening, then serves until
SIGINT/SIGTERM. Another process reads the request log with `GET /__fake__/log` (a JSON list of
{path, arrived, status, code}; `arrived` is seconds on the shared monotonic clock) and clears it
with `POST /__fake__/reset`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from ._server import FakeKeyAPI


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m keyapi_async.testing", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added per answer")
    ap.add_argument("--qps-limit", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--influencers", type=int, default=300)
    ap.add_argument("--api-key", default="sk_test_fake_0000")
    ap.add_argument("--credits", type=int, default=None)
    ap.add_argument("--no-drift", action="store_true", help="render records clean")
    return ap


async def _serve(args: argparse.Namespace) -> None:
    api = FakeKeyAPI(
        api_key=args.api_key,
        seed=args.seed,
        influencers=args.influencers,
        drift=not args.no_drift,
        latency=args.latency,
        qps_limit=args.qps_limit,
        credits=args.credits,
        host=args.host,
        port=args.port,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            loop.add_signal_handler(sig, stop.set)
    async with api:
        print(f"READY {api.url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
