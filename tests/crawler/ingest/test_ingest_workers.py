"""Ingest with worker processes: units folded in batches in source order, a store held elsewhere."""

from __future__ import annotations

import subprocess
import sys
import threading

import duckdb
import pytest

import crawler.ingest.runner
from crawler.ingest import ingest
from pipelines.store import open_store
from tests.crawler.ingest.corpora import make_corpus, make_overlapping_corpus, table_contents


@pytest.mark.parametrize(("workers", "buckets"), [(1, 1), (2, 16), (2, 3)])
def test_the_url_fold_gives_the_same_tables_whatever_the_workers_and_buckets(tmp_path, workers, buckets):
    """The URL index is folded in buckets, each a unit of the engine: each URL's first_source is the smallest id
    of the files that have it, and the tables are those of a 1-worker, 1-bucket ingest."""
    corpus = make_overlapping_corpus(tmp_path / "corpus", files=7)
    for db, count in ((tmp_path / "reference.duckdb", 1), (tmp_path / "s.duckdb", buckets)):
        con = open_store(db)  # the store's setting, fixed before it holds URLs
        con.execute("UPDATE store_settings SET value = ? WHERE name = 'url_buckets'", [str(count)])
        con.close()
    ingest(tmp_path / "reference.duckdb", "S1", corpus, workers=1, show_progress=False)
    summary = ingest(tmp_path / "s.duckdb", "S1", corpus, workers=workers, show_progress=False)
    assert summary.folds == 1 and summary.units_run == 7
    assert table_contents(tmp_path / "s.duckdb") == table_contents(tmp_path / "reference.duckdb")
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    firsts = dict(con.execute("SELECT url, first_source FROM urls").fetchall())
    smallest = dict(
        con.execute("SELECT url, min((doc_id >> 32)::INTEGER) FROM links WHERE url IS NOT NULL GROUP BY url").fetchall()
    )
    parts = con.execute(
        "SELECT count(DISTINCT filename) FROM read_parquet(?, filename = true)",
        [str(tmp_path / "s.duckdb.parts" / "urls" / "*" / "0000000001.parquet")],
    ).fetchone()[0]
    con.close()
    assert firsts["https://everyone.example.org/all"] == 1
    assert {url: firsts[url] for url in smallest} == smallest
    assert parts == buckets  # one part per bucket with new URLs (every bucket here)


def test_a_store_held_elsewhere_fails_the_parallel_ingest_without_leaving_readers_or_hashers(tmp_path, monkeypatch):
    import multiprocessing

    from pipelines.store import StoreLocked

    corpus = make_corpus(tmp_path / "corpus", files=3, pages=2)
    db_path = tmp_path / "held.duckdb"
    open_store(db_path).close()
    monkeypatch.setenv("LINKSWEEP_LOCK_WAIT", "0.3")  # held for longer than the wait for the store
    hold = f"import duckdb, time; c = duckdb.connect({str(db_path)!r}); print('ready'); time.sleep(60)"
    holder = subprocess.Popen(
        [sys.executable, "-c", hold],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        # the traceback kept in `raised` holds ingest's frame: what ingest did not shut down is still there
        with pytest.raises(StoreLocked) as raised:
            ingest(db_path, "S1", corpus, workers=2, show_progress=False)
    finally:
        holder.kill()
        holder.wait()
    assert "in use by another process" in str(raised.value)
    assert multiprocessing.active_children() == []  # the worker pool was shut down
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("sha256")]


def test_a_fold_beyond_the_memory_limit_spills_to_the_staging_folder(tmp_path, monkeypatch):
    """The driver's connection is bounded (STORE_MEMORY_LIMIT): a fold larger than that spills to disk."""
    corpus = make_corpus(tmp_path / "corpus", files=4, pages=600)
    monkeypatch.setattr(crawler.ingest.runner, "STORE_MEMORY_LIMIT", "32MB")
    summary = ingest(tmp_path / "small.duckdb", "S1", corpus, workers=2, show_progress=False)
    assert summary.problems == [] and summary.files == 4
    whole = tmp_path / "whole.duckdb"
    monkeypatch.setattr(crawler.ingest.runner, "STORE_MEMORY_LIMIT", "1GB")
    ingest(whole, "S1", corpus, workers=2, show_progress=False)
    assert table_contents(tmp_path / "small.duckdb") == table_contents(whole)


def test_the_url_buckets_are_chosen_with_the_first_ingest_and_fixed_after(tmp_path):
    from click.testing import CliRunner

    from crawler.cli import main

    corpus = make_overlapping_corpus(tmp_path / "corpus", files=3)
    db = tmp_path / "s.duckdb"

    def linksweep(*args: str):
        return CliRunner().invoke(main, ["--db", str(db), "ingest", "--snapshot", "S1", "--no-progress", *args])

    assert linksweep("--url-buckets", "5", *map(str, corpus[:2])).exit_code == 0
    parts = {path.parent.name for path in (tmp_path / "s.duckdb.parts" / "urls").glob("*/0000000001.parquet")}
    assert parts <= {f"{bucket:03d}" for bucket in range(5)} and len(parts) > 1
    refused = linksweep("--url-buckets", "8", str(corpus[2]))
    assert refused.exit_code == 2 and "fixed" in refused.output
    assert linksweep("--url-buckets", "5", str(corpus[2])).exit_code == 0  # the same count is no change
