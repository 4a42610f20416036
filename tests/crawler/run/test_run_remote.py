"""`linksweep run` against loopback servers only: a Common-Crawl-like mirror (a sample of `cc:` files streamed,
matched, exported, bundled for a hotline, reported in HTML), and a crawl whose hash service is down (exit 20)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from crawler.cli import ExitCode
from crawler.corpus.synthetic import response_record, write_warc
from tests.corpus_mirror import CRAWL, corpus_mirror
from tests.crawl_server import CrawlServer, Route

ROOT = Path(__file__).resolve().parents[3]


def linksweep(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=180
    )


def cc_tree_linking_to(root: Path, web: str, files: int = 5) -> None:
    """A Common-Crawl-like tree whose pages link to listed hosts and to the loopback web at `web`."""
    listing = []
    for number in range(files):
        relative = f"crawl-data/{CRAWL}/segments/1.{number}/warc/part-{number:05d}.warc.gz"
        links = [f"https://h{number}.example.org/p", f"https://bad{number}.example.org/x", f"{web}/start/{number}"]
        page = "".join(f"<a href='{link}'>x</a>" for link in links).encode()
        (root / relative).parent.mkdir(parents=True)
        write_warc(root / relative, [response_record(f"https://site{number}.example.org/", page)], gzipped=True)
        listing.append(relative)
    (root / "crawl-data" / CRAWL / "warc.paths.gz").write_bytes(gzip.compress("\n".join(listing).encode() + b"\n"))


def test_a_run_ingests_a_sample_of_a_crawl_from_a_mirror_crawls_and_reports_it(tmp_path):
    web = CrawlServer(["127.0.0.1"])
    port = web.port("127.0.0.1")
    web.routes.update({f"/start/{number}": Route(302, {"Location": "/final"}, b"") for number in range(5)})
    web.routes["/final"] = Route(200, {"Content-Type": "text/html"}, b"<p>synthetic benign page</p>")
    cc_tree_linking_to(tmp_path / "mirror", f"http://web.test:{port}")
    (tmp_path / "block.txt").write_text("".join(f"bad{number}.example.org\n" for number in range(5)))
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
                [crawl]
                enabled = true
                allow_network = ["127.0.0.1/32"]
                static_hosts = {{ "web.test" = "127.0.0.1" }}
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
        try:
            done = linksweep("run", "--config", str(config), "--json")
        finally:
            web.close()
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
    assert summary["stages"]["crawl"]["counts"]["outcomes"]["resolved"] == 3  # the loopback links of the sample
    assert summary["stages"]["exports"]["counts"]["rows"] == 3  # one listed link in each sampled file
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
