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
