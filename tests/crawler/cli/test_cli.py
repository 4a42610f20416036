"""The command line: the sample demo end to end, exports in every format, SQL, and clear errors."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from tests.cli_runner import run

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"
CONTRACT_COLUMNS = [
    "snapshot",
    "source_file",
    "record_id",
    "document_url",
    "link_url",
    "action",
    "reason",
    "matched_rule",
]


@pytest.fixture
def sample_db(tmp_path):
    db = tmp_path / "sample.duckdb"
    run(db, "demo", "--sample-dir", str(SAMPLE), "--out", str(tmp_path / "removals.csv"))
    return db


def test_demo_runs_the_whole_job_and_says_where_the_list_went(tmp_path):
    out = tmp_path / "out" / "removals.csv"
    result = run(tmp_path / "d.duckdb", "demo", "--sample-dir", str(SAMPLE), "--out", str(out))
    assert f"removal list: {out.resolve()}" in result.output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0])[:8] == CONTRACT_COLUMNS
    by_action = {(row["action"], row["document_url"], row["link_url"]) for row in rows}
    assert ("drop_document", "http://harmful-site.test/gallery?id=7", "") in by_action
    assert ("drop_document", "https://cdn.flagged-images.test/dog.jpg", "") in by_action  # a Parquet table row
    assert ("strip_link", "https://www.example.org/portal", "https://img.flagged-images.test/b.png") in by_action
    assert ("strip_link", "https://short.example.org/r/abc", "https://sub.harmful-site.test/x") in by_action
    assert ("strip_link", "https://wat.example.org/page", "https://harmful-site.test/from-wat") in by_action
    table_row = next(row for row in rows if row["document_url"] == "https://cdn.flagged-images.test/dog.jpg")
    assert table_row["record_id"] == "1"
    assert all(row["reason"] == "sample-blocklist (sample-harm)" for row in rows)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_export_formats_hold_the_same_rows(sample_db, tmp_path, suffix):
    out = tmp_path / f"removals{suffix}"
    result = run(sample_db, "export", "--snapshot", "SAMPLE-2026-01", "--out", str(out))
    count = int(result.output.split()[1].replace(",", ""))
    if suffix == ".csv":
        rows = list(csv.DictReader(out.open()))
    elif suffix == ".parquet":
        rows = pq.read_table(out).to_pylist()
    else:
        rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == count == 16
    assert list(rows[0])[:8] == CONTRACT_COLUMNS
    assert not list(tmp_path.glob(".*partial"))


def test_export_refuses_unknown_extension(sample_db, tmp_path):
    result = run(sample_db, "export", "--snapshot", "SAMPLE-2026-01", "--out", str(tmp_path / "x.xlsx"), expect=2)
    assert "cannot tell the format from the extension '.xlsx'" in result.output


def test_unknown_snapshot_exits_2(sample_db, tmp_path):
    result = run(sample_db, "match", "--snapshot", "NOPE", expect=2)
    assert "no snapshot 'NOPE' (known: SAMPLE-2026-01)" in result.output


def test_sql_reads_the_documented_tables(sample_db):
    result = run(
        sample_db, "sql", "--format", "jsonl", "SELECT kind, count(*) AS n FROM links GROUP BY kind ORDER BY kind"
    )
    kinds = {json.loads(line)["kind"] for line in result.output.splitlines()}
    assert {
        "a",
        "img",
        "srcset",
        "iframe",
        "script",
        "link",
        "form",
        "meta-refresh",
        "location-header",
        "text",
    } <= kinds


def test_sql_error_is_reported_not_raised(sample_db):
    result = run(sample_db, "sql", "SELECT * FROM no_such_table", expect=2)
    assert "query failed" in result.output


def test_sql_on_missing_database(tmp_path):
    result = run(tmp_path / "absent.duckdb", "sql", "SELECT 1", expect=2)
    assert "no linksweep database" in result.output


def test_ingest_exit_status_tells_failures(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE / "corpus", corpus)
    (corpus / "broken.warc").write_bytes(b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 99\r\n\r\nshort")
    result = run(tmp_path / "x.duckdb", "ingest", "--snapshot", "S", "--workers", "1", str(corpus), expect=1)
    assert "broken.warc: partial" in result.output or "broken.warc: failed" in result.output
    assert "ingested 7 files" in result.output
    again = run(tmp_path / "x.duckdb", "ingest", "--snapshot", "S", str(corpus), expect=0)
    assert "7 skipped as already ingested" in again.output


def test_ingest_json_gives_the_summary_with_the_units_run(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE / "corpus", corpus)
    (corpus / "broken.warc").write_bytes(b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 99\r\n\r\nshort")
    output = run(tmp_path / "x.duckdb", "ingest", "--snapshot", "S", "--json", str(corpus), expect=1).output
    # stdout is the one JSON object; the problem file's line goes to stderr (mixed in here)
    first = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    assert (first["files"], first["units_run"], first["folds"], first["failed"]) == (7, 7, 1, True)
    assert [problem["path"] for problem in first["problems"]] == [str((corpus / "broken.warc").resolve())]
    assert first["links"] > 0 and first["problems"][0]["status"] in ("partial", "failed")
    again = json.loads(run(tmp_path / "x.duckdb", "ingest", "--snapshot", "S", "--json", str(corpus)).output)
    assert (again["files"], again["skipped"], again["units_run"], again["failed"]) == (0, 7, 0, False)


def test_ingest_missing_path_exits_2(tmp_path):
    result = run(tmp_path / "x.duckdb", "ingest", "--snapshot", "S", str(tmp_path / "nothing"), expect=2)
    assert "no such file or folder" in result.output


def test_db_location_from_environment(tmp_path, monkeypatch):
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("LINKSWEEP_DB", str(db))
    result = CliRunner().invoke(main, ["ingest", "--snapshot", "S", str(SAMPLE / "corpus" / "SAMPLE-00001.warc")])
    assert result.exit_code == 0, result.output
    assert db.exists()


def test_blocklist_add_reports_counts_and_rejects(tmp_path):
    result = run(tmp_path / "b.duckdb", "blocklist", "add", "sample", str(SAMPLE / "lists" / "sample-blocklist.txt"))
    assert "3 entries accepted (2 domain, 1 ip), 1 duplicates, 1 rejected" in result.output
    assert "format auto: domains" in result.output
    assert "sample-blocklist.txt:8: rejected" in result.output
    assert "loaded as version 1" in result.output
    assert (
        "unchanged, still version 1"
        in run(
            tmp_path / "b.duckdb", "blocklist", "add", "sample", str(SAMPLE / "lists" / "sample-blocklist.txt")
        ).output
    )
    listing = run(tmp_path / "b.duckdb", "blocklist", "list").output
    assert "sample" in listing


def test_database_in_use_is_one_clear_line(sample_db):
    import subprocess
    import sys

    import duckdb

    holder = duckdb.connect(str(sample_db))  # another process-level writer
    try:
        result = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "--db", str(sample_db), "sql", "SELECT 1"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[3],
            env={**os.environ, "LINKSWEEP_LOCK_WAIT": "0.3"},
        )
    finally:
        holder.close()
    assert result.returncode == 3
    assert "is in use by another process" in result.stderr and "Traceback" not in result.stderr


def test_progress_bar_on_request(tmp_path):
    result = CliRunner().invoke(
        main, ["--db", str(tmp_path / "p.duckdb"), "ingest", "--snapshot", "S", "--progress", str(SAMPLE / "corpus")]
    )
    assert result.exit_code == 0, result.output
    assert "ingest S: 100%" in result.stderr
    quiet = CliRunner().invoke(
        main, ["--db", str(tmp_path / "q.duckdb"), "ingest", "--snapshot", "S", "--no-progress", str(SAMPLE / "corpus")]
    )
    assert "ingest S:" not in quiet.stderr


def test_status_lists_snapshots_and_problem_files(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE / "corpus", corpus)
    (corpus / "notes.dat").write_text("not a corpus file\n")  # a text name (notes.txt) would be skipped
    db = tmp_path / "s.duckdb"
    run(db, "ingest", "--snapshot", "S", str(corpus), expect=1)
    result = run(db, "status", "--snapshot", "S")
    assert "notes.dat: failed: not a WARC, ARC, WAT, Parquet, JSONL or CSV file" in result.output
    assert "SAMPLE-00000.warc.gz" not in result.output  # files that were read through are not listed


def test_export_to_a_path_with_a_quote(sample_db, tmp_path):
    out = tmp_path / "team's lists" / "removals.csv"
    run(sample_db, "export", "--snapshot", "SAMPLE-2026-01", "--out", str(out))
    assert len(list(csv.DictReader(out.open()))) == 16


def test_status_says_which_lists_are_matched(tmp_path):
    db = tmp_path / "s.duckdb"
    run(db, "demo", "--sample-dir", str(SAMPLE), "--out", str(tmp_path / "r.csv"))
    assert "blocklist sample-blocklist: version 1, 3 entries, domains: matched" in run(db, "status").output
    listing = tmp_path / "more.txt"
    listing.write_text("more.test\n")
    run(db, "blocklist", "add", "more", str(listing))
    # versions are numbered per list: the first load of a list is version 1
    assert "blocklist more: version 1, 1 entries, domains: not matched yet" in run(db, "status").output
