"""Every documented example returns data in the sandbox, so a newcomer's first result is never
an empty one. An example with an ID the sandbox lacks fails here.

The examples: each `keyapi-async ...` command in the bash blocks of README.md and docs/, and the
example under each subcommand's --help. The python samples are checked the same way in
test_docs_samples.py (every call they make returns records).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shlex
import sqlite3
from pathlib import Path

import pytest

from keyapi_async._cli import main
from keyapi_async.testing import FakeKeyAPI

from . import endpoints

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMANDS = tuple(row.method for row in endpoints.ALL)  # the CLI's subcommands
PAGED = {row.method for row in endpoints.PAGINATED}
# IDs an example's --ids-file holds: the detail page's own example (docs: influencer-detail-...).
IDS_FILE_CONTENT = "100034034780479488\n100037587565707264\n"


def page_commands(page: Path) -> list[tuple[str, str]]:
    """(where, command) for each `keyapi-async` command in the page's bash blocks."""
    found: list[tuple[str, str]] = []
    fenced, pending, start = False, "", 0
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            fenced = line.strip() == "```bash"
            continue
        if not fenced:
            continue
        if pending:
            pending += " " + line.strip()
        elif "keyapi-async " in line and not line.lstrip().startswith(("pip ", "#")):
            pending, start = line[line.index("keyapi-async ") :].strip(), number
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        if pending and not re.search(r"\[|\bCOMMAND\b", pending):  # a synopsis, not an example
            found.append((f"{page.relative_to(ROOT)}:{start}", pending.split(" | ")[0]))
        pending = ""
    return found


def help_commands() -> list[tuple[str, str]]:
    found = []
    for command in COMMANDS:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["influencers", command, "--help"]) == 0
        for line in out.getvalue().splitlines():
            if line.strip().startswith("keyapi-async "):
                found.append((f"keyapi-async influencers {command} --help", line.strip()))
    return found


def documented_commands() -> list[tuple[str, str]]:
    return [pair for page in PAGES for pair in page_commands(page)] + help_commands()


def _sandboxed(command: str, tmp: Path) -> tuple[list[str], Path, str]:
    """The command's arguments run against the sandbox, its output in tmp; capped to a few pages
    (the example's own limit if lower) so the whole list stays quick."""
    words = shlex.split(command)[1:]
    args: list[str] = ["--sandbox"]
    output, fmt, skip = tmp / "out.jsonl", "jsonl", False
    for i, word in enumerate(words):
        if skip:
            skip = False
            continue
        following = words[i + 1] if i + 1 < len(words) else ""
        if word in ("--output", "-o"):
            output, skip = tmp / Path(following).name, True
        elif word == "--ids-file":
            ids = tmp / Path(following).name
            ids.write_text(IDS_FILE_CONTENT, encoding="utf-8")
            args += [word, str(ids)]
            skip = True
        elif word == "--limit":
            args += [word, str(min(int(following), 30))]
            skip = True
        elif word != "--sandbox":
            if word == "--format":
                fmt = following
            args.append(word)
    subcommand = next((w for w in words if w in COMMANDS), "")
    if subcommand in PAGED and "--limit" not in args and "--max-pages" not in args:
        args += ["--max-pages", "3"]
    return [*args, "--output", str(output)], output, fmt


def _records(output: Path, fmt: str) -> int:
    if fmt == "parquet":
        pq = pytest.importorskip("pyarrow.parquet")
        return int(pq.ParquetFile(output).metadata.num_rows)
    if fmt == "sqlite":
        with contextlib.closing(sqlite3.connect(output)) as db:
            tables = [
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            return sum(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)
    text = output.read_text(encoding="utf-8")
    if fmt == "csv":
        return max(0, len(list(csv.reader(io.StringIO(text)))) - 1)
    return len(text.splitlines())


def test_the_docs_show_cli_examples_for_every_command() -> None:
    shown = " ".join(command for _, command in documented_commands())
    for command in COMMANDS:
        assert re.search(rf"influencers {command}\b", shown), f"no documented `{command}` example"


@pytest.mark.parametrize(("where", "command"), documented_commands())
def test_a_documented_command_returns_data_in_the_sandbox(
    where: str, command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("KEYAPI_API_KEY", "KEYAPI_TOKEN", "KEYAPI_BASE_URL", "KEYAPI_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    args, output, fmt = _sandboxed(command, tmp_path)
    with contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(args)
    assert code == 0, f"{where}: {command}\nexit {code}\n{err.getvalue()}"
    assert _records(output, fmt) >= 1, f"{where}: {command} returned no record in the sandbox"


def test_every_reference_page_example_is_in_the_sandbox() -> None:
    ds = FakeKeyAPI(influencers=10).dataset
    examples = {  # docs: the example response of each reference page
        "influencer-list-analytics.md": ("1000038", "hannahdowns"),
        "influencer-detail-analytics.md": ("100034034780479488", "bible._.verse"),
        "influencer-videos-analytics.md": ("7122344901288068123", "mrmnaznrm_"),
        "influencer-ranking-analytics.md": ("6633792625097490438", "iamjuliocr"),
    }
    for page, (user_id, handle) in examples.items():
        record = ds.by_user_id(user_id)
        assert record is not None, page
        assert record["unique_id"] == handle, page
        assert ds.by_unique_id(handle) is record, page
        assert ds.videos(user_id), page
        assert ds.livestreams(user_id), page
    assert "7456066022957665553" in {v["video_id"] for v in ds.videos("7122344901288068123")}
    rooms = {r["room_id"] for r in ds.livestreams("7288986759428588590")}
    assert "7321509771910417194" in rooms
    for rank_type, date in ((1, "2025-06-03"), (2, "2025-06-02"), (3, "2025-06-01")):
        rows = ds.ranking(date, "US", rank_type, 2)
        assert "6633792625097490438" in {r["user_id"] for r in rows}, (rank_type, date)
