"""Ingest on a Ray cluster of two simulated nodes: the tables of a local ingest; a worker SIGKILLed mid-unit
(its unit runs again, nothing doubled, nothing half-written left); a driver killed with kill -9 and run
again (only the units without a published manifest run again)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from crawler.ingest import ingest
from tests.crawler.engines.ray_cluster import ray_cluster
from tests.crawler.ingest.corpora import make_corpus, table_contents

pytest.importorskip("ray")
pytestmark = pytest.mark.ray
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def cluster():
    with ray_cluster(1, 1) as address:
        yield address


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    paths = make_corpus(folder, files=6, pages=400)
    reference = folder.parent / "reference.duckdb"
    ingest(reference, "S1", paths, workers=1, show_progress=False)
    return paths, reference


def published(db: Path) -> dict[int, dict]:
    sources = db.with_name(db.name + ".parts") / "sources"
    return {
        int(folder.name): json.loads((folder / "manifest.json").read_text())
        for folder in sources.iterdir()
        if (folder / "manifest.json").exists() and folder.name != "0000000000"
    }


def leftovers(db: Path) -> list[Path]:
    return list((db.with_name(db.name + ".parts") / "tmp").iterdir())


def test_ray_gives_the_tables_of_the_local_engine(cluster, corpus, tmp_path):
    paths, reference = corpus
    summary = ingest(tmp_path / "ray.duckdb", "S1", paths, engine="ray", ray_address=cluster, show_progress=False)
    assert summary.problems == [] and summary.files == 6 and summary.units_run == 6
    assert table_contents(tmp_path / "ray.duckdb") == table_contents(reference)
    workers = {manifest["worker"] for manifest in published(tmp_path / "ray.duckdb").values()}
    assert workers and all(worker.split(":")[1] != str(os.getpid()) for worker in workers)  # in Ray's workers
    assert leftovers(tmp_path / "ray.duckdb") == []


def test_a_worker_killed_mid_unit_has_its_unit_run_again_and_nothing_doubled(cluster, corpus, tmp_path):
    paths, reference = corpus
    db = tmp_path / "killed-worker.duckdb"
    tmp = db.with_name(db.name + ".parts") / "tmp"
    results: list = []
    driver = threading.Thread(
        target=lambda: results.append(ingest(db, "S1", paths, engine="ray", ray_address=cluster, show_progress=False))
    )
    driver.start()
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline:
        # the private folder of source 3's unit, named after the worker's pid, with rows staged: mid-unit
        for folder in tmp.glob("0000000003-*") if tmp.exists() else ():
            if any((folder / "staging").rglob("*.arrow")):
                killed = int(folder.name.split("-")[1])
                os.kill(killed, signal.SIGKILL)
                break
        time.sleep(0.001)
    driver.join(120)
    assert killed is not None, "the unit of source 3 was never caught mid-read"
    [summary] = results
    assert summary.problems == [] and summary.files == 6
    manifests = published(db)
    assert manifests[3]["attempts"] == 2 and manifests[3]["worker"].split(":")[1] != str(killed)
    assert table_contents(db) == table_contents(reference)  # no row twice, none missing
    assert leftovers(db) == []


def test_a_driver_killed_then_run_again_reruns_only_unpublished_units(cluster, corpus, tmp_path):
    paths, reference = corpus
    db = tmp_path / "killed-driver.duckdb"
    command = [sys.executable, "-m", "crawler.cli", "--db", str(db), "ingest", "--snapshot", "S1", "--engine", "ray",
               "--ray-address", cluster, "--no-progress", *map(str, paths)]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sources = db.with_name(db.name + ".parts") / "sources"
    deadline = time.monotonic() + 90
    while process.poll() is None and time.monotonic() < deadline:
        if sources.exists() and len(published(db)) >= 2:
            break
        time.sleep(0.002)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read()
    # the cluster stops the dead driver's tasks; what they published until then stays published
    settled, count = time.monotonic(), len(published(db))
    while time.monotonic() - settled < 3:
        time.sleep(0.2)
        if len(published(db)) != count:
            settled, count = time.monotonic(), len(published(db))
    before = published(db)
    assert 2 <= len(before) < 6, "the kill came after every unit had published"

    rerun = ingest(db, "S1", paths, engine="ray", ray_address=cluster, show_progress=False)
    after = published(db)
    assert rerun.units_run == 6 - len(before) and rerun.files == 6
    assert {source_id: after[source_id] for source_id in before} == before  # published ones were not run again
    assert table_contents(db) == table_contents(reference)
    assert leftovers(db) == []
