"""--dry-run: nothing is sent (no request reaches the server, no file is written, no key is
needed), and the plan names the requests and the most credits they can cost."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyapi_async._cli import main
from keyapi_async.testing import FakeKeyAPI

from .cli_helpers import SECRET, clean_environment, cli


@pytest.fixture
def server() -> Iterator[FakeKeyAPI]:
    with FakeKeyAPI(influencers=50, api_key=SECRET) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_environment(monkeypatch)


def dry(server: FakeKeyAPI, capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str) -> str:
    out = tmp_path / "out.jsonl"
    assert main(cli(server, *argv, "-o", str(out), "--dry-run")) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert server.requests == []  # sent nothing
    assert list(tmp_path.iterdir()) == []  # wrote nothing: no output, no checkpoint
    assert SECRET not in captured.out
    assert captured.out.startswith("keyapi-async: dry run, nothing sent\n")
    return captured.out


def most_credits(text: str) -> int:
    match = re.search(r"^most credits: ([\d,]+)", text, re.MULTILINE)
    assert match, text
    return int(match.group(1).replace(",", ""))


def test_pages_from_limit(
    server: FakeKeyAPI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = dry(server, capsys, tmp_path, "influencers", "list", "--region", "US", "--limit", "45")
    assert "plan: influencers list: pages 1..5, 10 records each" in text
    assert most_credits(text) == 5
    assert "retried 4 times" in text  # a retry costs a credit too: said, with the real default


def test_pages_from_max_pages_and_start_page(
    server: FakeKeyAPI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["influencers", "list", "--region", "US", "--start-page", "3", "--max-pages", "4"]
    text = dry(server, capsys, tmp_path, *argv, "--page-size", "5")
    assert "pages 3..6, 5 records each" in text
    assert most_credits(text) == 4


def test_nothing_caps_it_says_so_and_names_the_option(
    server: FakeKeyAPI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = dry(server, capsys, tmp_path, "influencers", "list", "--region", "US")
    assert "most credits: no upper bound" in text
    assert "--limit N or --max-pages N" in text
    assert "10,000 requests" in text  # the endpoint's page ceiling (docs: pages up to 10000)


def test_max_credits_is_the_cap(
    server: FakeKeyAPI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["influencers", "list", "--region", "US", "--max-credits", "7"]
    text = dry(server, capsys, tmp_path, *argv)
    assert "no upper bound" not in text
    assert most_credits(text) == 7
    text = dry(server, capsys, tmp_path, *argv, "--limit", "20")
    assert most_credits(text) == 7  # 2 pages, each retried up to 4 times: the cap is the bound
    text = dry(server, capsys, tmp_path, *argv, "--limit", "20", "--max-retries", "1")
    assert most_credits(text) == 4  # 2 pages x (1 + 1 retry), under the cap


def test_detail_batches_from_the_id_count(
    server: FakeKeyAPI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ids = tmp_path.parent / "ids.txt"
    ids.write_text("\n".join(str(10**15 + n) for n in range(45)) + "\n")
    argv = ["influencers", "detail", "--ids-file", str(ids), "--batch-size", "20"]
    text = dry(server, capsys, tmp_path, *argv)
    assert "45 IDs in 3 batches of up to 20" in text
    assert most_credits(text) == 3


def test_fan_out_per_creator(
    server: FakeKeyAPI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["influencers", "videos", "--user-ids", "11,12,13", "--limit", "25"]
    text = dry(server, capsys, tmp_path, *argv)
    assert "3 creators, at most 3 pages of 10 each" in text
    assert most_credits(text) == 9
    text = dry(server, capsys, tmp_path, "influencers", "livestreams", "--user-ids", "11,12")
    assert "most credits: no upper bound" in text
    assert "--limit N or --max-pages N (per creator)" in text


def test_needs_no_key_and_still_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["influencers", "list", "--region", "US", "--limit", "30", "--dry-run"]
    assert main(argv) == 0
    assert most_credits(capsys.readouterr().out) == 3
    assert main([*argv, "--page-size", "11"]) == 2
    assert "page_size: must be an integer 1..10" in capsys.readouterr().err
