"""A crawl never holds the database: an analyst's read-only query succeeds while it runs, results appear while
it runs, and a crawl killed with SIGKILL resumes without losing or repeating a result. Two processes: the
crawl (`linksweep crawl` in a subprocess) and the queries (another subprocess each)."""

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

from pipelines.crawl import CrawlBatches, merge_batches
from pipelines.store import open_store
from tests.crawl_server import CrawlServer, Route
from tests.snapshot_helpers import ingest_page

ROOT = Path(__file__).resolve().parents[3]
LINKS = 60


@pytest.fixture
def slow_store(tmp_path):
    server = CrawlServer(["127.0.0.1"])
    for number in range(LINKS):
        server.routes[f"/slow/{number}"] = Route(200, {"Content-Type": "text/plain"}, b"ok", delay=0.25)
    port = server.port("127.0.0.1")
    page = "".join(f"<a href='http://s{n % 6}.test:{port}/slow/{n}'>x</a>" for n in range(LINKS)).encode()
    db = ingest_page(tmp_path, page)
    hosts = {f"s{n}.test": "127.0.0.1" for n in range(6)} | {"page.example.org": "127.0.0.1"}
    yield db, hosts, server
    server.close()


def crawl_command(db: Path, hosts: dict) -> list[str]:
    return [
        sys.executable, "-m", "crawler.cli", "--db", str(db), "crawl", "--snapshot", "S",
        "--allow-network", "127.0.0.1/32", "--per-host", "1", "--concurrency", "6",
        "--set", f"LINKSWEEP_STATIC_HOSTS={json.dumps(hosts)}", "--set", "LINKSWEEP_MERGE_EVERY=0.3",
        "--set", "LINKSWEEP_BATCH_ROWS=5", "--set", "AUTOTHROTTLE_ENABLED=False",
    ]  # fmt: skip


def query(db: Path, sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "--db", str(db), "sql", sql, "--format", "csv"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def count_results(db: Path) -> int:
    done = query(db, "SELECT count(*) FROM crawl_results")
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def test_analyst_queries_succeed_while_a_crawl_runs(slow_store):
    db, hosts, _server = slow_store
    crawl = subprocess.Popen(crawl_command(db, hosts), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        seen = []
        while crawl.poll() is None and len(seen) < 20:
            seen.append(count_results(db))  # each query is its own process, read-only, while the crawl runs
            time.sleep(0.2)
        out, err = crawl.communicate(timeout=120)
    finally:
        if crawl.poll() is None:
            crawl.kill()
    assert crawl.returncode == 0, err.decode()[-2000:]
    assert len(seen) >= 3
    assert any(0 < count < LINKS + 1 for count in seen), seen  # results arrived while the crawl was running
    assert count_results(db) == LINKS + 1  # every link and the page itself


def test_a_killed_crawl_resumes_without_losing_or_repeating(slow_store):
    db, hosts, _server = slow_store
    crawl = subprocess.Popen(crawl_command(db, hosts), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and count_results(db) < 10:
            time.sleep(0.1)
        os.kill(crawl.pid, signal.SIGKILL)
        crawl.wait(timeout=30)
    finally:
        if crawl.poll() is None:
            crawl.kill()
    before = count_results(db)
    assert 10 <= before < LINKS + 1
    rerun = subprocess.run(crawl_command(db, hosts), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT url, count(*) FROM crawl_results GROUP BY url").fetchall()
    con.close()
    assert len(rows) == LINKS + 1 and all(count == 1 for _, count in rows)
    # the rerun resolved at most what was not yet stored (staged batches of the killed run merge first)
    queued = int(rerun.stdout.split(" of ", 1)[1].split()[0].replace(",", ""))
    assert queued <= LINKS + 1 - before


def test_merging_a_batch_twice_counts_it_once(tmp_path):
    db = tmp_path / "db.duckdb"
    open_store(db).close()
    folder = tmp_path / "staged"
    batches = CrawlBatches(folder, rows_per_batch=100)
    now = __import__("datetime").datetime(2026, 11, 25, 12, 0)
    for number in range(3):
        batches.add(
            {"url": f"http://a.test/{number}", "crawl_id": "c1", "outcome": "resolved", "hops": [], "fetched_at": now},
        )
    batches.flush()
    # a second run resolves one link again: the later result replaces the earlier one
    batches.add({"url": "http://a.test/1", "crawl_id": "c2", "outcome": "error", "hops": [], "fetched_at": now})
    batches.flush()
    con = open_store(db)
    assert merge_batches(con, folder) == 3
    assert merge_batches(con, folder) == 0  # nothing left staged
    rows = dict(con.execute("SELECT url, crawl_id FROM crawl_results").fetchall())
    con.close()
    assert rows == {"http://a.test/0": "c1", "http://a.test/1": "c2", "http://a.test/2": "c1"}


def test_an_incomplete_batch_is_not_merged(tmp_path):
    folder = tmp_path / "staged"
    batches = CrawlBatches(folder)
    batches.add({"url": "http://a.test/", "crawl_id": "c", "outcome": "resolved", "hops": [], "fetched_at": None})
    path = batches.flush()
    path.unlink()  # as if the process died before renaming the results file into place
    db = tmp_path / "db.duckdb"
    con = open_store(db)
    assert merge_batches(con, folder) == 0
    con.close()


def test_two_processes_split_the_queue_by_host(tmp_path):
    """The default on a multi-core machine: one crawler process per core, each host in one of them."""
    server = CrawlServer(["127.0.0.1"])
    port = server.port("127.0.0.1")
    count = 450
    for number in range(count):
        server.routes[f"/p/{number}"] = Route(302, {"Location": f"/q/{number}"})
        server.routes[f"/q/{number}"] = Route(200, {"Content-Type": "text/plain"}, b"ok")
    page = "".join(f"<a href='http://h{n % 20}.test:{port}/p/{n}'>x</a>" for n in range(count)).encode()
    db = ingest_page(tmp_path, page)
    hosts = {f"h{n}.test": "127.0.0.1" for n in range(20)} | {"page.example.org": "127.0.0.1"}
    command = crawl_command(db, hosts) + ["--processes", "2"]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    finally:
        server.close()
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 processes" in done.stdout
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT count(*), count(DISTINCT url), count(*) FILTER (WHERE outcome = 'resolved' AND len(hops) = 2)"
        " FROM crawl_results"
    ).fetchone()
    con.close()
    assert rows[0] == rows[1] == count + 1  # every link once, and the page
    assert rows[2] == count  # each link followed through its redirect


def test_each_host_is_asked_by_one_process_never_above_the_per_host_limit(tmp_path):
    """The local engine, two buckets: the server sees each host from one crawler process only, and never more
    than --per-host requests of it at once (Scrapy on the asyncio reactor let bursts past the limit:
    crawler/crawl/downloader.py)."""
    server = CrawlServer(["127.0.0.1"])
    port = server.port("127.0.0.1")
    count = 400
    for number in range(count):
        server.routes[f"/p/{number}"] = Route(302, {"Location": f"/q/{number}"})
        server.routes[f"/q/{number}"] = Route(200, {"Content-Type": "text/plain"}, b"ok", delay=0.05)
    page = "".join(f"<a href='http://h{n % 10}.test:{port}/p/{n}'>x</a>" for n in range(count)).encode()
    db = ingest_page(tmp_path, page)
    hosts = {f"h{n}.test": "127.0.0.1" for n in range(10)} | {"page.example.org": "127.0.0.1"}
    command = crawl_command(db, hosts) + [
        "--processes", "2", "--per-host", "2", "--concurrency", "32",
        "--set", 'EXTENSIONS={"tests.crawl_server.TagRequestsWithPid": 0}',
    ]  # fmt: skip
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    finally:
        server.close()
    assert done.returncode == 0, done.stderr[-2000:]
    by_host = server.processes_by_host()
    assert len(by_host) == 10 and all(len(pids) == 1 for pids in by_host.values()), by_host
    assert len(set().union(*by_host.values())) == 2
    assert max(server.peak_in_flight.values()) == 2
