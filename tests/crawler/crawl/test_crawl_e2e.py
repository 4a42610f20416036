"""End-to-end: a real Scrapy crawl (`linksweep crawl`, in a subprocess) against a local server on several
loopback addresses. Listed and refused addresses must receive no request: asserted on the server's log.

Reserved names only (.test, example.org); every name is mapped to a loopback address by the crawl's static
host table, so no DNS query leaves the machine.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.crawl_server import CrawlServer, Route
from tests.snapshot_helpers import ingest_page

ROOT = Path(__file__).resolve().parents[3]
ADDRESSES = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.6"]
NAMES = {
    "a.test": "127.0.0.1",
    "page.example.org": "127.0.0.1",
    "b.test": "127.0.0.2",
    "evil.test": "127.0.0.3",  # listed by name
    "ipname.test": "127.0.0.4",  # 127.0.0.4 is listed as an IP
    "internal.test": "127.0.0.6",  # an address the crawl is not allowed to reach
}
ALLOWED = ["127.0.0.1/32", "127.0.0.2/32", "127.0.0.3/32", "127.0.0.4/32"]  # 127.0.0.6 is not


@pytest.fixture(scope="module")
def server():
    crawl_server = CrawlServer(ADDRESSES)
    yield crawl_server
    crawl_server.close()


def url(server: CrawlServer, name: str, path: str) -> str:
    return f"http://{name}:{server.port(NAMES[name])}{path}"


def run_cli(db: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "--db", str(db), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )
    return done


@pytest.fixture(scope="module")
def crawled(server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("crawl")
    routes = {
        "/ok": Route(200, {"Content-Type": "text/html"}, b"<p>fine</p>"),
        "/chain/1": Route(302, {"Location": url(server, "b.test", "/chain/2")}),
        "/chain/2": Route(301, {"Location": url(server, "a.test", "/chain/3")}),
        "/chain/3": Route(302, {"Location": url(server, "evil.test", "/landing")}),
        "/to-ip": Route(302, {"Location": url(server, "ipname.test", "/x")}),
        "/refresh": Route(
            200,
            {"Content-Type": "text/html"},
            f'<meta http-equiv="refresh" content="0; url={url(server, "evil.test", "/refreshed")}">'.encode(),
        ),
        "/loop1": Route(302, {"Location": "/loop2"}),
        "/loop2": Route(302, {"Location": "/loop1"}),
        "/slow": Route(200, {"Content-Type": "text/plain"}, b"late", delay=3.0),
        "/big": Route(200, {"Content-Type": "application/octet-stream"}, bytes(range(256)) * 200),
        "/internal": Route(302, {"Location": url(server, "internal.test", "/secret")}),
        "/literal": Route(302, {"Location": f"http://127.0.0.6:{server.port('127.0.0.6')}/secret2"}),
        # five hops between the two servers that are allowed, then a listed host
        **{
            f"/c5/{n}": Route(302, {"Location": url(server, "b.test" if n % 2 else "a.test", f"/c5/{n + 1}")})
            for n in range(1, 5)
        },
        "/c5/5": Route(302, {"Location": url(server, "evil.test", "/landing")}),
        "/landing": Route(200, {}, b"must never be fetched"),
        "/refreshed": Route(200, {}, b"must never be fetched"),
        "/x": Route(200, {}, b"must never be fetched"),
        "/secret": Route(200, {}, b"must never be fetched"),
        "/secret2": Route(200, {}, b"must never be fetched"),
    }
    server.routes.update(routes)
    links = ["/ok", "/chain/1", "/c5/1", "/to-ip", "/refresh", "/loop1", "/slow", "/big", "/internal", "/literal"]
    page = "".join(f"<a href='{url(server, 'a.test', path)}'>x</a>" for path in links).encode()
    db = ingest_page(folder, page)
    blocklist = folder / "block.txt"
    blocklist.write_text("evil.test\n127.0.0.4\n")
    assert run_cli(db, "blocklist", "add", "harm", str(blocklist), "--category", "test-harm").returncode == 0
    assert run_cli(db, "match", "--snapshot", "S").returncode == 0
    args = ["crawl", "--snapshot", "S", "--timeout", "1", "--max-content-bytes", "10000"]
    for network in ALLOWED:
        args += ["--allow-network", network]
    args += ["--set", f"LINKSWEEP_STATIC_HOSTS={json.dumps(NAMES)}", "--set", "LINKSWEEP_MERGE_EVERY=0.5"]
    done = run_cli(db, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    results = {
        row[0].split(":", 2)[2].split("/", 1)[1]: row[1:]
        for row in con.execute(
            "SELECT url, outcome, error_class, status, len(hops), final_url FROM crawl_results"
        ).fetchall()
        if row[0].startswith("http://a.test")
    }
    matches = con.execute(
        "SELECT url, matched_rule, expression, evidence FROM url_matches WHERE detected_via = 'redirect'"
    ).fetchall()
    con.close()
    return {
        "db": db,
        "results": results,
        "matches": matches,
        "stdout": done.stdout,
        "stderr": done.stderr,
        "folder": folder,
    }


def test_listed_and_refused_addresses_receive_no_request(crawled, server):
    assert server.requests_to("127.0.0.3") == []  # evil.test, listed by name
    assert server.requests_to("127.0.0.4") == []  # ipname.test resolves to a listed IP
    assert server.requests_to("127.0.0.6") == []  # not an allowed network, by name or as an IP literal
    assert any(path == "/chain/3" for _, _, path in server.requests_to("127.0.0.1"))  # the chain was followed


def test_each_link_gets_its_outcome(crawled):
    results = crawled["results"]
    assert results["ok"][:3] == ("resolved", None, 200)
    assert results["chain/1"][:2] == ("flagged", "flagged-hop") and results["chain/1"][3] == 3
    assert results["c5/1"][:2] == ("flagged", "flagged-hop") and results["c5/1"][3] == 5
    assert results["to-ip"][:2] == ("flagged", "flagged-address")
    assert results["refresh"][:2] == ("flagged", "flagged-hop")
    assert results["loop1"][:2] == ("error", "redirect-loop")
    assert results["slow"][:2] == ("error", "timeout")
    assert results["big"][:2] == ("error", "too-large")
    assert results["internal"][:2] == ("refused", "refused-address")
    assert results["literal"][:2] == ("refused", "refused-address")
    assert "crawled 11 of 11 queued links" in crawled["stdout"]


def test_redirect_matches_carry_the_chain(crawled, server):
    by_link = {row[0].rsplit("/", 2)[-2] + "/" + row[0].rsplit("/", 1)[-1]: row for row in crawled["matches"]}
    chain_row = next(row for link, row in by_link.items() if link.endswith("chain/1"))
    assert chain_row[1] == "evil.test" and chain_row[2] == "evil.test/"
    evidence = json.loads(chain_row[3])
    assert evidence["chain"] == [
        url(server, "a.test", "/chain/1"),
        url(server, "b.test", "/chain/2"),
        url(server, "a.test", "/chain/3"),
        url(server, "evil.test", "/landing"),
    ]
    ip_row = next(row for row in crawled["matches"] if row[0].endswith("/to-ip"))
    assert ip_row[1] == "127.0.0.4" and json.loads(ip_row[3])["resolved_address"] == "127.0.0.4"


def test_export_lists_links_caught_by_redirect(crawled, tmp_path):
    out = tmp_path / "removals.csv"
    assert run_cli(crawled["db"], "export", "--snapshot", "S", "--out", str(out)).returncode == 0
    rows = list(csv.DictReader(out.open()))
    redirected = {row["link_url"].rsplit("/", 1)[-1]: row for row in rows if "redirect" in row["detected_via"]}
    assert {"1", "to-ip", "refresh"} <= set(redirected)
    assert json.loads(redirected["1"]["evidence"])[0]["flagged_hop"].endswith("/landing")


def test_rerun_skips_what_was_resolved(crawled):
    args = ["crawl", "--snapshot", "S", "--set", f"LINKSWEEP_STATIC_HOSTS={json.dumps(NAMES)}"]
    done = run_cli(crawled["db"], *args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "crawled 0 of 0 queued links" in done.stdout


def test_crawl_prints_its_own_lines_not_scrapys_log(crawled):
    """No banner, settings dump, component lists or stats (86 lines for 5 links), no deprecation warning."""
    stderr = crawled["stderr"]
    for scrapy_line in ("Scrapy 2.", "Overridden settings", "Enabled extensions", "Dumping Scrapy stats"):
        assert scrapy_line not in stderr, stderr[-3000:]
    assert "Warning" not in stderr, stderr[-3000:]
    # the start line, a progress line every 10 s and at the end, the cap warnings (Scrapy's naming the link)
    assert len(stderr.splitlines()) <= 5, stderr[-3000:]
    assert stderr.startswith("crawling 11 queued links of snapshot S in 1 process\n")
    assert " INFO: " not in stderr and " DEBUG: " not in stderr
    assert "warning: 1 responses over the --max-content-bytes cap" in stderr
    assert len(crawled["stdout"].splitlines()) == 2  # the crawl's line and the verdicts'
    assert crawled["stdout"].splitlines()[1].startswith("verdicts of snapshot S: ")


def test_crawl_verbose_and_quiet(crawled):
    common = ["crawl", "--snapshot", "S", "--set", f"LINKSWEEP_STATIC_HOSTS={json.dumps(NAMES)}"]
    verbose = run_cli(crawled["db"], *common, "-v")
    assert verbose.returncode == 0, verbose.stderr[-2000:]
    assert "Overridden settings" in verbose.stderr and "Dumping Scrapy stats" in verbose.stderr
    quiet = run_cli(crawled["db"], *common, "--quiet")
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert quiet.stderr == ""
    assert quiet.stdout.startswith("crawled 0 of 0 queued links")
