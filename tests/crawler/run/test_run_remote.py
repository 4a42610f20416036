"""`linksweep run` against loopback servers only: a Common-Crawl-like mirror (a sample of `cc:` files streamed,
matched, exported, bundled for a hotline, reported in HTML), and a crawl whose hash service is down (exit 20)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from crawler.cli import ExitCode
from crawler.corpus.synthetic import response_record, write_warc
from tests.corpus_mirror import CRAWL, build_cc_tree, corpus_mirror
from tests.crawl_server import CrawlServer, Route

ROOT = Path(__file__).resolve().parents[3]


def linksweep(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=180
    )


def test_a_run_ingests_a_sample_of_a_crawl_from_a_mirror_and_reports_it(tmp_path):
    build_cc_tree(tmp_path / "mirror", warcs=5, wats=0, pages=10)
    (tmp_path / "block.txt").write_text("".join(f"h{number}.example.org\n" for number in range(0, 500, 7)))
    with corpus_mirror(tmp_path / "mirror") as mirror:
        config = tmp_path / "job.toml"
        config.write_text(
            textwrap.dedent(
                f"""\
                [store]
                db = "out/store.duckdb"
                [snapshot]
                name = "{CRAWL}"
                [[corpus]]
                cc = "{CRAWL}"
                subset = "warc"
                sample = 3
                seed = 1
                base_url = "{mirror.base_url}"
                allow_network = ["127.0.0.0/8"]
                [[lists]]
                kind = "block"
                name = "every-seventh"
                source = "block.txt"
                category = "test-harm"
                reportable = true
                [[exports]]
                path = "out/removals.parquet"
                redact = true
                [[bundles]]
                profile = "generic-json"
                out = "out/bundles"
                include_auto = true
                [report]
                html = "out/report.html"
                redact = true
                """
            )
        )
        done = linksweep("run", "--config", str(config), "--json")
        fetched = [request.path for request in mirror.requests]
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["stages"]["ingest"]["counts"]["files"] == 3
    assert sum(path.endswith(".warc.gz") for path in set(fetched)) == 3  # the sample, not the whole crawl
    con = duckdb.connect(str(tmp_path / "out" / "store.duckdb"), read_only=True)
    remote = con.execute("SELECT count(*), count(remote_url), count(etag) FROM sources").fetchone()
    verdicts = con.execute("SELECT count(*) FROM verdicts WHERE state = 'auto'").fetchone()[0]
    con.close()
    assert remote == (3, 3, 3) and verdicts > 0
    assert summary["stages"]["exports"]["counts"]["rows"] > 0
    assert summary["stages"]["bundles"]["counts"]["bundles"] == 1  # prepared, never sent
    [bundle] = (tmp_path / "out" / "bundles").iterdir()
    assert sorted(path.name for path in bundle.iterdir()) == ["bundle.json", "report.json"]
    page = (tmp_path / "out" / "report.html").read_text().replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "seconds per stage" in page  # the run's own timings
    assert "example.org" not in page.replace("site", "")  # redacted: flagged hosts only as hashes
    assert "http://" not in page and "https://" not in page.replace("https://example.org/linksweep", "")


def test_a_run_whose_hash_service_is_down_exits_20(tmp_path):
    server = CrawlServer(["127.0.0.1"])
    port = server.port("127.0.0.1")
    server.routes.update(
        {
            "/pic.png": Route(200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\nsynthetic benign bytes"),
            "/m/raw_lookup": Route(503, {"Content-Type": "text/plain"}, b"INDEX-STALE"),
            "/status": Route(503, {"Content-Type": "text/plain"}, b"INDEX-STALE"),
        }
    )
    try:
        corpus = tmp_path / "corpus"
        corpus.mkdir()
        page = f"<img src='http://img.test:{port}/pic.png'>".encode()
        write_warc(corpus / "c.warc.gz", [response_record("https://page.example.org/", page)], gzipped=True)
        (tmp_path / "services.json").write_text(
            json.dumps({"services": [{"kind": "hma", "name": "hma-down", "url": f"http://127.0.0.1:{port}"}]})
        )
        config = tmp_path / "job.toml"
        config.write_text(
            textwrap.dedent(
                """\
                [snapshot]
                name = "S"
                [[corpus]]
                paths = ["corpus"]
                [crawl]
                enabled = true
                allow_network = ["127.0.0.1/32"]
                hash_content = true
                hash_services = "services.json"
                static_hosts = { "img.test" = "127.0.0.1", "page.example.org" = "127.0.0.1" }
                [[exports]]
                path = "out/removals.csv"
                """
            )
        )
        done = linksweep("--db", str(tmp_path / "store.duckdb"), "run", "--config", str(config), "--json")
    finally:
        server.close()
    assert done.returncode == ExitCode.UNCHECKED, done.stderr
    summary = json.loads(done.stdout)
    assert summary["stages"]["crawl"]["exit_code"] == ExitCode.UNCHECKED
    assert summary["stages"]["crawl"]["counts"]["unchecked"] == 1
    shown = json.loads(linksweep("--db", str(tmp_path / "store.duckdb"), "runs", "show", "1", "--json").stdout)
    assert shown["exit_code"] == ExitCode.UNCHECKED and shown["status"] == "done"
