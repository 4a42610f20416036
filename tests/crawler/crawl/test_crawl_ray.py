"""Crawl buckets on a Ray cluster (`ray.cluster_utils.Cluster`, simulated nodes on this machine): every bucket
runs in a fresh worker process, the results are those of the local engine, each host is asked by one process
only and never by more than --per-host requests at once (asserted on the loopback server's log, where a test
extension tags each request with the PID of the process that sent it).

Reserved names only (.test, example.org), all mapped to 127.0.0.1 by the crawl's static host table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

from ray.cluster_utils import Cluster  # noqa: E402 - only once Ray is known to be installed

from crawler.crawl import CrawlOptions, crawl_snapshot  # noqa: E402
from pipelines.crawl import crawl_staging  # noqa: E402
from tests.crawl_server import CrawlServer, Route  # noqa: E402
from tests.snapshot_helpers import ingest_page  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def cluster(request):
    """A Ray cluster of one node with `request.param` CPUs, joined by this process (the crawl's engine uses the
    connection); its workers import this checkout (the tests' helpers too)."""
    started = Cluster(initialize_head=True, head_node_args={"num_cpus": request.param})
    try:
        ray.init(
            address=started.address,
            log_to_driver=False,
            logging_level="warning",
            runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
        )
        yield started
    finally:
        ray.shutdown()
        started.shutdown()


def loopback_web(tmp_path: Path, server: CrawlServer, hosts: int, links: int, delay: float = 0.0):
    """A snapshot of one page linking `links` URLs spread over `hosts` hosts; the static host table."""
    port = server.port("127.0.0.1")
    for number in range(links):
        server.routes[f"/p/{number}"] = Route(302, {"Location": f"/q/{number}"})
        server.routes[f"/q/{number}"] = Route(200, {"Content-Type": "text/plain"}, b"ok", delay=delay)
    page = "".join(f"<a href='http://h{n % hosts}.test:{port}/p/{n}'>x</a>" for n in range(links)).encode()
    db = ingest_page(tmp_path, page)
    names = {f"h{n}.test": "127.0.0.1" for n in range(hosts)} | {"page.example.org": "127.0.0.1"}
    return db, names


def crawl_on_ray(db: Path, names: dict, cluster: Cluster, processes: int, per_host: int = 2):
    options = CrawlOptions(
        concurrency=32,
        per_host=per_host,
        assignments=[
            f"LINKSWEEP_STATIC_HOSTS={json.dumps(names)}",
            "LINKSWEEP_MERGE_EVERY=0.5",
            'EXTENSIONS={"tests.crawl_server.TagRequestsWithPid": 0}',
        ],
    )
    return crawl_snapshot(
        db,
        "S",
        options,
        processes=processes,
        verbosity=-1,
        allow_network=["127.0.0.1/32"],
        engine="ray",
        ray_address=cluster.address,
    )


def stored(db: Path) -> tuple[int, int, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT count(*), count(DISTINCT url), count(*) FILTER (WHERE outcome = 'resolved' AND len(hops) = 2)"
            " FROM crawl_results"
        ).fetchone()


@pytest.mark.parametrize("cluster", [1], indirect=True)
def test_three_buckets_on_one_cpu_all_succeed(tmp_path, cluster):
    server = CrawlServer(["127.0.0.1"])
    try:
        db, names = loopback_web(tmp_path, server, hosts=12, links=600)
        summary = crawl_on_ray(db, names, cluster, processes=3)
    finally:
        server.close()
    assert summary.processes == 3
    assert summary.ended == () and summary.not_crawled == 0 and not summary.left_staged
    assert summary.outcomes["resolved"] == 600
    assert stored(db) == (601, 601, 600)  # every link once, each through its redirect, and the page
    processes = {pid for _host, pid, _at in server.tagged}
    assert len(processes) == 3 and str(os.getpid()) not in processes  # a fresh worker process per bucket
    assert not list(crawl_staging(db).glob("*.parquet"))  # queues and batches gone


@pytest.mark.parametrize("cluster", [2], indirect=True)
def test_two_buckets_in_parallel_keep_each_host_in_one_process_and_polite(tmp_path, cluster):
    server = CrawlServer(["127.0.0.1"])
    try:
        db, names = loopback_web(tmp_path, server, hosts=10, links=400, delay=0.1)
        summary = crawl_on_ray(db, names, cluster, processes=2, per_host=2)
    finally:
        server.close()
    assert summary.processes == 2 and summary.ended == () and summary.not_crawled == 0
    assert stored(db) == (401, 401, 400)
    by_host = server.processes_by_host()
    spans: dict[str, list[float]] = defaultdict(list)
    for _host, pid, at in server.tagged:
        spans[pid].append(at)
    assert len(by_host) == 10 and all(len(pids) == 1 for pids in by_host.values()), dict(by_host)
    assert len(spans) == 2 and "" not in spans  # two processes, every request tagged
    first, second = (sorted(times) for times in spans.values())
    assert first[0] < second[-1] and second[0] < first[-1]  # the buckets crawled at the same time
    assert max(server.peak_in_flight.values()) == 2  # the per-host limit was reached, never passed


@pytest.mark.parametrize("cluster", [1], indirect=True)
def test_the_command_line_crawls_on_the_cluster_it_names(tmp_path, cluster):
    server = CrawlServer(["127.0.0.1"])
    try:
        db, names = loopback_web(tmp_path, server, hosts=3, links=30)
        command = [
            sys.executable, "-m", "crawler.cli", "--db", str(db), "crawl", "--snapshot", "S",
            "--allow-network", "127.0.0.1/32", "--set", f"LINKSWEEP_STATIC_HOSTS={json.dumps(names)}",
            "--set", 'EXTENSIONS={"tests.crawl_server.TagRequestsWithPid": 0}',
            "--engine", "ray", "--ray-address", cluster.address,
        ]  # fmt: skip
        crawl = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        out, err = crawl.communicate(timeout=120)
    finally:
        server.close()
    assert crawl.returncode == 0, err[-2000:]
    assert "crawled 31 of 31 queued links" in out and " 1 process)" in out
    assert stored(db) == (31, 31, 30)
    processes = {pid for _host, pid, _at in server.tagged}
    assert len(processes) == 1 and str(crawl.pid) not in processes  # a Ray worker crawled, not the command
