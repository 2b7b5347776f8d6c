"""--resume: checkpoints, real SIGINT / SIGKILL of a `python -m keyapi_async` process against a
FakeKeyAPI on its own thread, and the request log across both runs."""

from __future__ import annotations

import collections
import csv
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyapi_async import InfluencerDetail
from keyapi_async._cli import main
from keyapi_async.testing import FakeKeyAPI

from .cli_helpers import (
    LIST_PATH,
    SECRET,
    checkpoint,
    clean_environment,
    cli,
    decode_lines,
    finish,
    list_pages,
    wait_for_page,
)
from .cli_helpers import spawn as spawn_cli

LIMIT = 300  # 30 pages of 10
PAGES = LIMIT // 10
QUERY = ["influencers", "list", "--region", "US", "--limit", str(LIMIT)]


@pytest.fixture
def server() -> Iterator[FakeKeyAPI]:
    with FakeKeyAPI(influencers=1000, api_key=SECRET) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_environment(monkeypatch)


def reference(server: FakeKeyAPI, tmp_path: Path, *extra: str) -> bytes:
    """The output of an uninterrupted run; the server's log is cleared afterwards."""
    out = tmp_path / "reference"
    assert main(cli(server, *QUERY, *extra, "--concurrency", "8", "-o", str(out))) == 0
    server.reset_log()
    return out.read_bytes()


def spawn(server: FakeKeyAPI, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    return spawn_cli(server, *QUERY, "-o", str(out), "--resume", *extra)


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_sigint_then_resume_buys_no_page_twice(
    server: FakeKeyAPI, tmp_path: Path, concurrency: str
) -> None:
    expected = reference(server, tmp_path)
    server.latency = 0.05
    out = tmp_path / "inf.jsonl"
    proc = spawn(server, out, "--concurrency", concurrency)
    wait_for_page(out, 3, proc)
    proc.send_signal(signal.SIGINT)
    code, err = finish(proc)
    assert code == 130, err
    assert err.startswith("keyapi-async: interrupted: ")
    assert err.count("\n") == 1
    assert "--resume to continue from page" in err
    assert "Traceback" not in err
    state = checkpoint(out)
    assert not state["complete"]
    assert 3 <= state["last_page"] < PAGES
    assert out.stat().st_size == state["bytes"]
    # The pages in flight were finished and written: all that was bought is on disk.
    assert sorted(list_pages(server)) == list(range(1, state["last_page"] + 1))

    code, err = finish(spawn(server, out, "--concurrency", concurrency))
    assert code == 0, err
    rest = PAGES - state["last_page"]  # the summary counts this run's pages, and the total
    assert err.startswith(f"keyapi-async: {rest * 10} records ({rest} pages) -> {out} (")
    assert f"| {rest} credits, 0 retries, 0 429s, 0 cache hits, " in err
    assert err.count("\n") == 1
    assert out.read_bytes() == expected  # no duplicate, no missing record, same order
    pages = list_pages(server)
    assert sorted(pages) == list(range(1, PAGES + 1))  # each page bought exactly once
    assert checkpoint(out)["complete"] is True

    # Once complete, the same command with --resume sends nothing and changes nothing.
    code, err = finish(spawn(server, out, "--concurrency", concurrency))
    assert (code, err) == (0, f"keyapi-async: {out} is already complete; nothing to do\n")
    assert len(list_pages(server)) == PAGES
    assert out.read_bytes() == expected


def test_sigkill_then_resume_repeats_at_most_the_page_in_flight(
    server: FakeKeyAPI, tmp_path: Path
) -> None:
    expected = reference(server, tmp_path)
    server.latency = 0.05
    out = tmp_path / "inf.jsonl"
    proc = spawn(server, out)
    wait_for_page(out, 3, proc)
    proc.kill()
    code, _ = finish(proc)
    assert code == -signal.SIGKILL
    state = checkpoint(out)
    assert out.stat().st_size >= state["bytes"]  # a tail past the checkpoint is dropped later

    code, err = finish(spawn(server, out, "--quiet"))
    assert (code, err) == (0, "")
    assert out.read_bytes() == expected
    counts = collections.Counter(list_pages(server))
    assert set(counts) == set(range(1, PAGES + 1))
    repeated = [page for page, n in counts.items() if n > 1]
    # concurrency 1: only the page that was in flight (or written, not yet checkpointed)
    assert repeated in ([], [state["last_page"] + 1])
    assert max(counts.values()) <= 2


def test_stopped_by_budget_resumes_dropping_an_unrecorded_tail(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = reference(server, tmp_path)
    out = tmp_path / "inf.jsonl"
    argv = cli(server, *QUERY, "-o", str(out), "--resume")
    assert main([*argv, "--max-credits", "4"]) == 3
    err = capsys.readouterr().err
    assert "CreditBudgetExceeded" in err
    assert "--resume to continue from page 5" in err
    assert checkpoint(out)["last_page"] == 4
    with out.open("ab") as f:
        f.write(b'{"user_id":"1234')  # what a kill in the middle of a write could leave
    assert main(argv) == 0
    assert out.read_bytes() == expected
    assert sorted(list_pages(server)) == list(range(1, PAGES + 1))


def test_csv_resume_writes_the_header_once(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = reference(server, tmp_path, "--format", "csv")
    out = tmp_path / "inf.csv"
    argv = cli(server, *QUERY, "--format", "csv", "-o", str(out), "--resume")
    assert main([*argv, "--max-credits", "2"]) == 3
    assert main(argv) == 0
    assert out.read_bytes() == expected
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows.count(rows[0]) == 1  # one header
    assert len(rows) == LIMIT + 1
    assert sorted(list_pages(server)) == list(range(1, PAGES + 1))


def test_a_different_command_is_refused_and_nothing_is_sent(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "inf.jsonl"
    assert main(cli(server, *QUERY, "-o", str(out), "--max-credits", "3")) == 3
    before = out.read_bytes()
    capsys.readouterr()
    server.reset_log()
    changed = [*QUERY, "--min-total-followers-cnt", "5000", "-o", str(out), "--resume"]
    assert main(cli(server, *changed)) == 2
    err = capsys.readouterr().err
    assert err.startswith("keyapi-async: error: ")
    assert err.count("\n") == 1
    assert "was made by a different command" in err
    assert "min_total_followers_cnt: (unset) -> 5000" in err
    assert "delete the checkpoint to start over" in err
    # Without --resume an unfinished run is not thrown away either.
    assert main(cli(server, *QUERY, "-o", str(out))) == 2
    assert "add --resume to continue it" in capsys.readouterr().err
    # Concurrency and QPS do not change the records: the same run resumes with others.
    assert server.requests == []
    assert out.read_bytes() == before
    resumed = [*QUERY, "-o", str(out), "--resume", "--concurrency", "5", "--qps", "50"]
    assert main(cli(server, *resumed)) == 0
    assert sorted(list_pages(server)) == list(range(4, PAGES + 1))


def test_an_output_shorter_than_its_checkpoint_is_refused(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "inf.jsonl"
    argv = cli(server, *QUERY, "-o", str(out), "--resume")
    assert main([*argv, "--max-credits", "2"]) == 3
    with out.open("r+b") as f:
        f.truncate(out.stat().st_size - 10)
    server.reset_log()
    capsys.readouterr()
    assert main(argv) == 2
    assert "is shorter than its checkpoint records" in capsys.readouterr().err
    assert server.requests == []


def test_detail_resumes_per_batch(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = [str(r["user_id"]) for r in server.dataset.influencers[:23]]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(people) + "\n")
    command = ["influencers", "detail", "--ids-file", str(ids), "--batch-size", "5"]
    assert main(cli(server, *command, "-o", str(tmp_path / "reference"))) == 0
    expected = (tmp_path / "reference").read_bytes()
    server.reset_log()
    out = tmp_path / "detail.jsonl"
    argv = cli(server, *command, "-o", str(out), "--resume", "--concurrency", "1")
    assert main([*argv, "--max-credits", "2"]) == 3
    assert len(decode_lines(out.read_bytes(), InfluencerDetail)) == 10
    assert main(argv) == 0
    assert out.read_bytes() == expected
    batches = [r.params["user_ids"] for r in server.requests]
    assert len(batches) == 5
    assert len(set(batches)) == 5
    assert [r.user_id for r in decode_lines(out.read_bytes(), InfluencerDetail)] == people
    # A different ID list is a different command.
    ids.write_text("\n".join(people[:-1]) + "\n")
    assert main(argv) == 2
    assert "id_count: 23 -> 22" in capsys.readouterr().err


def test_complete_run_with_resume_sends_nothing(server: FakeKeyAPI, tmp_path: Path) -> None:
    out = tmp_path / "inf.jsonl"
    argv = cli(server, "influencers", "list", "--region", "GB", "-o", str(out), "--resume")
    assert main(argv) == 0  # to the end of the list: the last page is short
    state = checkpoint(out)
    assert state["complete"] is True
    assert state["bytes"] == out.stat().st_size
    sent = len(server.requests)
    assert sent == state["pages"]
    assert all(r.path == LIST_PATH for r in server.requests)
    assert main(argv) == 0
    assert len(server.requests) == sent
    # Without --resume the same command starts over and removes the checkpoint at the end.
    assert main(argv[:-1]) == 0
    assert len(server.requests) == 2 * sent
    assert not out.with_name(out.name + ".checkpoint").exists()
