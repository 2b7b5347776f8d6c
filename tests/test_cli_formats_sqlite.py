"""`--format sqlite`, the summary line, the zero-record message, and uvloop, against a FakeKeyAPI
on its own thread (and the sandbox for uvloop)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from keyapi_async import Influencer, Livestream, RankedInfluencer, Video
from keyapi_async._cli import Runner, main
from keyapi_async.testing import FakeKeyAPI, Fault, set_testing

SECRET = "sk_test_sqlite_secret_51c0"
LIST_US = ["influencers", "list", "--region", "US"]
RANKING = [
    "influencers",
    "ranking",
    "--date",
    "2025-06-02",
    "--region",
    "us",
    "--rank-type",
    "week",
    "--influencer-rank-field",
    "total_followers_cnt",
]
SUMMARY_TAIL = r" \| (\d+) credits?, (\d+) retr(?:y|ies), (\d+) 429s, 0 cache hits, \d+\.\ds\n"


@pytest.fixture
def server() -> Iterator[FakeKeyAPI]:
    with FakeKeyAPI(influencers=300, api_key=SECRET) as fake:
        yield fake


def cli(server: FakeKeyAPI, *args: str) -> list[str]:
    return ["--base-url", server.url, "--api-key", SECRET, "--qps", "0", *args]


def pull(server: FakeKeyAPI, db: Path, *argv: str) -> None:
    assert main(cli(server, "-q", *argv, "--format", "sqlite", "-o", str(db))) == 0


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def declared(db: Path, table: str) -> dict[str, str]:
    return {r[1]: r[2] for r in rows(db, f"PRAGMA table_info({table})")}


def jsonl(server: FakeKeyAPI, tmp_path: Path, model: type[Any], *argv: str) -> list[Any]:
    out = tmp_path / "ref.jsonl"
    assert main(cli(server, "-q", *argv, "-o", str(out))) == 0
    return [msgspec.json.decode(line, type=model) for line in out.read_bytes().splitlines()]


# --- sqlite --------------------------------------------------------------------------------


def test_sqlite_list_is_typed_and_reruns_add_no_rows(server: FakeKeyAPI, tmp_path: Path) -> None:
    db = tmp_path / "out.db"
    pull(server, db, *LIST_US, "--limit", "25")
    pull(server, db, *LIST_US, "--limit", "25")  # the same pull again
    pull(server, db, *LIST_US, "--limit", "40")  # overlapping: 25 of these are there already
    assert rows(db, "SELECT count(*), count(DISTINCT user_id) FROM influencers_list") == [(40, 40)]
    types = declared(db, "influencers_list")
    assert types["total_followers_cnt"] == "INTEGER"
    assert types["interaction_rate"] == "REAL"
    assert types["user_id"] == "TEXT"
    assert types["influencer_video_publish_hour"] == "TEXT"  # JSON text
    names = [f.encode_name for f in msgspec.structs.fields(Influencer)]
    assert list(types) == names
    expected = jsonl(server, tmp_path, Influencer, *LIST_US, "--limit", "40")
    stored = rows(db, f"SELECT {', '.join(names)} FROM influencers_list ORDER BY rowid")
    for row, record in zip(stored, expected, strict=True):
        back = dict(zip(names, row, strict=True))
        for name in ("influencer_video_publish_hour", "most_category_product"):
            back[name] = msgspec.json.decode(back[name])
        assert msgspec.convert(back, Influencer) == record


def test_sqlite_videos_and_livestreams_key_on_their_ids(server: FakeKeyAPI, tmp_path: Path) -> None:
    db = tmp_path / "out.db"
    videos = ["influencers", "videos", "--unique-id", "bible._.verse"]
    pull(server, db, *videos, "--limit", "15")
    pull(server, db, *videos, "--limit", "25", "--page-size", "5")
    expected = jsonl(server, tmp_path, Video, *videos, "--limit", "25")
    assert rows(db, "SELECT video_id, created_by_ai FROM influencers_videos ORDER BY rowid") == [
        (v.video_id, int(v.created_by_ai)) for v in expected
    ]
    assert declared(db, "influencers_videos")["created_by_ai"] == "INTEGER"
    live = ["influencers", "livestreams", "--user-id", expected[0].user_id]
    pull(server, db, *live)
    pull(server, db, *live)
    lives = jsonl(server, tmp_path, Livestream, *live)
    assert lives
    assert rows(db, "SELECT room_id FROM influencers_livestreams ORDER BY rowid") == [
        (r.room_id,) for r in lives
    ]


def test_sqlite_ranking_keys_on_the_ranking_and_the_position(
    server: FakeKeyAPI, tmp_path: Path
) -> None:
    db = tmp_path / "out.db"
    pull(server, db, *RANKING, "--limit", "25")
    pull(server, db, *RANKING, "--limit", "35", "--page-size", "7")  # overlaps 1..25
    pull(server, db, *RANKING, "--start-page", "3", "--max-pages", "1")  # positions 21..30 again
    expected = jsonl(server, tmp_path, RankedInfluencer, *RANKING, "--limit", "35")
    got = rows(
        db,
        "SELECT rank_date, rank_region, rank_type, rank_field, rank_category, "
        "rank_product_category, rank_position, user_id FROM influencers_ranking "
        "ORDER BY rank_position",
    )
    assert got == [
        ("2025-06-02", "US", 2, 1, "", "", n, r.user_id) for n, r in enumerate(expected, 1)
    ]
    # Another rank field is another ranking: its rows are added beside, not over, these.
    by_sales = [*RANKING[:-1], "total_sale_cnt"]
    pull(server, db, *by_sales, "--limit", "10")
    counts = "SELECT rank_field, count(*) FROM influencers_ranking GROUP BY 1 ORDER BY 1"
    assert rows(db, counts) == [(1, 35), (2, 10)]


def test_sqlite_detail_upserts_on_user_id(server: FakeKeyAPI, tmp_path: Path) -> None:
    db = tmp_path / "out.db"
    ids = jsonl(server, tmp_path, Influencer, *LIST_US, "--limit", "6")
    first = ",".join(r.user_id for r in ids[:4])
    second = ",".join(r.user_id for r in ids[2:])
    pull(server, db, "influencers", "detail", "--user-ids", first)
    pull(server, db, "influencers", "detail", "--user-ids", second)
    assert sorted(rows(db, "SELECT user_id FROM influencers_detail")) == sorted(
        (r.user_id,) for r in ids
    )


def test_sqlite_resume_after_the_budget_stops_it(server: FakeKeyAPI, tmp_path: Path) -> None:
    db = tmp_path / "out.db"
    argv = cli(server, "-q", *LIST_US, "--limit", "50", "--format", "sqlite", "-o", str(db))
    assert main([*argv, "--max-credits", "2"]) == 3
    assert rows(db, "SELECT count(*) FROM influencers_list") == [(20,)]  # the 2 paid pages
    assert main([*argv, "--resume"]) == 0
    pages = [int(r.params["page_num"]) for r in server.requests]
    assert sorted(pages) == [1, 2, 3, 4, 5]  # none bought twice
    assert rows(db, "SELECT count(DISTINCT user_id), count(*) FROM influencers_list") == [(50, 50)]


def test_a_file_that_is_not_sqlite_is_refused(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "out.jsonl"
    db.write_text('{"user_id": "1"}\n')
    assert main(cli(server, *LIST_US, "--format", "sqlite", "-o", str(db))) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"keyapi-async: error: cannot write {db} as SQLite: ")
    assert err.count("\n") == 1
    assert db.read_text() == '{"user_id": "1"}\n'


# --- the summary line ----------------------------------------------------------------------


def test_summary_line_counts_records_pages_credits_retries_and_429s(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "inf.csv"
    server.script(None, Fault.RATE_LIMIT, Fault.BODY_RATE_LIMIT, None, Fault.SERVER_ERROR)
    argv = [*LIST_US, "--limit", "35", "--format", "csv", "-o", str(out)]
    with set_testing(True):  # the retry waits happen at once
        assert main(cli(server, *argv)) == 0
    err = capsys.readouterr().err  # stderr is not a terminal here: the line is still written
    match = re.fullmatch(
        rf"keyapi-async: 35 records \(4 pages\) -> {re.escape(str(out))}" + SUMMARY_TAIL, err
    )
    assert match, err
    credits, retries, limited = map(int, match.groups())
    assert credits == len(server.requests) == 7  # 4 pages, 3 of their attempts failed
    assert (retries, limited) == (3, 2)
    assert main(cli(server, *argv, "--quiet")) == 0
    assert capsys.readouterr().err == ""


def test_zero_records_says_so_and_explains_region_codes(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "none.jsonl"
    assert main(cli(server, "influencers", "list", "--region", "zz", "-o", str(out))) == 0
    err = capsys.readouterr().err
    assert err.startswith(
        f"keyapi-async: 0 records: nothing matched (1 page) -> {out}; is region ZZ right? "
        "region codes are two upper-case letters such as US | 1 credit, "
    )
    assert err.count("\n") == 1
    assert out.read_bytes() == b""
    videos = ["influencers", "videos", "--unique-id", "nobody.at.all", "-o", str(out)]
    assert main(cli(server, *videos)) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"keyapi-async: 0 records: nothing matched (1 page) -> {out} | ")
    assert "region" not in err


# --- uvloop --------------------------------------------------------------------------------


def _loop_of_a_run(monkeypatch: pytest.MonkeyPatch) -> type[Any]:
    seen: list[type[Any]] = []
    original = Runner.run

    async def run(self: Runner) -> int:
        seen.append(type(asyncio.get_running_loop()))
        return await original(self)

    monkeypatch.setattr(Runner, "run", run)
    assert main(["--sandbox", "-q", *LIST_US, "--limit", "1", "--fields", "user_id"]) == 0
    return seen[0]


def test_the_cli_runs_on_uvloop_when_installed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    uvloop = pytest.importorskip("uvloop")
    assert _loop_of_a_run(monkeypatch) is uvloop.Loop
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if the speedups extra were not there
    assert not issubclass(_loop_of_a_run(monkeypatch), uvloop.Loop)
    assert capsys.readouterr().out.count("user_id") == 2
