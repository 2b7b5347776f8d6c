"""Fan-out from the command line: `videos` / `livestreams` for many creators (`--user-ids`,
`--ids-file`, stdin), a pipeline from `list`, per-creator failures and per-creator --resume
after a real SIGINT / SIGTERM of a `python -m keyapi_async` process."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keyapi_async import InfluencerDetail, Livestream, Video
from keyapi_async._cli import main
from keyapi_async.testing import FakeKeyAPI, Fault

from .cli_helpers import (
    LIVESTREAMS_PATH,
    SECRET,
    VIDEOS_PATH,
    checkpoint,
    clean_environment,
    cli,
    decode_lines,
    finish,
    sdk,
    spawn,
    wait_for_checkpoint,
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeKeyAPI]:
    with FakeKeyAPI(influencers=400, api_key=SECRET) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh(server: FakeKeyAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    clean_environment(monkeypatch)
    server.reset_log()
    server.latency = 0.0


def creators(server: FakeKeyAPI, n: int, lo: int = 12, hi: int = 45) -> list[str]:
    """n creators with 2..5 pages of videos each, so pages interleave across creators."""
    ds = server.dataset
    found = [
        str(r["user_id"]) for r in ds.influencers if lo <= len(ds.videos(str(r["user_id"]))) <= hi
    ]
    assert len(found) >= n
    return found[:n]


def by_creator(records: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = collections.defaultdict(list)
    for record in records:
        out[record.user_id].append(record)
    return dict(out)


def requested(server: FakeKeyAPI, path: str = VIDEOS_PATH) -> list[tuple[str, int]]:
    return [
        (r.params["user_id"], int(r.params["page_num"])) for r in server.requests if r.path == path
    ]


def test_videos_of_many_creators_each_in_page_order(server: FakeKeyAPI, tmp_path: Path) -> None:
    users = creators(server, 4)
    out = tmp_path / "videos.jsonl"
    argv = ["influencers", "videos", "--user-ids", ",".join(users), "--concurrency", "3"]
    assert main(cli(server, *argv, "-o", str(out))) == 0
    pages = requested(server)
    assert len(pages) == len(set(pages))  # no page bought twice
    got = by_creator(decode_lines(out.read_bytes(), Video))
    assert set(got) == set(users)
    for user in users:
        assert got[user] == sdk(server, "videos", user_id=user)  # every item once, in order
    assert not out.with_name(out.name + ".failures.jsonl").exists()


def test_pipeline_list_into_videos_through_stdin(server: FakeKeyAPI, tmp_path: Path) -> None:
    """`keyapi-async influencers list ... | keyapi-async influencers videos --ids-file -`"""
    out = tmp_path / "videos.jsonl"
    listing = spawn(server, "influencers", "list", "--region", "US", "--limit", "6")
    videos = subprocess.Popen(
        [
            *(sys.executable, "-m", "keyapi_async", "--base-url", server.url, "--qps", "0"),
            *("influencers", "videos", "--ids-file", "-", "--limit", "15", "-o", str(out)),
            "--quiet",
        ],
        env=_env(),
        stdin=listing.stdout,
        stderr=subprocess.PIPE,
    )
    assert listing.stdout is not None
    listing.stdout.close()  # the second process holds it now
    assert finish(listing)[0] == 0
    code, err = finish(videos)
    assert (code, err) == (0, "")
    people = [r.user_id for r in sdk(server, "list", region="US", limit=6)]
    got = by_creator(decode_lines(out.read_bytes(), Video))
    for user in people:  # a creator without videos has no line; the others up to 15 each
        assert got.get(user, []) == sdk(server, "videos", user_id=user, limit=15)
    assert set(got) <= set(people)
    assert len(got) >= 3


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYAPI_")}
    env["KEYAPI_API_KEY"] = SECRET
    return env


def test_ids_file_lines_are_ids_or_json_objects(server: FakeKeyAPI, tmp_path: Path) -> None:
    users = creators(server, 3)
    ids = tmp_path / "ids.jsonl"
    ids.write_text(
        f'{{"user_id": "{users[0]}", "unique_id": "x"}}\n# a comment\n\n{users[1]}\n'
        f'{{"user_id": {users[2]}}}\n{users[1]}\n'  # a number, and a repeat: pulled once
    )
    out = tmp_path / "lives.jsonl"
    argv = ["influencers", "livestreams", "--ids-file", str(ids), "--max-pages", "1"]
    assert main(cli(server, *argv, "-o", str(out))) == 0
    assert sorted(requested(server, LIVESTREAMS_PATH)) == sorted((u, 1) for u in users)
    got = by_creator(decode_lines(out.read_bytes(), Livestream))
    for user in users:
        assert got.get(user, []) == sdk(server, "livestreams", user_id=user, max_pages=1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--user-ids", "1,x2"], "user_ids[1]: must be a numeric user ID"),
        (["--ids-file", "IDS"], "ids_file line 2: must be a numeric user ID"),
        (["--ids-file", "BAD_JSON"], "ids_file line 1: is a JSON object without a user_id"),
        (["--user-ids", "1", "--start-page", "2"], "--start-page is for one creator"),
        (["--user-ids", "1", "--user-id", "2"], "not also --user-id"),
        (["--user-ids", "1", "--limit", "0"], "limit: must be an integer >= 1"),
    ],
)
def test_bad_creator_lists_exit_2_before_any_request(
    server: FakeKeyAPI,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    (tmp_path / "ids").write_text("123\n@handle\n")
    (tmp_path / "bad").write_text('{"unique_id": "x"}\n')
    argv = [
        str(tmp_path / "ids") if a == "IDS" else str(tmp_path / "bad") if a == "BAD_JSON" else a
        for a in argv
    ]
    assert main(cli(server, "influencers", "videos", *argv)) == 2
    assert message in capsys.readouterr().err
    assert server.requests == []


def test_livestreams_needs_one_or_many_creators(
    server: FakeKeyAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(cli(server, "influencers", "livestreams")) == 2
    err = capsys.readouterr().err
    assert "--user-id" in err
    assert "--user-ids / --ids-file" in err


def test_a_failed_creator_does_not_stop_the_pull(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = creators(server, 3)
    server.script(Fault.BAD_REQUEST)  # the first request: the first creator's page 1
    out = tmp_path / "videos.jsonl"
    argv = ["influencers", "videos", "--user-ids", ",".join(users), "--concurrency", "1"]
    assert main(cli(server, *argv, "-o", str(out))) == 5
    err = capsys.readouterr().err
    assert f"keyapi-async: 1 failed, the rest was pulled; all listed in {out}.failures.jsonl" in err
    assert f"  {users[0]}: BadRequestError: " in err
    assert SECRET not in err
    got = by_creator(decode_lines(out.read_bytes(), Video))
    assert set(got) == set(users[1:])
    for user in users[1:]:
        assert got[user] == sdk(server, "videos", user_id=user)
    failures = out.with_name(out.name + ".failures.jsonl")
    lines = [json.loads(line) for line in failures.read_text().splitlines()]
    assert [(x["user_id"], x["error"], x["status_code"]) for x in lines] == [
        (users[0], "BadRequestError", 400)
    ]
    # The failures file is an ID file: feeding it back retries exactly those creators.
    retry = tmp_path / "retry.jsonl"
    server.reset_log()
    again = ["influencers", "videos", "--ids-file", str(failures), "-o", str(retry)]
    assert main(cli(server, *again)) == 0
    assert {u for u, _ in requested(server)} == {users[0]}
    assert decode_lines(retry.read_bytes(), Video) == sdk(server, "videos", user_id=users[0])
    assert not retry.with_name(retry.name + ".failures.jsonl").exists()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_then_resume_per_creator_buys_no_page_twice(
    server: FakeKeyAPI, tmp_path: Path, sig: signal.Signals
) -> None:
    users = creators(server, 8)
    expected = {user: sdk(server, "videos", user_id=user) for user in users}
    server.reset_log()
    server.latency = 0.03
    out = tmp_path / "videos.jsonl"
    command = ["influencers", "videos", "--user-ids", ",".join(users), "--concurrency", "3"]
    argv = [*command, "-o", str(out), "--resume", "--quiet"]
    proc = spawn(server, *argv)
    # interrupted with some creators done and others part way
    wait_for_checkpoint(out, proc, lambda s: s["pages"] >= 6, "6 pages")
    proc.send_signal(sig)
    code, err = finish(proc)
    assert code == 130, err
    assert err.startswith("keyapi-async: interrupted: ")
    assert "--resume to continue each from its next page" in err
    state = checkpoint(out)
    assert not state["complete"]
    assert out.stat().st_size == state["bytes"]
    # Every page bought was written (the ones in flight were finished): nothing to buy again.
    bought = requested(server)
    assert (
        len(bought) == state["pages"] == sum(c.get("pages", 0) for c in state["creators"].values())
    )
    unfinished = [u for u in users if not state["creators"].get(u, {}).get("done")]
    assert unfinished

    code, err = finish(spawn(server, *argv))
    assert (code, err) == (0, "")
    pages = requested(server)
    assert len(pages) == len(set(pages))  # across both runs, each (creator, page) once
    assert not ({u for u, _ in pages[len(bought) :]} - set(unfinished))  # done ones skipped
    got = by_creator(decode_lines(out.read_bytes(), Video))
    assert got == {user: videos for user, videos in expected.items() if videos}
    assert checkpoint(out)["complete"] is True

    # The same command once more buys nothing; another ID list is refused, by name.
    assert finish(spawn(server, *argv)) == (0, "")
    assert len(requested(server)) == len(pages)
    fewer = ["influencers", "videos", "--user-ids", ",".join(users[:-1]), "-o", str(out)]
    code, err = finish(spawn(server, *fewer, "--resume"))
    assert code == 2
    assert "id_count: 8 -> 7" in err
    assert len(requested(server)) == len(pages)


@pytest.mark.slow
def test_sigkill_then_resume_repeats_at_most_the_pages_in_flight(
    server: FakeKeyAPI, tmp_path: Path
) -> None:
    users = creators(server, 6)
    expected = {user: sdk(server, "videos", user_id=user) for user in users}
    server.reset_log()
    server.latency = 0.03
    out = tmp_path / "videos.jsonl"
    argv = ["influencers", "videos", "--user-ids", ",".join(users), "--concurrency", "2"]
    argv += ["-o", str(out), "--resume", "--quiet"]
    proc = spawn(server, *argv)
    wait_for_checkpoint(out, proc, lambda s: s["pages"] >= 4, "4 pages")
    proc.kill()
    assert finish(proc)[0] == -signal.SIGKILL
    assert finish(spawn(server, *argv)) == (0, "")
    counts = collections.Counter(requested(server))
    repeated = [page for page, n in counts.items() if n > 1]
    assert len(repeated) <= 2 + 1  # the pages in flight, and one written but not checkpointed
    assert max(counts.values()) <= 2
    got = by_creator(decode_lines(out.read_bytes(), Video))
    assert got == {user: videos for user, videos in expected.items() if videos}


def test_detail_ids_set_aside_are_listed_and_exit_5(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = [str(r["user_id"]) for r in server.dataset.influencers[:6]]
    server.script(Fault.BAD_REQUEST)  # the first batch: people[0:2]
    out = tmp_path / "detail.jsonl"
    argv = ["influencers", "detail", "--user-ids", ",".join(people), "--batch-size", "2"]
    assert main(cli(server, *argv, "--concurrency", "1", "-o", str(out))) == 5
    assert "keyapi-async: 2 failed, the rest was pulled" in capsys.readouterr().err
    assert [r.user_id for r in decode_lines(out.read_bytes(), InfluencerDetail)] == people[2:]
    failures = out.with_name(out.name + ".failures.jsonl").read_text().splitlines()
    assert [json.loads(line)["user_id"] for line in failures] == people[:2]
