"""A crawl accounts for every queued link: whatever the settings (another Twisted reactor, a Scrapy setting
that closes the spider early), every link ends resolved or with a recorded outcome, or the crawl says how many
were left and exits non-zero. Loopback server only; reserved names mapped by the crawl's static host table."""

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
LINKS = 150


@pytest.fixture
def store(tmp_path):
    server = CrawlServer(["127.0.0.1"])
    port = server.port("127.0.0.1")
    for number in range(LINKS):
        server.routes[f"/p/{number}"] = Route(200, {"Content-Type": "text/plain"}, b"ok")
    page = "".join(f"<a href='http://h{n % 10}.test:{port}/p/{n}'>x</a>" for n in range(LINKS)).encode()
    db = ingest_page(tmp_path, page)
    hosts = {f"h{n}.test": "127.0.0.1" for n in range(10)} | {"page.example.org": "127.0.0.1"}
    yield db, hosts, server
    server.close()


def crawl(db: Path, hosts: dict, *settings: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "crawler.cli", "--db", str(db), "crawl", "--snapshot", "S", "--processes", "1",
        "--allow-network", "127.0.0.1/32", "--set", f"LINKSWEEP_STATIC_HOSTS={json.dumps(hosts)}",
        "--set", "AUTOTHROTTLE_ENABLED=False", "--set", "LINKSWEEP_MAX_SCHEDULED=10",
    ]  # fmt: skip
    for setting in settings:
        command += ["--set", setting]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)


def stored_results(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM crawl_results").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize(
    "reactor",
    ["twisted.internet.selectreactor.SelectReactor", "twisted.internet.pollreactor.PollReactor"],
)
def test_every_queued_link_is_crawled_whatever_the_reactor(store, reactor):
    """The queue is read with back-pressure (at most LINKSWEEP_MAX_SCHEDULED waiting): the pause between reads
    must work without asyncio too, or reading stops and the rest of the queue is silently dropped."""
    db, hosts, _server = store
    done = crawl(db, hosts, f"TWISTED_REACTOR={reactor}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"crawled {LINKS + 1} of {LINKS + 1} queued links" in done.stdout
    assert stored_results(db) == LINKS + 1


def test_a_crawl_that_leaves_links_says_so_and_fails(store):
    """A setting that ends the spider early (here: after 5 items) leaves links neither resolved nor recorded:
    the crawl names how many and exits 1; the next crawl queues them again."""
    db, hosts, _server = store
    done = crawl(db, hosts, "CLOSESPIDER_ITEMCOUNT=5")
    assert done.returncode == 1, (done.stdout, done.stderr[-3000:])
    recorded = stored_results(db)
    assert recorded < LINKS + 1
    left = LINKS + 1 - recorded
    assert f"warning: {left:,} of {LINKS + 1:,} queued links were not crawled" in done.stderr, done.stderr[-3000:]
    rerun = crawl(db, hosts)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"crawled {left} of {left} queued links" in rerun.stdout
    assert stored_results(db) == LINKS + 1


def test_an_exception_in_the_spider_is_the_links_recorded_error(tmp_path):
    """A callback that raises (a hash service client bug, a parser surprise) must not lose the link: the spider
    middleware turns the exception into the link's `error` outcome with the exception's class."""
    from scrapy.http import HtmlResponse, Request

    from crawler.crawl.spiders.resolve import RecordSpiderErrors, ResolveSpider

    spider = ResolveSpider(snapshot="S", db=str(tmp_path / "db.duckdb"))
    request = Request(
        "http://a.test/next",
        meta={"origin": "http://a.test/", "hops": [{"url": "http://a.test/", "status": 302, "via": "link",
              "peer_ip": None}], "via": "redirect", "started": 0.0},
    )  # fmt: skip
    response = HtmlResponse("http://a.test/next", status=200, body=b"<p>x</p>", request=request)
    middleware = RecordSpiderErrors(spider)
    items = list(middleware.process_spider_exception(response, KeyError("surprise")))
    assert len(items) == 1
    result = items[0]["result"]
    assert (result["url"], result["outcome"], result["error_class"]) == ("http://a.test/", "error", "spider-error")
    assert "KeyError" in result["error"] and "surprise" in result["error"]
    assert [hop["url"] for hop in result["hops"]] == ["http://a.test/", "http://a.test/next"]


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_reactor_that_cannot_be_loaded_is_a_clear_error(store, processes):
    db, hosts, _server = store
    command = [
        sys.executable, "-m", "crawler.cli", "--db", str(db), "crawl", "--snapshot", "S", "--processes", processes,
        "--set", "TWISTED_REACTOR=no.such.Reactor", "--set", f"LINKSWEEP_STATIC_HOSTS={json.dumps(hosts)}",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 2, (done.stdout, done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.stderr.startswith("linksweep: --set TWISTED_REACTOR=no.such.Reactor: "), done.stderr[-3000:]
