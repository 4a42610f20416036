"""Ingest runs stopped midway (kill -9, or a commit step stopped between a file's URLs and its rows), then
rerun: the tables of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

import crawler.ingest.runner
from crawler.ingest import ingest
from tests.crawler.ingest.corpora import make_corpus, table_contents


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
    # kill once the first file's unit has published its parts and before the last one has
    sources = killed_db.with_name(killed_db.name + ".parts") / "sources"
    deadline = time.monotonic() + 60
    while not (sources / "0000000001").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    readers = children_of(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert len(readers) == (workers if workers > 1 else 0)
    # no worker process outlives the killed ingest
    deadline = time.monotonic() + 10
    while alive(readers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(readers) == []

    con = duckdb.connect(str(killed_db), read_only=True)
    statuses = [row[0] for row in con.execute("SELECT status FROM sources ORDER BY source_id").fetchall()]
    con.close()
    published = {int(folder.name) for folder in sources.iterdir() if (folder / "manifest.json").exists()} - {0}
    assert statuses.count("pending") == 6 and 1 <= len(published) < 6  # the kill really came mid-run

    rerun = ingest(killed_db, "S1", corpus, workers=1, show_progress=False)
    # only the units without a published manifest ran again; the others were folded as they were
    assert rerun.units_run == 6 - len(published) and rerun.files == 6
    for source_id in published:
        assert json.loads((sources / f"{source_id:010d}" / "manifest.json").read_text())["attempts"] == 1
    assert table_contents(killed_db) == table_contents(reference_db)
    assert not list((killed_db.with_name(killed_db.name + ".parts") / "tmp").iterdir())  # nothing half-written


class _KilledAfterTheFold(BaseException):
    """Stands for a kill -9 after the URL index's bucket units published their parts, before the transaction
    that records the sources and the fold."""


def test_a_fold_killed_before_its_record_is_discarded_and_done_again(tmp_path, monkeypatch):
    corpus = make_corpus(tmp_path / "corpus", files=4, pages=60)
    reference, killed = tmp_path / "reference.duckdb", tmp_path / "killed.duckdb"
    ingest(reference, "S1", corpus, workers=1, show_progress=False)

    def killed_before_the_record(*args, **kwargs):
        raise _KilledAfterTheFold

    monkeypatch.setattr(crawler.ingest.runner, "fold_sources", killed_before_the_record)
    with pytest.raises(_KilledAfterTheFold):
        ingest(killed, "S1", corpus, workers=1, show_progress=False)
    monkeypatch.undo()
    index = killed.with_name(killed.name + ".parts") / "urls"
    assert list(index.glob("*/0000000001.parquet"))  # fold 1 published parts, and was never recorded
    con = duckdb.connect(str(killed), read_only=True)
    assert con.execute("SELECT fold_id, status FROM url_folds").fetchall() == [(1, "running")]
    con.close()

    rerun = ingest(killed, "S1", corpus, workers=1, show_progress=False)
    assert rerun.units_run == 0 and rerun.files == 4  # every unit had published: only the fold ran again
    assert not list(index.glob("*/0000000001.parquet")) and list(index.glob("*/0000000002.parquet"))
    assert table_contents(killed) == table_contents(reference)
    con = duckdb.connect(str(killed), read_only=True)
    assert con.execute("SELECT fold_id, status FROM url_folds").fetchall() == [(1, "discarded"), (2, "done")]
    con.close()
