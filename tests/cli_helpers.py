"""What the command-line tests share: the key, argv builders, decoders, real processes.

One module, so no test file imports from another test file.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from keyapi_async import Influencer, KeyAPI
from keyapi_async.testing import FakeKeyAPI

SECRET = "sk_test_cli_secret_4f9a1c77"
LIST_PATH = "/v1/tiktok/influencer/list/analytics"
VIDEOS_PATH = "/v1/tiktok/influencer/videos/analytics"
LIVESTREAMS_PATH = "/v1/tiktok/influencer/livestreams/analytics"
ERROR_LINE = re.compile(r"^keyapi-async: error: [^\n]+\n$")
ENVIRONMENT = ("KEYAPI_API_KEY", "KEYAPI_TOKEN", "KEYAPI_BASE_URL", "KEYAPI_API_BASE_URL")


def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def cli(server: FakeKeyAPI, *args: str) -> list[str]:
    """argv for `main()` against `server`, with the key and no pacing."""
    return ["--base-url", server.url, "--api-key", SECRET, "--qps", "0", *args]


def sdk(server: FakeKeyAPI, method: str, **kwargs: Any) -> Any:
    """What the SDK itself returns for the same call."""

    async def call() -> Any:
        async with KeyAPI(SECRET, base_url=server.url, qps=None) as client:
            result = getattr(client.influencers, method)(**kwargs)
            return await (result if method == "detail" else result.collect())

    return asyncio.run(call())


def decode_lines(data: bytes, model: type[Any] = Influencer) -> list[Any]:
    assert data == b"" or data.endswith(b"\n")
    return [msgspec.json.decode(line, type=model) for line in data.splitlines()]


def pages_of(server: FakeKeyAPI, path: str = LIST_PATH) -> list[int]:
    return [int(r.params["page_num"]) for r in server.requests if r.path == path]


def list_pages(server: FakeKeyAPI) -> list[int]:
    return pages_of(server, LIST_PATH)


def _environment(extra: dict[str, str] | None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEYAPI_")}
    return {**base, **(extra or {})}


def run_process(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30, stdin: bytes | None = None
) -> Any:
    """`python -m keyapi_async ARGS` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "keyapi_async", *args],
        env=_environment(env),
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def spawn(server: FakeKeyAPI, *args: str) -> subprocess.Popen[bytes]:
    """`python -m keyapi_async` against `server`, key from the environment, not waited for."""
    return subprocess.Popen(
        [sys.executable, "-m", "keyapi_async", "--base-url", server.url, "--qps", "0", *args],
        env=_environment({"KEYAPI_API_KEY": SECRET}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err.decode()


def checkpoint(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out.with_name(out.name + ".checkpoint").read_bytes())
    return data


def wait_for_checkpoint(
    out: Path, proc: subprocess.Popen[bytes], ready: Any, what: str = "progress"
) -> None:
    """Poll the checkpoint (replaced atomically, so always whole) until `ready(state)`."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        try:
            if ready(checkpoint(out)):
                return
        except FileNotFoundError:
            pass
        time.sleep(0.005)
    pytest.fail(f"no checkpoint with {what} within 20 s")


def wait_for_page(out: Path, page: int, proc: subprocess.Popen[bytes]) -> None:
    wait_for_checkpoint(out, proc, lambda s: (s["last_page"] or 0) >= page, f"page {page}")
