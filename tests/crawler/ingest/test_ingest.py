"""Ingest runs: idempotent reruns, --force, bad files recorded without stopping, folders, one worker or two."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from tqdm import tqdm

from crawler.corpus.synthetic import response_record, warcinfo_record, write_warc
from crawler.ingest import MissingInput, ingest
from pipelines.store import open_store, parts_root, publish_url_rows
from tests.crawler.ingest.corpora import make_corpus, make_overlapping_corpus, table_contents


def test_rerun_skips_files_already_ingested(tmp_path, db_path):
    corpus = make_corpus(tmp_path / "corpus", files=2, pages=3)
    first = ingest(db_path, "S1", corpus, workers=1, show_progress=False)
    before = table_contents(db_path)
    again = ingest(db_path, "S1", corpus, workers=1, show_progress=False)
    assert (first.files, first.skipped, again.files, again.skipped) == (2, 0, 0, 2)
    assert table_contents(db_path) == before


def test_same_content_under_another_name_is_skipped(tmp_path, db_path):
    [original] = make_corpus(tmp_path / "corpus", files=1, pages=2)
    copy = tmp_path / "elsewhere" / "renamed.warc.gz"
    copy.parent.mkdir()
    copy.write_bytes(original.read_bytes())
    ingest(db_path, "S1", [original], workers=1, show_progress=False)
    assert ingest(db_path, "S1", [copy], workers=1, show_progress=False).skipped == 1


def test_force_rereads_without_duplicating(tmp_path, db_path):
    corpus = make_corpus(tmp_path / "corpus", files=2, pages=3)
    ingest(db_path, "S1", corpus, workers=1, show_progress=False)
    before = table_contents(db_path)
    forced = ingest(db_path, "S1", corpus, workers=1, force=True, show_progress=False)
    assert forced.files == 2
    assert table_contents(db_path) == before


def test_same_file_in_two_snapshots_is_two_sources(tmp_path, db_path):
    corpus = make_corpus(tmp_path / "corpus", files=1, pages=2)
    ingest(db_path, "S1", corpus, workers=1, show_progress=False)
    ingest(db_path, "S2", corpus, workers=1, show_progress=False)
    con = duckdb.connect(str(db_path), read_only=True)
    assert con.execute("SELECT snapshot, documents FROM sources ORDER BY snapshot").fetchall() == [("S1", 2), ("S2", 2)]


@pytest.mark.parametrize("workers", [1, 2])  # with readers, a file's status is recorded after its rows and URLs
def test_bad_file_is_recorded_and_the_run_goes_on(tmp_path, db_path, workers):
    make_corpus(tmp_path / "corpus", files=2, pages=2)
    bad = tmp_path / "corpus" / "part-01b.warc.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage that is not gzip at all")
    summary = ingest(db_path, "S1", [tmp_path / "corpus"], workers=workers, show_progress=False)
    assert summary.files == 3 and summary.failed
    assert [(Path(path).name, status) for path, status, _ in summary.problems] == [("part-01b.warc.gz", "failed")]
    con = duckdb.connect(str(db_path), read_only=True)
    rows = con.execute("SELECT path, status, error, documents FROM sources ORDER BY path").fetchall()
    assert [(Path(r[0]).name, r[1], r[3]) for r in rows] == [
        ("part-00.warc.gz", "done", 2),
        ("part-01.warc.gz", "done", 2),
        ("part-01b.warc.gz", "failed", 0),
    ]
    assert "does not decompress" in rows[2][2]


def test_missing_path_is_an_error_before_anything_runs(tmp_path, db_path):
    with pytest.raises(MissingInput, match="no-such-folder: no such file or folder"):
        ingest(db_path, "S1", [tmp_path / "no-such-folder"], workers=1, show_progress=False)


def test_hidden_files_in_folders_are_ignored(tmp_path, db_path):
    make_corpus(tmp_path / "corpus", files=1, pages=1)
    (tmp_path / "corpus" / ".DS_Store").write_bytes(b"junk")
    assert ingest(db_path, "S1", [tmp_path / "corpus"], workers=1, show_progress=False).problems == []


def test_two_workers_give_the_same_tables_as_one(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", files=3, pages=4)
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    ingest(one, "S1", corpus, workers=1, show_progress=False)
    summary = ingest(two, "S1", corpus, workers=2, show_progress=False)
    assert summary.files == 3 and not summary.failed
    assert table_contents(one) == table_contents(two)


def test_identical_files_in_one_run_are_ingested_once(tmp_path, db_path):
    [original] = make_corpus(tmp_path / "corpus", files=1, pages=2)
    twin = tmp_path / "corpus" / "twin.warc.gz"
    twin.write_bytes(original.read_bytes())
    summary = ingest(db_path, "S1", [tmp_path / "corpus"], workers=2, show_progress=False)
    assert (summary.files, summary.skipped, summary.documents) == (1, 1, 2)
    con = duckdb.connect(str(db_path), read_only=True)
    assert con.execute("SELECT count(*), min(path) FROM sources").fetchone() == (1, str(original.resolve()))


def test_progress_bar_counts_every_byte_and_problems_are_printed_either_way(tmp_path, capsys):
    make_corpus(tmp_path / "corpus", files=2, pages=3)
    (tmp_path / "corpus" / "broken.warc").write_bytes(b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 9\r\n\r\nab")
    total = sum(path.stat().st_size for path in (tmp_path / "corpus").iterdir())
    ingest(tmp_path / "shown.duckdb", "S", [tmp_path / "corpus"], workers=1, show_progress=True)
    shown = capsys.readouterr().err
    done = tqdm.format_sizeof(total)
    assert f"100%|██████████| {done}/{done}" in shown and "broken.warc: partial" in shown
    ingest(tmp_path / "silent.duckdb", "S", [tmp_path / "corpus"], workers=1, show_progress=False)
    silent = capsys.readouterr().err
    assert "100%" not in silent and "broken.warc: partial" in silent


def test_urls_another_tool_added_are_not_recorded_again(tmp_path, db_path):
    """URLs added to the URL index without an ingest (publish_url_rows) keep their row: an ingest folds only
    the URLs no part of their bucket holds."""
    corpus = make_overlapping_corpus(tmp_path / "corpus", files=2)
    con = open_store(db_path)
    publish_url_rows(
        con,
        parts_root(db_path),
        "SELECT 'https://everyone.example.org/all' AS url, 'everyone.example.org' AS host, NULL AS registered_domain,"
        " NULL AS registered_domain_private, NULL AS first_source",
    )
    con.close()
    ingest(db_path, "S1", corpus, workers=1, show_progress=False)
    con = duckdb.connect(str(db_path), read_only=True)
    counts = dict(con.execute("SELECT url, count(*) FROM urls GROUP BY url").fetchall())
    unattributed = con.execute("SELECT url FROM urls WHERE first_source IS NULL").fetchall()
    con.close()
    assert set(counts.values()) == {1} and "https://everyone.example.org/all" in counts
    assert unattributed == [("https://everyone.example.org/all",)] and len(counts) == 68


def test_a_hostile_page_is_ingested_with_its_links_and_a_warning_on_its_file(tmp_path, db_path):
    pytest.importorskip("crawler.corpus._fastlinks", reason="the C extension is not built")
    # 40,000 nested custom elements closed by end tags that match none: building the tree is quadratic (in
    # lexbor too); the links come from the tokenizer alone and the file says so
    hostile = (
        b"<html><body><a href='https://first.test/'>f</a>"
        + b"<x-a>" * 40_000
        + b"</x-b>" * 40_000
        + b"<img src='/deep.png'><a href='https://last.test/'>l</a>"
    )
    path = tmp_path / "hostile.warc.gz"
    write_warc(
        path,
        [
            warcinfo_record("hostile.warc.gz"),
            response_record("https://h.test/hostile", hostile),
            response_record("https://h.test/plain", b"<a href='https://plain.test/'>p</a>"),
        ],
        gzipped=True,
    )
    summary = ingest(db_path, "S1", [path], workers=1, show_progress=False)
    assert not summary.failed and summary.documents == 2
    con = duckdb.connect(str(db_path), read_only=True)
    links = con.execute(
        "SELECT d.target_uri, l.url FROM links l JOIN documents d USING (doc_id) ORDER BY 1, 2"
    ).fetchall()
    assert links == [
        ("https://h.test/hostile", "https://first.test/"),
        ("https://h.test/hostile", "https://h.test/deep.png"),
        ("https://h.test/hostile", "https://last.test/"),
        ("https://h.test/plain", "https://plain.test/"),
    ]
    status, bad_records, notes = con.execute("SELECT status, bad_records, bad_record_errors FROM sources").fetchone()
    assert status == "done" and bad_records == 0
    assert len(notes) == 1 and notes[0].startswith("warning: record 1 at offset ")
    assert "nests too deep to build its tree: links of every element the tokenizer met" in notes[0]
