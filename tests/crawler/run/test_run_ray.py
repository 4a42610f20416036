"""`linksweep run` with `[engine] name = "ray"` on a cluster of two simulated nodes: every stage that runs units
(ingest, match) runs them on the cluster, and the run ends with the tables and the export bytes of the same
config run on the local engine."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from tests.crawler.engines.ray_cluster import ray_cluster
from tests.crawler.run.test_runner import exports, linksweep, make_config, table_digests

pytest.importorskip("ray")
pytestmark = pytest.mark.ray


def test_a_run_on_ray_ends_with_the_tables_and_exports_of_a_local_run(tmp_path):
    folder = tmp_path / "run"
    done = linksweep("run", "--config", str(make_config(folder)), "--json")
    assert done.returncode == 0, done.stderr
    store = folder / "out" / "store.duckdb"
    local_tables, local_exports = table_digests(store), exports(folder)
    shutil.rmtree(folder / "out")
    with ray_cluster(1, 1) as address:
        config = make_config(folder, f'[engine]\nname = "ray"\nray_address = "{address}"\n')
        on_ray = linksweep("run", "--config", str(config), "--json")
    assert on_ray.returncode == 0, on_ray.stderr
    assert json.loads(on_ray.stdout)["stages"]["ingest"]["counts"]["files"] == 3
    con = duckdb.connect(str(store), read_only=True)
    [(run_pid,)] = con.execute("SELECT pid FROM runs").fetchall()
    con.close()
    workers = {
        json.loads(manifest.read_text())["worker"]
        for manifest in (store.with_name(store.name + ".parts") / "sources").glob("*/manifest.json")
    }
    assert workers and all(int(worker.split(":")[1]) != run_pid for worker in workers)  # Ray's workers read
    assert table_digests(store) == local_tables
    assert exports(folder) == local_exports != {}
