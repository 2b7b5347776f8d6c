"""--cache and --redis/--plan on the command line: runs that share answers and one plan."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from keyapi_async._cli import main
from keyapi_async.testing import FakeKeyAPI

from .cli_helpers import LIST_PATH, SECRET, clean_environment, pages_of
from .redis_server import RedisServer


def run(*argv: str) -> tuple[int, str]:
    with contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(list(argv))
    return code, err.getvalue()


def base(server: FakeKeyAPI, *args: str) -> list[str]:
    return ["--base-url", server.url, "--api-key", SECRET, *args]


def test_a_rerun_with_a_cache_file_buys_only_what_it_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_environment(monkeypatch)
    cache = str(tmp_path / "answers.sqlite")
    with FakeKeyAPI(api_key=SECRET) as server:
        query = ["--qps", "0", "influencers", "list", "--region", "US", "--cache", cache]
        code, _ = run(*base(server, *query, "--limit", "30", "-o", str(tmp_path / "a.jsonl")))
        assert code == 0
        code, err = run(*base(server, *query, "--limit", "50", "-o", str(tmp_path / "b.jsonl")))
        assert code == 0
        assert pages_of(server) == [1, 2, 3, 4, 5]  # pages 1-3 once, then 4 and 5 only
    assert "3 cache hits" in err
    assert "3 credits saved" in err
    assert "2 credits," in err


def test_sharing_options_are_checked_before_anything_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_environment(monkeypatch)
    out = str(tmp_path / "x.jsonl")
    with FakeKeyAPI(api_key=SECRET) as server:
        for extra, named in (
            (["--cache-ttl", "60"], "--cache-ttl"),
            (["--plan", "acme"], "--plan"),
            (["--cache", str(tmp_path / "c.sqlite"), "--cache-ttl", "soon"], "--cache-ttl"),
        ):
            code, err = run(
                *base(server, "influencers", "list", "--region", "US", *extra, "-o", out)
            )
            assert code == 2, err
            assert named in err
        assert server.requests == []


def test_without_redis_py_the_option_names_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['redis'] = None; sys.modules['redis.asyncio'] = None\n"
        "from keyapi_async._cli import main\n"
        "sys.exit(main(['--api-key', 'k', 'influencers', 'list', '--region', 'US',"
        " '--redis', 'redis://127.0.0.1:1/0']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "pip install 'keyapi-async[redis]'" in done.stderr


def test_two_runs_on_one_plan_share_its_budget_and_pace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> None:
    clean_environment(monkeypatch)
    redis_server.start()
    shared = ["--redis", redis_server.url, "--plan", "cli-plan", "--qps", "20"]
    with FakeKeyAPI(api_key=SECRET, qps_limit=20) as server:
        first = ["influencers", "list", "--region", "US", "--max-credits", "4", "--limit", "30"]
        code, _ = run(*base(server, *shared, *first, "-o", str(tmp_path / "a.jsonl")))
        assert code == 0
        # The plan's 4 credits: 3 spent by the first run, 1 left for the second.
        second = ["influencers", "list", "--region", "GB", "--max-credits", "4"]
        code, err = run(*base(server, *shared, *second, "-o", str(tmp_path / "b.jsonl")))
        assert code == 3, err
        assert "max_credits=4" in err
        assert len(server.requests) == 4
        assert server.max_in_window(1.0) <= 20
        assert {r.status for r in server.requests} == {200}
    assert [r.path for r in server.requests] == [LIST_PATH] * 4
