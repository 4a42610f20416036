"""Ingest runs stopped midway (kill -9, or a commit step stopped between a file's URLs and its rows), then
rerun: the tables of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

import crawler.ingest.commit
from crawler.corpus.synthetic import response_record, write_warc
from crawler.ingest import ingest
from pipelines.matching import match_snapshot
from pipelines.store import open_store
from tests.crawler.ingest.corpora import make_corpus, table_contents
from tests.pipelines.matching.test_matching import flagged, load


def children_of(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            children.append(int(stat.parent.name))
    return children


def alive(pids: list[int]) -> list[int]:
    living = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.append(pid)
    return living


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_then_rerun_gives_the_tables_of_an_uninterrupted_run(tmp_path, workers):
    corpus = make_corpus(tmp_path / "corpus", files=6, pages=150)
    reference_db, killed_db = tmp_path / "reference.duckdb", tmp_path / "killed.duckdb"
    ingest(reference_db, "S1", corpus, workers=1, show_progress=False)

    command = [
        sys.executable,
        "-m",
        "crawler.cli",
        "--db",
        str(killed_db),
        "ingest",
        "--snapshot",
        "S1",
        "--workers",
        str(workers),
        "--no-progress",
        *map(str, corpus),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[3]
    )
    # kill once the first file is committed (its staging folder removed) and the third is being read
    staging = killed_db.with_name(killed_db.name + ".staging") / "S1"
    deadline = time.monotonic() + 60
    while (
        not ((staging / "3").exists() and not (staging / "1").exists())
        and process.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.002)
    readers = children_of(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert len(readers) == (workers if workers > 1 else 0)
    # no reader process outlives the killed ingest
    deadline = time.monotonic() + 10
    while alive(readers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(readers) == []

    con = duckdb.connect(str(killed_db), read_only=True)
    statuses = [row[0] for row in con.execute("SELECT status FROM sources ORDER BY source_id").fetchall()]
    con.close()
    assert "pending" in statuses and "done" in statuses  # the kill really came mid-run

    rerun = ingest(killed_db, "S1", corpus, workers=1, show_progress=False)
    assert rerun.skipped == statuses.count("done")
    assert table_contents(killed_db) == table_contents(reference_db)


class _KilledBetweenUrlsAndRows(Exception):
    """Stands for a kill -9 after a source's URLs were committed and before its rows were."""


def _killed_at_source_3(killed_db: Path, corpus: list[Path], workers: int) -> tuple[list, int, int]:
    """An ingest that a patched commit step stops with _KilledBetweenUrlsAndRows at source 3: the sources' status,
    and the URLs and documents source 3 left recorded."""
    with pytest.raises(_KilledBetweenUrlsAndRows):
        ingest(killed_db, "S1", corpus, workers=workers, show_progress=False)
    con = duckdb.connect(str(killed_db), read_only=True)
    try:
        statuses = con.execute("SELECT source_id, status FROM sources ORDER BY source_id").fetchall()
        recorded_by_3 = con.execute("SELECT count(*) FROM urls WHERE first_source = 3").fetchone()[0]
        documents_of_3 = con.execute("SELECT count(*) FROM documents WHERE source_id = 3").fetchone()[0]
    finally:
        con.close()
    return statuses, recorded_by_3, documents_of_3


def test_kill_between_a_files_urls_and_its_rows_then_rerun_gives_the_tables_of_an_uninterrupted_run(
    tmp_path, monkeypatch
):
    corpus = make_corpus(tmp_path / "corpus", files=4, pages=20)
    reference_db, killed_db = tmp_path / "reference.duckdb", tmp_path / "killed.duckdb"
    ingest(reference_db, "S1", corpus, workers=1, show_progress=False)

    commit_rows = crawler.ingest.commit.commit_source_rows

    def killed_at_source_3(con, source_id, staged, outcome):
        if source_id == 3:
            raise _KilledBetweenUrlsAndRows
        commit_rows(con, source_id, staged, outcome)

    monkeypatch.setattr(crawler.ingest.commit, "commit_source_rows", killed_at_source_3)
    statuses, recorded_by_3, documents_of_3 = _killed_at_source_3(killed_db, corpus, workers=1)
    monkeypatch.undo()
    assert statuses == [(1, "done"), (2, "done"), (3, "pending"), (4, "pending")]
    assert recorded_by_3 > 0 and documents_of_3 == 0

    rerun = ingest(killed_db, "S1", corpus, workers=1, show_progress=False)
    assert (rerun.skipped, rerun.files) == (2, 2)
    assert table_contents(killed_db) == table_contents(reference_db)


def test_kill_after_a_files_rows_before_its_urls_then_rerun_gives_the_tables_of_an_uninterrupted_run(
    tmp_path, monkeypatch
):
    """With reader processes, a file's rows are committed beside its URLs: killed after the rows, the file is
    still pending (never done without its URLs), and the rerun records them as an uninterrupted run does."""
    corpus = make_corpus(tmp_path / "corpus", files=4, pages=20)
    reference_db, killed_db = tmp_path / "reference.duckdb", tmp_path / "killed.duckdb"
    ingest(reference_db, "S1", corpus, workers=1, show_progress=False)

    commit_rows, record_urls = crawler.ingest.commit.commit_source_rows, crawler.ingest.commit.record_new_urls
    rows_of_3 = threading.Event()

    def commit_rows_and_tell(con, source_id, staged, outcome, **options):
        commit_rows(con, source_id, staged, outcome, **options)
        if source_id == 3:
            rows_of_3.set()

    def killed_before_the_urls_of_3(con, source_id, staged):
        if source_id == 3:
            assert rows_of_3.wait(30)
            raise _KilledBetweenUrlsAndRows
        record_urls(con, source_id, staged)

    monkeypatch.setattr(crawler.ingest.commit, "commit_source_rows", commit_rows_and_tell)
    monkeypatch.setattr(crawler.ingest.commit, "record_new_urls", killed_before_the_urls_of_3)
    statuses, recorded_by_3, documents_of_3 = _killed_at_source_3(killed_db, corpus, workers=2)
    monkeypatch.undo()
    # file 2's status is recorded once its rows are seen committed, which the kill may have come before
    assert statuses[0] == (1, "done") and statuses[1][1] in ("done", "pending")
    assert statuses[2:] == [(3, "pending"), (4, "pending")] and (recorded_by_3, documents_of_3) == (0, 20)

    rerun = ingest(killed_db, "S1", corpus, workers=1, show_progress=False)
    done = [status for _source, status in statuses].count("done")
    assert (rerun.skipped, rerun.files) == (done, 4 - done)
    assert table_contents(killed_db) == table_contents(reference_db)


def test_a_pending_files_recorded_urls_are_matched_for_the_files_that_link_to_them(tmp_path, monkeypatch, match_kernel):
    """A parallel ingest records each file's URLs before its rows, and commits files' rows concurrently: killed
    at the wrong moment, file 3's rows are in but not file 2's, while the URL both link to was first recorded
    by file 2. Matching must still flag file 3's link."""
    import crawler.ingest.commit

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number, links in ((1, ["https://fine.example.org/"]), (2, ["http://bad.test/x"]), (3, ["http://bad.test/x"])):
        html = "".join(f"<a href='{url}'>x</a>" for url in links).encode()
        write_warc(
            corpus / f"c{number}.warc.gz", [response_record(f"https://p{number}.example.org/", html)], gzipped=True
        )
    commit_rows = crawler.ingest.commit.commit_source_rows

    def rows_of_2_never_committed(con, source_id, staged, outcome):
        if source_id != 2:
            commit_rows(con, source_id, staged, outcome)

    monkeypatch.setattr(crawler.ingest.commit, "commit_source_rows", rows_of_2_never_committed)
    db_path = tmp_path / "db.duckdb"
    ingest(db_path, "S", [corpus], workers=1, show_progress=False)
    monkeypatch.undo()
    (tmp_path / "domains.txt").write_text("bad.test\n")
    con = open_store(db_path)
    assert con.execute("SELECT source_id, status FROM sources ORDER BY 1").fetchall() == [
        (1, "done"),
        (2, "pending"),
        (3, "done"),
    ]
    assert con.execute("SELECT first_source FROM urls WHERE url = 'http://bad.test/x'").fetchall() == [(2,)]
    load(con, "doms", tmp_path / "domains.txt", "domains")
    summary = match_snapshot(con, "S")
    assert flagged(con) == {"http://bad.test/x"} and summary.links_flagged == 1
    con.close()
    ingest(db_path, "S", [corpus], workers=1, show_progress=False)  # the rerun commits file 2's rows
    con = open_store(db_path)
    assert match_snapshot(con, "S").links_flagged == 2
    con.close()
