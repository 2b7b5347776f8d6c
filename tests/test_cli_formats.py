"""`--format parquet`, `--fields`, a missing extra: the sandbox, and a FakeKeyAPI on its own thread
(faster to start, and it shows what was sent).

Parquet files are read back by pyarrow (the extra), and by DuckDB and polars when installed.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from keyapi_async import Influencer, Video
from keyapi_async._cli import main
from keyapi_async.testing import FakeKeyAPI

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

SECRET = "sk_test_formats_secret_9d2e"
LIST_PATH = "/v1/tiktok/influencer/list/analytics"
LIST_US = ["influencers", "list", "--region", "US"]
HISTOGRAMS = (
    "influencer_video_duration_level",
    "influencer_video_publish_hour",
    "influencer_video_publish_week",
)


@pytest.fixture
def server() -> Iterator[FakeKeyAPI]:
    with FakeKeyAPI(influencers=300, api_key=SECRET) as fake:
        yield fake


def cli(server: FakeKeyAPI, *args: str) -> list[str]:
    return ["--base-url", server.url, "--api-key", SECRET, "--qps", "0", "-q", *args]


def list_pages(server: FakeKeyAPI) -> list[int]:
    return [int(r.params["page_num"]) for r in server.requests if r.path == LIST_PATH]


def jsonl(path: Path, model: type[Any] = Influencer) -> list[Any]:
    return [msgspec.json.decode(line, type=model) for line in path.read_bytes().splitlines()]


def pull(server: FakeKeyAPI, tmp_path: Path, name: str, *argv: str) -> Path:
    out = tmp_path / name
    assert main(cli(server, *argv, "-o", str(out))) == 0
    return out


# --- parquet -------------------------------------------------------------------------------


def test_parquet_has_one_typed_column_per_documented_field(tmp_path: Path) -> None:
    argv = ["--sandbox", "-q", *LIST_US, "--limit", "45"]
    assert main([*argv, "-o", str(tmp_path / "inf.jsonl")]) == 0
    expected = jsonl(tmp_path / "inf.jsonl")
    out = tmp_path / "inf.parquet"
    assert main([*argv, "--format", "parquet", "-o", str(out)]) == 0
    table = pq.read_table(out)
    names = [f.encode_name for f in msgspec.structs.fields(Influencer)]
    assert table.column_names == names
    types = {field.name: field.type for field in table.schema}
    assert types["total_followers_cnt"] == pa.int64()
    assert types["interaction_rate"] == pa.float64()
    assert types["user_id"] == pa.string()
    assert types["seller_id"] == pa.string()
    for name in HISTOGRAMS:
        assert types[name] == pa.map_(pa.string(), pa.int64()), name
    assert types["most_category_product"] == pa.string()  # JSON text (documented)
    rows = table.to_pylist()
    assert len(rows) == len(expected) == 45
    for row, record in zip(rows, expected, strict=True):
        for name in names:
            value = getattr(record, name)
            if name in HISTOGRAMS:
                assert dict(row[name]) == value, name  # buckets in the order sent
                assert [k for k, _ in row[name]] == list(value), name
            elif name == "most_category_product":
                assert msgspec.json.decode(row[name]) == value
            else:
                assert row[name] == value, name
    assert any(row["influencer_video_publish_hour"] for row in rows)


def test_video_parquet_keeps_booleans(server: FakeKeyAPI, tmp_path: Path) -> None:
    argv = ["influencers", "videos", "--unique-id", "bible._.verse", "--limit", "15"]
    expected = jsonl(pull(server, tmp_path, "v.jsonl", *argv), Video)
    assert len(expected) == 15
    table = pq.read_table(pull(server, tmp_path, "v.parquet", *argv, "--format", "parquet"))
    assert table.schema.field("created_by_ai").type == pa.bool_()
    assert table.to_pylist() == [msgspec.structs.asdict(v) for v in expected]


def test_parquet_reads_in_duckdb_and_polars_without_options(
    server: FakeKeyAPI, tmp_path: Path
) -> None:
    duckdb = pytest.importorskip("duckdb")
    pl = pytest.importorskip("polars")
    argv = [*LIST_US, "--limit", "30", "--format", "parquet"]
    out = pull(server, tmp_path, "inf.parquet", *argv)
    expected = pq.read_table(out).to_pylist()
    hour = next(r for r in expected if r["influencer_video_publish_hour"])
    bucket, count = hour["influencer_video_publish_hour"][0]
    sql = f"SELECT count(*), sum(total_followers_cnt) FROM '{out}'"
    db = duckdb.connect()
    assert db.execute(sql).fetchall() == [(30, sum(r["total_followers_cnt"] for r in expected))]
    lookup = (
        f"SELECT influencer_video_publish_hour['{bucket}'] FROM '{out}' "
        f"WHERE user_id = '{hour['user_id']}'"
    )
    assert db.execute(lookup).fetchall() == [(count,)]
    db.close()
    frame = pl.read_parquet(out)
    assert frame.height == 30
    assert frame["user_id"].to_list() == [r["user_id"] for r in expected]
    assert frame["ec_score"].dtype == pl.Float64


def test_parquet_row_groups_are_written_as_pages_arrive(
    server: FakeKeyAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keyapi_async._cli import _parquet

    monkeypatch.setattr(_parquet, "ROW_GROUP_ROWS", 20)
    out = pull(server, tmp_path, "inf.parquet", *LIST_US, "--limit", "95", "--format", "parquet")
    meta = pq.ParquetFile(out).metadata
    assert meta.num_rows == 95
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes == [20, 20, 20, 20, 15]  # 2 pages a group: memory holds one group at most


def test_parquet_writer_flushes_each_row_group_before_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keyapi_async._cli import _columns, _parquet

    monkeypatch.setattr(_parquet, "ROW_GROUP_ROWS", 30)
    path = tmp_path / "v.parquet"
    writer = _parquet.ParquetWriter(path, _columns.columns_of(Video), keep_records=0)
    part = tmp_path / "v.parquet.part"
    seen = []
    for page in range(1, 10):
        records = [Video(video_id=f"{page}-{i}", total_views_cnt=i) for i in range(10)]
        writer.write(page, records)
        seen.append(part.stat().st_size)
    assert not path.exists()  # FILE appears whole, when closed
    # The file grows every 3 pages (a row group of 30), not at the end: the rows are on disk.
    assert seen[0] == seen[1] < seen[2] == seen[3] == seen[4] < seen[5]
    writer.close()
    assert not part.exists()
    assert pq.ParquetFile(path).metadata.num_row_groups == 3


def test_parquet_interrupted_then_resumed_keeps_every_paid_page(
    server: FakeKeyAPI, tmp_path: Path
) -> None:
    argv = [*LIST_US, "--limit", "70", "--format", "parquet"]
    whole = tmp_path / "whole.parquet"
    assert main(cli(server, *argv, "-o", str(whole))) == 0
    server.reset_log()
    out = tmp_path / "inf.parquet"
    assert main(cli(server, *argv, "-o", str(out), "--max-credits", "3")) == 3
    assert pq.read_table(out).num_rows == 30  # the 3 pages bought are in a readable file
    assert not (tmp_path / "inf.parquet.part").exists()
    assert main(cli(server, *argv, "-o", str(out), "--resume")) == 0
    assert sorted(list_pages(server)) == list(range(1, 8))  # each page bought once
    assert pq.read_table(out).equals(pq.read_table(whole))


# --- --fields ------------------------------------------------------------------------------


def test_fields_pick_and_order_columns_in_jsonl_csv_and_parquet(
    server: FakeKeyAPI, tmp_path: Path
) -> None:
    fields = "total_followers_cnt,user_id,influencer_video_publish_hour"
    argv = [*LIST_US, "--limit", "12", "--fields", fields]
    full = jsonl(pull(server, tmp_path, "all.jsonl", *LIST_US, "--limit", "12"))
    lines = pull(server, tmp_path, "f.jsonl", *argv).read_bytes().splitlines()
    decoded = [msgspec.json.decode(line) for line in lines]
    assert [list(d) for d in decoded] == [fields.split(",")] * 12  # in the order given
    assert decoded == [
        {n: msgspec.to_builtins(getattr(r, n)) for n in fields.split(",")} for r in full
    ]
    text = pull(server, tmp_path, "f.csv", *argv, "--format", "csv").read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == fields.split(",")
    assert [row[:2] for row in rows[1:]] == [[str(r.total_followers_cnt), r.user_id] for r in full]
    table = pq.read_table(pull(server, tmp_path, "f.parquet", *argv, "--format", "parquet"))
    assert table.column_names == fields.split(",")
    assert table.column("user_id").to_pylist() == [r.user_id for r in full]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("user_id,nick_nam", "--fields: 'nick_nam' is not a field of influencers list; valid: "),
        ("user_id,,region", "--fields: an empty name is not a field of influencers list"),
        ("user_id,user_id", "--fields names 'user_id' twice"),
    ],
)
def test_fields_refuses_names_before_sending(
    server: FakeKeyAPI,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fields: str,
    message: str,
) -> None:
    argv = [*LIST_US, "--fields", fields, "-o", str(tmp_path / "x.csv"), "--format", "csv"]
    assert main(cli(server, *argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"keyapi-async: error: {message}"), err
    assert err.count("\n") == 1
    if "valid" in message:  # the list of valid names, in the documented order
        valid = [f.encode_name for f in msgspec.structs.fields(Influencer)]
        assert err.rstrip("\n").endswith("valid: " + ", ".join(valid))
    assert server.requests == []
    assert list(tmp_path.iterdir()) == []


def test_binary_formats_need_a_file_and_sqlite_takes_no_fields(
    server: FakeKeyAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt in ("parquet", "sqlite"):
        assert main(cli(server, *LIST_US, "--format", fmt)) == 2
        assert f"--format {fmt} writes a file, not stdout: add --output FILE" in (
            capsys.readouterr().err
        )
    db = str(tmp_path / "x.db")
    assert main(cli(server, *LIST_US, "--format", "sqlite", "-o", db, "--fields", "user_id")) == 2
    assert "an SQLite table keeps every field" in capsys.readouterr().err
    assert server.requests == []


# --- a missing extra -----------------------------------------------------------------------

_WITHOUT_PYARROW = """
import sys
sys.modules["pyarrow"] = None  # as if the parquet extra were not installed
from keyapi_async._cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_parquet_without_pyarrow_is_one_line_naming_the_install(tmp_path: Path) -> None:
    out = tmp_path / "x.parquet"
    argv = ["--sandbox", *LIST_US, "--format", "parquet", "-o", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_PYARROW, *argv],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        b"keyapi-async: error: --format parquet needs pyarrow: pip install 'pyarrow>=14' "
        b"(the keyapi-async[parquet] extra)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_detail_to_parquet_resumes_with_each_influencer_once(
    server: FakeKeyAPI, tmp_path: Path
) -> None:
    listed = jsonl(pull(server, tmp_path, "l.jsonl", *LIST_US, "--limit", "7"))
    ids = tmp_path / "ids.txt"  # one influencer twice: by user ID, then by handle
    ids.write_text("\n".join([*(r.user_id for r in listed), listed[0].unique_id]) + "\n")
    out = tmp_path / "d.parquet"
    argv = ["influencers", "detail", "--ids-file", str(ids), "--batch-size", "2"]
    argv += ["--format", "parquet", "-o", str(out)]
    server.reset_log()
    assert main(cli(server, *argv, "--max-credits", "2")) == 3
    assert pq.read_table(out).num_rows == 4
    assert main(cli(server, *argv, "--resume")) == 0
    assert len(server.requests) == 5  # 4 batches of user IDs and 1 of handles, once each
    user_ids = pq.read_table(out).column("user_id").to_pylist()
    assert user_ids == [r.user_id for r in listed]
