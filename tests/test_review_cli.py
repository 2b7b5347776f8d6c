"""Review 3 of the command line: each test is one bug found by real runs, stating the expected
behaviour. They fail on the lead branch at the time of the review."""

from __future__ import annotations

import collections
import platform
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyapi_async import InfluencerDetail, Video
from keyapi_async._cli import main
from keyapi_async.testing import FakeKeyAPI, Fault

from .cli_helpers import (
    LIST_PATH,
    SECRET,
    clean_environment,
    cli,
    decode_lines,
)

BOM = "\ufeff"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeKeyAPI]:
    with FakeKeyAPI(influencers=200, api_key=SECRET) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh(server: FakeKeyAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    clean_environment(monkeypatch)
    server.reset_log()
    server.latency = 0.0


def _creators(server: FakeKeyAPI, n: int) -> list[str]:
    ds = server.dataset
    found = [str(r["user_id"]) for r in ds.influencers if len(ds.videos(str(r["user_id"]))) >= 5]
    return found[:n]


# --- --ids-file ----------------------------------------------------------------------------


def test_ids_file_with_a_utf8_bom_pulls_the_first_creator(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file saved by Excel / Notepad starts with a BOM: it is not part of the first ID.
    Lead: exit 2, "ids_file line 1: must be a numeric user ID, got '\\ufeff...'"."""
    users = _creators(server, 2)
    ids = tmp_path / "ids.txt"
    ids.write_text(BOM + "\n".join(users) + "\n", encoding="utf-8")
    out = tmp_path / "v.jsonl"
    argv = ["influencers", "videos", "--ids-file", str(ids), "--max-pages", "1", "-o", str(out)]
    assert main(cli(server, *argv)) == 0, capsys.readouterr().err
    got = {v.user_id for v in decode_lines(out.read_bytes(), Video)}
    assert got == set(users)


def test_detail_ids_file_with_a_bom_does_not_send_the_first_id_as_a_handle(
    server: FakeKeyAPI, tmp_path: Path
) -> None:
    """Lead: the first line becomes the handle '\\ufeff<digits>', is sent as unique_ids (a
    credit), finds nothing, and the run exits 0 with that creator silently missing."""
    users = _creators(server, 3)
    ids = tmp_path / "ids.txt"
    ids.write_text(BOM + "\n".join(users) + "\n", encoding="utf-8")
    out = tmp_path / "d.jsonl"
    assert main(cli(server, "influencers", "detail", "--ids-file", str(ids), "-o", str(out))) == 0
    got = [d.user_id for d in decode_lines(out.read_bytes(), InfluencerDetail)]
    assert sorted(got) == sorted(users)
    assert all("unique_ids" not in r.params for r in server.requests)


def test_ids_file_that_is_not_utf8_is_bad_usage_exit_2(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input is exit 2 naming --ids-file. Lead: "UnicodeDecodeError: ..." with exit 4, the
    code for an API or network failure."""
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"\xff\xfe1\x002\x00\n")  # UTF-16, as some Windows tools save it
    argv = ["influencers", "videos", "--ids-file", str(ids), "--max-pages", "1"]
    assert main(cli(server, *argv)) == 2
    err = capsys.readouterr().err
    assert "ids-file" in err or "ids_file" in err
    assert server.requests == []


# --- --dry-run -----------------------------------------------------------------------------


def _most_credits(text: str) -> int:
    match = re.search(r"^most credits: ([\d,]+)", text, re.MULTILINE)
    assert match, text
    return int(match.group(1).replace(",", ""))


def test_dry_run_ceiling_under_a_loose_max_credits_counts_the_retries(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """3 pages, --max-credits 100: the most the run can cost is 3 * (1 + 4 retries) = 15, not
    3. Lead prints "most credits: 3 (--max-credits 100, retries included)", and a real run of
    the same command then spends more than that."""
    argv = ["influencers", "list", "--region", "US", "--limit", "25", "--max-credits", "100"]
    assert main(cli(server, *argv, "--dry-run")) == 0
    ceiling = _most_credits(capsys.readouterr().out)
    server.script(Fault.SERVER_ERROR, Fault.SERVER_ERROR, Fault.SERVER_ERROR)
    assert main(cli(server, *argv, "-o", str(tmp_path / "us.jsonl"))) == 0
    spent = len([r for r in server.requests if r.path == LIST_PATH])
    assert spent == 6
    assert ceiling >= spent  # the ceiling is a ceiling
    assert ceiling == 15


# --- --resume ------------------------------------------------------------------------------


def test_resume_without_a_checkpoint_does_not_wipe_and_rebuy_a_finished_output(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run without --resume removes its checkpoint when done. Running it again with --resume
    has nothing to continue: it must not truncate the finished file and buy every page again
    (refuse, naming the missing checkpoint, or buy nothing). Lead: the file is emptied and the
    3 pages are bought a second time."""
    out = tmp_path / "us.jsonl"
    argv = ["influencers", "list", "--region", "US", "--limit", "25", "-o", str(out)]
    assert main(cli(server, *argv)) == 0
    before = out.read_bytes()
    server.reset_log()
    main(cli(server, *argv, "--resume"))
    assert server.requests == []
    assert out.read_bytes() == before


# --- the key -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typo",
    [["--apikey", "KEY"], ["--api-keys", "KEY"], ["--apikey=KEY"]],
    ids=["apikey", "api-keys", "apikey="],
)
def test_a_mistyped_key_option_does_not_echo_the_key(
    server: FakeKeyAPI, capsys: pytest.CaptureFixture[str], typo: list[str]
) -> None:
    """ "An error is one line on stderr, never a traceback, and never shows the key." Lead:
    argparse's message quotes the value: "invalid choice: 'sk_live_...'" /
    "unrecognized arguments: --apikey=sk_live_..."."""
    key = "sk_live_review3_do_not_print_7c1e"
    argv = [a.replace("KEY", key) for a in typo]
    code = main(["--base-url", server.url, *argv, "influencers", "list", "--region", "US"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("keyapi-async: error: ")
    assert key not in err


# --- signals -------------------------------------------------------------------------------


def _reading_stdin(pid: int) -> bool:
    """Linux: one of the process's threads is blocked in read(0, ...) (x86_64 syscall 0, first
    argument fd 0)."""
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            if (task / "syscall").read_text().split()[:2] == ["0", "0x0"]:
                return True
        except OSError:
            continue
    return False


@pytest.mark.skipif(
    not Path("/proc/self/syscall").exists() or platform.machine() != "x86_64",
    reason="needs Linux /proc/PID/syscall on x86_64 to see the process wait on stdin",
)
@pytest.mark.slow  # on the lead branch each case waits out its 10 s timeout
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_waiting_for_ids_on_stdin_stops_the_run(
    server: FakeKeyAPI, sig: signal.Signals
) -> None:
    """`keyapi-async influencers videos --ids-file -` waiting for its upstream (a long `list`)
    must still obey Ctrl-C / SIGTERM: exit 130 without sending anything. Lead: stdin is read
    with a blocking read on the event loop's thread, so the signal handlers never run and the
    process goes on waiting until stdin closes (SIGINT, a second SIGINT and SIGTERM ignored)."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "keyapi_async"),
            *cli(server, "influencers", "videos", "--ids-file", "-", "--max-pages", "1"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while not _reading_stdin(proc.pid):
            assert proc.poll() is None, "ended before reading stdin"
            assert time.monotonic() < deadline, "never read stdin"
            time.sleep(0.01)
        proc.send_signal(sig)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{sig.name} ignored while the CLI waits for IDs on stdin")
        assert code == 130
        assert server.requests == []
        err = proc.stderr.read().decode() if proc.stderr else ""
        assert "Traceback" not in err
    finally:
        proc.kill()
        proc.communicate()


@pytest.mark.slow
def test_resume_while_the_first_run_still_writes_buys_no_page_twice(tmp_path: Path) -> None:
    """A cron job whose previous run has not finished, or a second terminal: `--resume` on an
    output another live run is writing must not buy that run's pages again and write them into
    the same file (refuse it: the output is in use). Lead: no lock; the second run reads the
    live checkpoint, truncates the file under the first and buys the same pages."""
    with FakeKeyAPI(influencers=300, api_key=SECRET, latency=0.05) as fake:
        out = tmp_path / "us.jsonl"
        ckpt = out.with_name(out.name + ".checkpoint")
        argv = cli(fake, "influencers", "list", "--region", "US", "--limit", "300", "-o", str(out))
        first = subprocess.Popen(
            [sys.executable, "-m", "keyapi_async", *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 20
            while not ckpt.exists():
                assert first.poll() is None, "the first run ended before its first checkpoint"
                assert time.monotonic() < deadline
                time.sleep(0.005)
            second = subprocess.run(
                [sys.executable, "-m", "keyapi_async", *argv, "--resume"],
                capture_output=True,
                timeout=60,
                check=False,
            )
            assert first.wait(timeout=60) == 0
        finally:
            first.kill()
            first.communicate()
        assert "Traceback" not in second.stderr.decode()
        pages = collections.Counter(r.params["page_num"] for r in fake.requests)
        assert [p for p, n in pages.items() if n > 1] == []
        records = decode_lines(out.read_bytes())
        assert len(records) == len({r.user_id for r in records})


# --- --redis -------------------------------------------------------------------------------


@pytest.mark.parametrize("qps", ["0", "off"])
def test_redis_budget_without_pacing_is_accepted(
    server: FakeKeyAPI, redis_url: str, capsys: pytest.CaptureFixture[str], qps: str
) -> None:
    """docs/cli.md: `--qps 0` or `off` is no pacing, and `--redis` with `--max-credits` draws on
    the plan's shared budget. A fleet sharing only a budget is a real case. Lead refuses it
    with a message that contradicts itself: "give --qps N (0 means none)" for `--qps 0`."""
    argv = [
        *("--base-url", server.url, "--api-key", SECRET, "--qps", qps),
        *("influencers", "list", "--region", "US", "--limit", "50"),
        *("--redis", redis_url, "--plan", f"review3-{qps}", "--max-credits", "2"),
    ]
    code = main(argv)
    err = capsys.readouterr().err
    assert "0 means none" not in err
    assert code == 3, err  # the shared budget of 2 reached
    assert len(server.requests) == 2
