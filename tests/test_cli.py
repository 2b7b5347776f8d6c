"""The keyapi-async command line: `main([...])` in-process against a FakeKeyAPI on its own thread,
and real `python -m keyapi_async` processes (sandbox, pty, broken pipe)."""

from __future__ import annotations

import asyncio
import csv
import inspect
import io
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from keyapi_async import Influencer, InfluencerDetail, Influencers, KeyAPI, Usage
from keyapi_async._cli import main
from keyapi_async._cli._app import COMMANDS
from keyapi_async._cli._options import signature_of
from keyapi_async._cli._progress import REDRAW_INTERVAL, Progress
from keyapi_async._cli._run import SANDBOX_INFLUENCERS, SANDBOX_SEED
from keyapi_async.testing import FakeKeyAPI, Fault, set_testing

from .cli_helpers import (
    ERROR_LINE,
    SECRET,
    clean_environment,
    cli,
    decode_lines,
    list_pages,
    run_process,
    sdk,
)


@pytest.fixture
def server() -> Iterator[FakeKeyAPI]:
    with FakeKeyAPI(influencers=300, api_key=SECRET) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_environment(monkeypatch)


@pytest.fixture
def no_waits() -> Iterator[None]:
    with set_testing(True):
        yield


# --- records -----------------------------------------------------------------------


def test_list_writes_the_sdk_records_as_json_lines(server: FakeKeyAPI, tmp_path: Path) -> None:
    out = tmp_path / "inf.jsonl"
    argv = ["influencers", "list", "--region", "US", "--min-total-followers-cnt", "10000"]
    code = main(cli(server, *argv, "--limit", "45", "--concurrency", "3", "-o", str(out)))
    assert code == 0
    expected = sdk(server, "list", region="US", min_total_followers_cnt=10_000, limit=45)
    assert len(expected) == 45
    assert decode_lines(out.read_bytes()) == expected
    assert not (tmp_path / "inf.jsonl.checkpoint").exists()  # removed when done without --resume


def test_options_follow_the_annotations(
    server: FakeKeyAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "influencers",
        "list",
        "--region=US",
        "--influencer_sort_field_v2",  # the documented spelling works too
        "total-followers-cnt",  # an IntEnum by name, any case, dashes or underscores
        "--sort-type",
        "DESC",
        "--show-case-flag",
        "false",
        "--min-interaction-rate",
        "0.01",
        "--page-size",
        "5",
        "--max-pages",
        "2",
    ]
    assert main(cli(server, *argv)) == 0
    sent = [r.params for r in server.requests]
    assert len(sent) == 2
    assert sent[0] == {
        "region": "US",
        "influencer_sort_field_v2": "1",
        "sort_type": "1",
        "show_case_flag": "0",
        "min_interaction_rate": "0.01",
        "page_num": "1",
        "page_size": "5",
    }
    followers = [r.total_followers_cnt for r in decode_lines(capsys.readouterr().out.encode())]
    assert len(followers) == 10
    assert followers == sorted(followers, reverse=True)


def test_csv_has_the_documented_header_and_one_row_per_record(
    server: FakeKeyAPI, tmp_path: Path
) -> None:
    out = tmp_path / "inf.csv"
    argv = ["influencers", "list", "--region", "US", "--limit", "25", "--format", "csv"]
    assert main(cli(server, *argv, "-o", str(out))) == 0
    expected = sdk(server, "list", region="US", limit=25)
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = [field.encode_name for field in msgspec.structs.fields(Influencer)]
    assert rows[0] == header
    assert "influencer_video_publish_hour" in header  # the documented name, not the raw one
    assert len(rows) == 26
    for row, record in zip(rows[1:], expected, strict=True):
        cells = dict(zip(header, row, strict=True))
        assert cells["user_id"] == record.user_id
        assert cells["total_followers_cnt"] == str(record.total_followers_cnt)
        assert float(cells["interaction_rate"]) == record.interaction_rate
        assert cells["seller_id"] == record.seller_id
        # Parsed JSON, written once as JSON text: never the string the API sent.
        hour = cells["influencer_video_publish_hour"]
        assert msgspec.json.decode(hour) == record.influencer_video_publish_hour
        assert hour == msgspec.json.encode(record.influencer_video_publish_hour).decode()


def test_stdout_by_default_and_nothing_on_stderr_when_quiet(
    server: FakeKeyAPI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["influencers", "videos", "--unique-id", "x", "--limit", "3", "--quiet"]
    assert main(cli(server, *argv)) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""
    ds = server.dataset
    user_id = next(
        str(r["user_id"]) for r in ds.influencers if len(ds.videos(str(r["user_id"]))) > 12
    )
    argv = ["influencers", "videos", "--user-id", user_id, "--limit", "12", "-q"]
    assert main(cli(server, *argv)) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    videos = sdk(server, "videos", user_id=user_id, limit=12)
    assert len(videos) == 12
    assert decode_lines(captured.out.encode(), type(videos[0])) == videos
    assert list(tmp_path.iterdir()) == []  # no checkpoint for stdout


def test_detail_by_ids_file_in_the_given_order_once_each(
    server: FakeKeyAPI, tmp_path: Path
) -> None:
    people = sdk(server, "list", region="US", limit=3)
    one, two, three = people
    ids = tmp_path / "ids.txt"
    ids.write_text(
        f"{one.user_id}\n{two.user_id}\n@{three.unique_id}\n{one.user_id}\n# a comment\n\n"
        f"999\n{two.unique_id}\n"
    )
    out = tmp_path / "detail.jsonl"
    server.reset_log()
    argv = ["influencers", "detail", "--ids-file", str(ids), "--batch-size", "2"]
    assert main(cli(server, *argv, "-o", str(out))) == 0
    sent = [r.params for r in server.requests]
    got = decode_lines(out.read_bytes(), InfluencerDetail)
    assert [r.user_id for r in got] == [one.user_id, two.user_id, three.user_id]
    expected = sdk(
        server,
        "detail",
        user_ids=[one.user_id, two.user_id, "999"],
        unique_ids=[three.unique_id, two.unique_id],
    )
    assert got == expected
    # detail_stream's batches, of one kind each: user IDs [one, two] [999], handles
    # [three, two's]: one request each (batches in flight at once, so in any order)
    assert sorted(sent, key=str) == sorted(
        [
            {"user_ids": f"{one.user_id},{two.user_id}"},
            {"user_ids": "999"},
            {"unique_ids": f"{three.unique_id},{two.unique_id}"},
        ],
        key=str,
    )


# --- errors and exit codes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["list", "--region", "US", "--min-total-followers-cnt", "many"],
            "InvalidParameterError: min_total_followers_cnt: must be an integer >= 0, "
            "got 'many' (option --min-total-followers-cnt)",
        ),
        (["list", "--region", "US", "--sort-type", "up"], "sort_type: must be one of 0=ASC"),
        (["list", "--region", "US", "--page-size", "11"], "page_size: must be an integer 1..10"),
        (
            ["list", "--region", "US", "--min-total-views-cnt", "9", "--max-total-views-cnt", "1"],
            "min_total_views_cnt: must be <= max_total_views_cnt",
        ),
        (
            [
                "ranking",
                "--date",
                "2025-06-03",
                "--region",
                "US",
                "--rank-type",
                "week",
                "--influencer-rank-field",
                "1",
            ],
            "date: a weekly ranking (rank_type=2) needs a Monday",
        ),
        (["videos", "--user-id", "1", "--unique-id", "a"], "pass exactly one of user_id"),
        (["detail", "--user-ids", "1,abc"], "user_ids[1]: must be a numeric user ID"),
        (["detail"], "pass at least one ID"),
        (["list"], "the following arguments are required: --region"),
        (["list", "--region", "US", "--nope", "1"], "unrecognized arguments: --nope"),
        (["list", "--region", "US", "--qps", "-1"], "qps: must be a finite number > 0"),
        (["list", "--region", "US", "--resume"], "--resume needs --output FILE"),
        (["list", "--region", "US", "-o", "/nonexistent/dir/x.jsonl"], "cannot write"),
    ],
)
def test_bad_usage_exits_2_before_any_request(
    server: FakeKeyAPI, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(cli(server, "influencers", *argv)) == 2
    err = capsys.readouterr().err
    assert ERROR_LINE.match(err), err
    assert message in err
    assert server.requests == []


def test_no_key_exits_3_and_says_where_to_put_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["influencers", "list", "--region", "US"]) == 3
    err = capsys.readouterr().err
    assert ERROR_LINE.match(err)
    assert "KEYAPI_API_KEY" in err
    assert "--sandbox" in err


@pytest.mark.parametrize(
    ("fault", "times", "code", "error"),
    [
        (Fault.BAD_REQUEST, 1, 2, "BadRequestError"),
        (Fault.UNAUTHORIZED, 1, 3, "AuthenticationError"),
        (Fault.NO_CREDITS, 1, 3, "InsufficientCreditsError"),
        (Fault.RATE_LIMIT, 2, 4, "RateLimitError"),
        (Fault.SERVER_ERROR, 2, 4, "ServerError"),
        (Fault.BODY_ERROR, 2, 4, "ServerError"),
    ],
)
def test_api_errors_exit_codes_one_line_with_request_id(
    server: FakeKeyAPI,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_waits: None,
    fault: Fault,
    times: int,
    code: int,
    error: str,
) -> None:
    server.script(None, *[fault] * times)  # page 1 is served, page 2 fails (after 1 retry)
    out = tmp_path / "inf.jsonl"
    argv = ["influencers", "list", "--region", "US", "--limit", "40", "--max-retries", "1"]
    assert main(cli(server, *argv, "-o", str(out))) == code
    err = capsys.readouterr().err
    assert ERROR_LINE.match(err), err
    assert err.startswith(f"keyapi-async: error: {error}: ")
    assert re.search(r"\(HTTP \d{3}(, code \d+)?, request_id [0-9a-f-]{36}\)", err), err
    assert "10 records written to" in err
    assert "--resume to continue from page 2" in err
    assert "Traceback" not in err
    assert SECRET not in err
    assert len(decode_lines(out.read_bytes())) == 10
    assert list_pages(server) == [1] + [2] * times


def test_connection_refused_exits_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_waits: None
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = ["--base-url", f"http://127.0.0.1:{port}", "--api-key", SECRET, "--max-retries", "1"]
    assert main([*argv, "influencers", "list", "--region", "US"]) == 4
    err = capsys.readouterr().err
    assert ERROR_LINE.match(err)
    assert err.startswith("keyapi-async: error: APIConnectionError: ")


def test_max_credits_reached_exits_3(
    server: FakeKeyAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["influencers", "list", "--region", "US", "--max-credits", "2"]
    assert main(cli(server, *argv)) == 3
    captured = capsys.readouterr()
    assert captured.err.startswith("keyapi-async: error: CreditBudgetExceeded: max_credits=2")
    assert len(captured.out.splitlines()) == 20
    assert len(server.requests) == 2


def test_the_key_never_shows(
    server: FakeKeyAPI,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "inf.jsonl"
    argv = ["influencers", "list", "--region", "US", "--limit", "15", "-o", str(out), "--resume"]
    assert main(cli(server, *argv)) == 0
    monkeypatch.setenv("KEYAPI_API_KEY", SECRET)  # from the environment this time
    server.script(Fault.UNAUTHORIZED)
    assert main(["--base-url", server.url, "influencers", "list", "--region", "GB"]) == 3
    captured = capsys.readouterr()
    files = out.read_text() + (tmp_path / "inf.jsonl.checkpoint").read_text()
    for text in (captured.out, captured.err, files):
        assert SECRET not in text
    assert "AuthenticationError" in captured.err


# --- the command-line surface ----------------------------------------------------------


def test_every_sdk_parameter_is_an_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert set(COMMANDS.values()) <= {name for name in dir(Influencers) if name[0] != "_"}
    for command, method in COMMANDS.items():
        assert main(["influencers", command, "--help"]) == 0
        text = capsys.readouterr().out
        for param in signature_of(method).params:
            assert param.flag in text, (command, param.flag)
        for option in ("--output", "--format", "--resume", "--sandbox", "--qps", "--max-credits"):
            assert option in text
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("keyapi-async 0.1.0")


def test_help_defaults_are_the_sdk_signature_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    def default(func: object, name: str) -> object:
        return inspect.signature(func).parameters[name].default

    assert main(["influencers", "detail", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default {default(KeyAPI, 'max_retries')})" in text
    assert f"(default {default(KeyAPI, 'timeout'):g})" in text
    assert f"(default {default(KeyAPI, 'qps'):g};" in text
    assert f"(default {default(KeyAPI, 'detail_batch_size')});" in text
    concurrency = default(Influencers.detail_stream, "concurrency")
    assert f"requests in flight at once, 1..64 (default {concurrency})" in text
    assert main(["influencers", "videos", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default concurrency {default(Influencers.videos_many, 'concurrency')})" in text


def test_options_go_before_or_after_the_subcommand(server: FakeKeyAPI, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    argv = ["--format", "csv", "-o", str(out), "influencers", "list", "--region", "US"]
    assert main([*argv, "--base-url", server.url, "--api-key", SECRET, "--limit", "3"]) == 0
    with out.open(newline="") as f:
        assert len(list(csv.reader(f))) == 4  # the header and 3 records


# --- sandbox -------------------------------------------------------------------------


def test_sandbox_dataset_is_large_enough_to_feel_real() -> None:
    fake = FakeKeyAPI(influencers=SANDBOX_INFLUENCERS, seed=SANDBOX_SEED)
    us = fake.dataset.query_influencers({"region": "US"})
    assert len(us) >= 5000
    sample = [str(r["user_id"]) for r in us[:200]]
    assert sum(1 for u in sample if fake.dataset.videos(u)) > 100
    assert sum(1 for u in sample if fake.dataset.livestreams(u)) > 20


def test_sandbox_pull_in_a_real_process(tmp_path: Path) -> None:
    out = tmp_path / "influencers.jsonl"
    argv = ["--sandbox", "influencers", "list", "--region", "US", "--limit", "500"]
    done = run_process(*argv, "--output", str(out))
    assert done.returncode == 0, done.stderr
    summary = rf"keyapi-async: 500 records \(50 pages\) -> {re.escape(str(out))} \| 50 credits, "
    assert re.fullmatch(
        summary.encode() + rb"0 retries, 0 429s, 0 cache hits, \d+\.\ds\n", done.stderr
    )
    assert done.stdout == b""
    records = decode_lines(out.read_bytes())
    assert len(records) == 500
    assert len({r.user_id for r in records}) == 500
    assert {r.region for r in records} == {"US"}
    assert not (tmp_path / "influencers.jsonl.checkpoint").exists()


def test_broken_pipe_ends_quietly(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "keyapi_async", "--sandbox", "influencers", "list"]
    proc = subprocess.Popen(
        [*argv, "--region", "US", "--limit", "3000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.readline().startswith(b"{")
    proc.stdout.close()  # the reader leaves, like `| head -1`
    with proc.stderr:
        err = proc.stderr.read()
    assert proc.wait(timeout=30) == 141
    assert err == b""


# --- progress ------------------------------------------------------------------------


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_progress_redraws_at_most_ten_times_a_second_and_clears() -> None:
    stream, usage = FakeTTY(), Usage()
    progress = Progress(stream, usage, enabled=True, total=300)
    started = time.monotonic()
    progress.start()
    for _ in range(30):
        usage.requests += 1  # usage.credits follows requests
        progress.add(1, 10)
        await asyncio.sleep(0.01)
    await progress.close()
    elapsed = time.monotonic() - started
    text = stream.getvalue()
    frames = [frame for frame in text.split("\r\x1b[K") if frame]
    assert 1 <= len(frames) <= elapsed / REDRAW_INTERVAL + 2
    assert re.match(r"pages \d+ \| items \d+/300 \| credits \d+ \| \d+\.\d req/s", frames[0])
    assert text.endswith("\r\x1b[K")  # cleared
    usage.retries = 2
    line = progress.line()
    assert "pages 30 | items 300/300 | credits 30 | " in line
    assert re.search(r"\d+\.\d req/s \| retries 2 \| \d+s$", line)


async def test_progress_off_writes_nothing() -> None:
    stream = FakeTTY()
    progress = Progress(stream, Usage(), enabled=False, total=None)
    progress.start()
    progress.draw()
    progress.say("done")
    await progress.close()
    assert stream.getvalue() == ""


def test_progress_follows_whether_stderr_is_a_terminal(
    server: FakeKeyAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = str(tmp_path / "inf.jsonl")
    argv = cli(server, "influencers", "list", "--region", "US", "--limit", "30", "-o", out)
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    assert main(argv) == 0
    assert "\r\x1b[Kpages " in tty.getvalue()
    summary = tty.getvalue().rsplit("\r\x1b[K", 1)[1]  # after the line is cleared
    assert re.fullmatch(
        rf"keyapi-async: 30 records \(3 pages\) -> {re.escape(out)} \| "
        r"3 credits, 0 retries, 0 429s, 0 cache hits, \d+\.\ds\n",
        summary,
    )
    plain = FakeTTY()
    monkeypatch.setattr(sys, "stderr", plain)
    assert main([*argv, "--no-progress"]) == 0
    assert plain.getvalue().startswith("keyapi-async: 30 records (3 pages)")  # the summary only
    quiet = FakeTTY()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert main([*argv, "--no-progress", "--quiet"]) == 0
    assert quiet.getvalue() == ""


@pytest.mark.skipif(sys.platform == "win32", reason="pty")
def test_progress_on_a_real_terminal(tmp_path: Path) -> None:
    master, slave = os.openpty()
    out = tmp_path / "inf.jsonl"
    argv = ["--sandbox", "influencers", "list", "--region", "US", "--limit", "200", "-o"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "keyapi_async", *argv, str(out)],
        stderr=slave,
        stdout=subprocess.DEVNULL,
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=30) == 0
    text = seen.decode()
    assert "\r\x1b[Kpages 0 | items 0/200 | credits 0 | " in text
    assert "req/s | retries 0 | " in text
    assert "200 records (20 pages) -> " in text
    assert len(decode_lines(out.read_bytes())) == 200
