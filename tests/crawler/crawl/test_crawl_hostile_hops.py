"""Hops a hostile page or server can write: non-ASCII `Location` and `Refresh` headers (judged on the host a
browser would use), special-use names (refused without any lookup or request), percent-encoded userinfo (a
recorded outcome, credentials never sent). A real crawl (`linksweep crawl` in a subprocess) against loopback
servers; what was requested is asserted on the server's log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.crawl_server import CrawlServer, Route
from tests.snapshot_helpers import ingest_page

ROOT = Path(__file__).resolve().parents[3]
ADDRESSES = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
NAMES = {
    "a.test": "127.0.0.1",
    "page.example.org": "127.0.0.1",
    "xn--bcher-kva.test": "127.0.0.2",  # bücher.test, as a browser asks for it
    "evil.test": "127.0.0.3",  # listed
    "inner.test": "10.0.0.1",  # a private address: refused after the (static) lookup, before any connection
}
SPECIAL = {  # link -> what it is; 127.0.0.1 is an allowed network, so a lookup of localhost would reach the server
    "http://localhost:{port}/special/1": "localhost",
    "http://unmapped.test:{port}/special/2": ".test without a static mapping",
    "http://x.invalid/special/3": ".invalid",
    "http://printer.local:{port}/special/4": "mDNS .local",
    "http://intranet:{port}/special/5": "single label (search domains)",
    "http://router.home.arpa:{port}/special/6": "home.arpa",
}


def header(text: str) -> str:
    """`text` as UTF-8 bytes on the wire (http.server writes header values as Latin-1)."""
    return text.encode("utf-8").decode("latin-1")


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hops")
    server = CrawlServer(ADDRESSES)
    port, idn_port, evil_port = (server.port(address) for address in ADDRESSES)
    server.routes.update(
        {
            "/loc/fullwidth": Route(302, {"Location": header(f"http://ｅｖｉｌ.test:{evil_port}/landing")}),
            "/loc/idn": Route(302, {"Location": header(f"http://bücher.test:{idn_port}/idn-landing")}),
            "/loc/latin1": Route(302, {"Location": "/caf\xe9"}),  # one byte 0xE9: not UTF-8
            "/loc/userinfo": Route(302, {"Location": f"http://u%3Ax:p%40w@a.test:{port}/ok"}),
            "/refresh-header": Route(
                200, {"Refresh": header(f"0; url=http://ｅｖｉｌ.test:{evil_port}/refreshed")}, b"x"
            ),
            "/loc/two": Route(  # two different targets: Chrome refuses to follow, so does the crawl
                302, {"Location": f"http://evil.test:{evil_port}/landing", "location": f"http://a.test:{port}/ok"}
            ),
            "/loc/same-twice": Route(302, {"Location": "/ok", "location": "/ok"}),
            "/padded-refresh": Route(  # a meta refresh after 300,000 characters of padding
                200,
                {"Content-Type": "text/html; charset=utf-8"},
                b"<p>"
                + b"x" * 300_000
                + b"</p>"
                + f'<meta http-equiv="refresh" content="0; url=http://evil.test:{evil_port}/refreshed">'.encode(),
            ),
            "/idn-landing": Route(200, {"Content-Type": "text/plain"}, b"ok"),
            "/caf%E9": Route(200, {"Content-Type": "text/plain"}, b"ok"),
            "/ok": Route(200, {"Content-Type": "text/plain"}, b"ok"),
            "/landing": Route(200, {}, b"must never be fetched"),
            "/refreshed": Route(200, {}, b"must never be fetched"),
        }
    )
    links = [f"http://a.test:{port}{path}" for path in ("/loc/fullwidth", "/loc/idn", "/loc/latin1")]
    links += [f"http://a.test:{port}/loc/userinfo", f"http://a.test:{port}/refresh-header"]
    links += [f"http://a.test:{port}/loc/two", f"http://a.test:{port}/loc/same-twice"]
    links += [f"http://a.test:{port}/padded-refresh"]
    links += [f"http://us%40er:p%3Ass@a.test:{port}/ok", f"http://%ff:%zz@a.test:{port}/ok?2"]
    links += [link.format(port=port) for link in SPECIAL]
    links += [f"http://inner.test:{port}/inner"]
    db = ingest_page(folder, "".join(f"<a href='{link}'>x</a>" for link in links).encode())
    (folder / "block.txt").write_text("evil.test\n")
    cli = [sys.executable, "-m", "crawler.cli", "--db", str(db)]
    for args in (["blocklist", "add", "harm", str(folder / "block.txt")], ["match", "--snapshot", "S"]):
        assert subprocess.run([*cli, *args], cwd=ROOT, capture_output=True, timeout=120).returncode == 0
    done = subprocess.run(
        [*cli, "crawl", "--snapshot", "S", "--processes", "1", "--timeout", "5",
         "--allow-network", "127.0.0.0/8", "--set", f"LINKSWEEP_STATIC_HOSTS={json.dumps(NAMES)}", "-v"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT url, outcome, error_class, error, final_url FROM crawl_results").fetchall()
    con.close()
    server.close()
    results = {row[0].replace(f":{port}", ""): row[1:] for row in rows}
    return {"done": done, "results": results, "log": list(server.log), "ports": (port, idn_port, evil_port)}


def test_the_crawl_succeeds(crawled):
    assert crawled["done"].returncode == 0, crawled["done"].stderr[-3000:]


def test_a_utf8_location_is_judged_on_the_browsers_host(crawled):
    results = crawled["results"]
    assert results["http://a.test/loc/fullwidth"][:2] == ("flagged", "flagged-hop")  # ｅｖｉｌ.test is evil.test
    assert results["http://a.test/refresh-header"][:2] == ("flagged", "flagged-hop")
    assert not [entry for entry in crawled["log"] if entry[0] == "127.0.0.3"]  # the listed host got nothing
    assert results["http://a.test/loc/idn"][0] == "resolved"
    _, idn_port, _ = crawled["ports"]
    assert ("127.0.0.2", f"xn--bcher-kva.test:{idn_port}", "/idn-landing") in crawled["log"]


def test_a_location_that_is_not_utf8_is_percent_encoded(crawled):
    assert crawled["results"]["http://a.test/loc/latin1"][0] == "resolved"
    assert any(path == "/caf%E9" for _, _, path in crawled["log"])


@pytest.mark.parametrize("link", list(SPECIAL))
def test_special_use_names_are_refused_without_a_lookup(crawled, link):
    outcome, error_class, error, _ = crawled["results"][link.replace(":{port}", "")]
    assert (outcome, error_class) == ("refused", "refused-name"), error
    assert "special-use" in error or "single-label" in error
    assert not [path for _, _, path in crawled["log"] if path.startswith("/special/")]


def test_userinfo_is_a_recorded_outcome_and_never_sent(crawled):
    results = crawled["results"]
    for link in ("http://us%40er:p%3Ass@a.test/ok", "http://%ff:%zz@a.test/ok?2", "http://a.test/loc/userinfo"):
        assert results[link][0] == "resolved", results[link]
        assert "@" not in results[link][3]  # the final URL carries no credentials
    hosts = {host for _, host, _ in crawled["log"]}
    assert not [host for host in hosts if "@" in host or "%" in host]


def test_a_name_resolving_to_a_refused_address_is_refused_once(crawled):
    outcome, error_class, error, _ = crawled["results"]["http://inner.test/inner"]
    assert (outcome, error_class) == ("refused", "refused-address"), error
    assert "Private-Use 10.0.0.1" in error
    stats = crawled["done"].stderr  # -v: Scrapy's stats are in the log
    assert "Dumping Scrapy stats" in stats
    assert "retry/reason_count/scrapy.exceptions.CannotResolveHostError" not in stats  # a refusal is not retried


def test_several_different_locations_are_not_followed(crawled):
    outcome, error_class, error, _ = crawled["results"]["http://a.test/loc/two"]
    assert (outcome, error_class) == ("error", "multiple-locations"), error
    assert "evil.test" in error  # both targets are in the record
    assert crawled["results"]["http://a.test/loc/same-twice"][0] == "resolved"  # the same target twice is one


def test_padding_does_not_hide_a_meta_refresh(crawled):
    assert crawled["results"]["http://a.test/padded-refresh"][:2] == ("flagged", "flagged-hop")
