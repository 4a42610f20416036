"""The removal list: one schema whatever the data, list columns in a stable order, the same bytes for the same
data, and CSV cells that a spreadsheet shows as text rather than runs as formulas."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler.corpus.synthetic import response_record, write_warc
from tests.cli_runner import run

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"
# links whose raw text a spreadsheet would run: each resolves (relative to the page) to a URL on a listed host
FORMULAS = ['=HYPERLINK("https://evil.test/","x")', "+1+cmd", "-2+3", "@SUM(1)", "\tx", "\rx"]


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("removals")
    db = folder / "sample.duckdb"
    run(db, "demo", "--sample-dir", str(SAMPLE), "--out", str(folder / "demo.csv"))
    (folder / "nothing").mkdir()
    run(db, "ingest", "--snapshot", "EMPTY", str(folder / "nothing"))
    run(db, "match", "--snapshot", "EMPTY")
    return db


def export(db: Path, out: Path, snapshot: str = "SAMPLE-2026-01") -> Path:
    run(db, "export", "--snapshot", snapshot, "--out", str(out))
    return out


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_two_exports_of_the_same_data_are_the_same_bytes(sample_db, tmp_path, suffix):
    first = export(sample_db, tmp_path / f"a{suffix}").read_bytes()
    assert first == export(sample_db, tmp_path / f"b{suffix}").read_bytes()


def test_an_empty_snapshot_has_the_schema_of_a_full_one(sample_db, tmp_path):
    full = pq.read_schema(export(sample_db, tmp_path / "full.parquet"))
    empty_file = export(sample_db, tmp_path / "empty.parquet", snapshot="EMPTY")
    assert pq.read_table(empty_file).num_rows == 0
    assert pq.read_schema(empty_file) == full
    for column in ("lists", "categories", "list_versions", "detected_via", "link_kinds"):
        assert pa.types.is_list(full.field(column).type) and full.field(column).type.value_type == pa.string(), column
    assert full.field("record_offset").type == pa.int64()
    assert all(field.nullable for field in full)
    empty_csv = export(sample_db, tmp_path / "empty.csv", snapshot="EMPTY").read_text().splitlines()
    full_csv = export(sample_db, tmp_path / "full.csv").read_text().splitlines()
    assert empty_csv == full_csv[:1]  # the header alone
    assert export(sample_db, tmp_path / "empty.jsonl", snapshot="EMPTY").read_bytes() == b""


def test_a_snapshot_never_matched_is_refused_not_exported_empty(sample_db, tmp_path):
    """Without verdicts an export would say "nothing to remove" about a snapshot nobody checked."""
    run(sample_db, "ingest", "--snapshot", "UNMATCHED", str(tmp_path))
    done = run(sample_db, "export", "--snapshot", "UNMATCHED", "--out", str(tmp_path / "r.csv"), expect=2)
    assert "snapshot 'UNMATCHED' has no verdicts yet: run `linksweep match --snapshot UNMATCHED` first" in done.output
    assert not (tmp_path / "r.csv").exists()


def test_drop_document_rows_have_no_link(sample_db, tmp_path):
    rows = pq.read_table(export(sample_db, tmp_path / "r.parquet")).to_pylist()
    jsonl = [json.loads(line) for line in export(sample_db, tmp_path / "r.jsonl").read_text().splitlines()]
    assert rows == jsonl
    dropped = [row for row in rows if row["action"] == "drop_document"]
    assert dropped and all(row["link_url"] is None and row["link_kinds"] is None for row in dropped)
    stripped = [row for row in rows if row["action"] == "strip_link"]
    assert stripped and all(row["link_url"] and row["link_kinds"] for row in stripped)
    for row in rows:
        assert row["lists"] == ["sample-blocklist"]
        assert row["categories"] == ["sample-harm"]
        assert row["list_versions"] == ["sample-blocklist@v1"]
        assert row["detected_via"] == ["static"]
    assert {tuple(row["link_kinds"]) for row in stripped} >= {("a",)}
    assert all(row["link_kinds"] == sorted(row["link_kinds"]) for row in stripped)


def test_csv_flattens_list_columns(sample_db, tmp_path):
    rows = list(csv.DictReader(export(sample_db, tmp_path / "r.csv").open()))
    assert all(row["lists"] == "sample-blocklist" and row["list_versions"] == "sample-blocklist@v1" for row in rows)
    dropped = [row for row in rows if row["action"] == "drop_document"]
    assert dropped and all(row["link_url"] == "" and row["link_kinds"] == "" for row in dropped)


@pytest.fixture(scope="module")
def formula_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formulas")
    links = "".join(f"<a href='{formula}'>x</a>" for formula in FORMULAS)
    page = f"<html><head><base href='https://listed.example.org/'></head><body>{links}</body></html>".encode()
    corpus = folder / "c.warc.gz"
    write_warc(corpus, [response_record("https://page.example.org/", page)], gzipped=True)
    listing = folder / "list.txt"
    listing.write_text("listed.example.org\n")  # every link of the page resolves under it
    db = folder / "f.duckdb"
    run(db, "ingest", "--snapshot", "F", str(corpus))
    run(db, "blocklist", "add", "formulas", str(listing), "--format", "domains")
    run(db, "match", "--snapshot", "F")
    return db


def test_csv_cells_that_start_a_formula_are_shown_as_text(formula_db, tmp_path):
    exact = pq.read_table(export(formula_db, tmp_path / "f.parquet", snapshot="F")).to_pylist()
    raw = sorted(row["link_raw_url"] for row in exact if row["link_raw_url"] is not None)
    assert {formula.strip() for formula in FORMULAS} & set(raw), raw  # Parquet keeps the values as written
    text = export(formula_db, tmp_path / "f.csv", snapshot="F").read_text()
    cells = [cell for row in csv.reader(text.splitlines(keepends=True)) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert sorted(row["link_raw_url"] for row in csv.DictReader(text.splitlines(keepends=True))) == sorted(
        f"'{value}" if value[:1] in "=+-@\t\r" else value for value in raw
    )


def test_sql_csv_is_spreadsheet_safe_and_jsonl_exact(formula_db):
    query = (
        "SELECT '=1+1' AS a, '-2' AS b, '@x' AS c, 'ok=' AS d, -5 AS n, ['=x', 'y'] AS l, '+1' AS p,"
        " chr(9) || 'tab' AS t, chr(13) || 'cr' AS r"
    )
    output = run(formula_db, "sql", "--format", "csv", query).output
    rows = list(csv.reader(output.splitlines(keepends=True)))
    assert rows == [
        ["a", "b", "c", "d", "n", "l", "p", "t", "r"],
        ["'=1+1", "'-2", "'@x", "ok=", "-5", "'=x; y", "'+1", "'\ttab", "'\rcr"],
    ]
    exact = json.loads(run(formula_db, "sql", "--format", "jsonl", query).output)
    assert exact == {
        "a": "=1+1",
        "b": "-2",
        "c": "@x",
        "d": "ok=",
        "n": -5,
        "l": ["=x", "y"],
        "p": "+1",
        "t": "\ttab",
        "r": "\rcr",
    }


def test_sql_csv_writes_structs_and_maps_as_json(formula_db):
    query = "SELECT {'a': 1, 'b': '=x'} AS s, map(['k'], [2]) AS m, [{'c': 3}] AS l, NULL::STRUCT(a INT) AS n"
    result = run(formula_db, "sql", "--format", "csv", query)
    rows = list(csv.reader(result.output.splitlines(keepends=True)))
    assert rows[0] == ["s", "m", "l", "n"]
    assert [json.loads(cell) for cell in rows[1][:3]] == [{"a": 1, "b": "=x"}, [["k", 2]], [{"c": 3}]]
    assert rows[1][3] == ""


def test_a_failed_export_leaves_the_store_closed(sample_db, tmp_path):
    # the failed export's traceback kept its Arrow reader, which kept the read-only database open in this
    # process: the next read-write open of the same file failed ("a different configuration")
    from pipelines.export import ExportNotWritable, export_snapshot
    from pipelines.store import open_store

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    with pytest.raises(ExportNotWritable) as failed:
        export_snapshot(sample_db, "SAMPLE-2026-01", blocker / "removals.csv")
    assert failed.value.__traceback__ is not None  # kept, as a CLI runner or a debugger keeps it
    open_store(sample_db).close()
