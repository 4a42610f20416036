"""Content codings in the crawl are decoded in bounded chunks and stop at the body cap (--max-content-bytes):
a decompression bomb served by the loopback test server (brotli, gzip, deflate, zstd, and stacked codings) ends
as the link's recorded `too-large` outcome, with the crawl's peak memory far below the bomb's size; a small
encoded page is decoded and its meta refresh followed. Synthetic zero bytes only."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from pathlib import Path

import brotli
import duckdb
import pytest

from tests.crawl_server import CrawlServer, Route
from tests.snapshot_helpers import ingest_page

zstd = pytest.importorskip("backports.zstd") if sys.version_info < (3, 14) else pytest.importorskip("compression.zstd")

ROOT = Path(__file__).resolve().parents[3]
BOMB = 512 << 20  # decoded size of each bomb
CAP = 2 << 20  # --max-content-bytes of the crawl
MIB = 1 << 20


def _chunks():
    chunk = bytes(16 << 20)
    for _ in range(BOMB // len(chunk)):
        yield chunk


def brotli_bomb() -> bytes:
    compressor = brotli.Compressor(quality=5)
    return b"".join([*(compressor.process(chunk) for chunk in _chunks()), compressor.finish()])


def deflate_bomb(wbits: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join([*(compressor.compress(chunk) for chunk in _chunks()), compressor.flush()])


def zstd_bomb() -> bytes:
    compressor = zstd.ZstdCompressor()
    parts = [compressor.compress(chunk) for chunk in _chunks()]
    return b"".join([*parts, compressor.flush(zstd.ZstdCompressor.FLUSH_FRAME)])


# Runs argv[2:] and writes that child's own peak RSS (KiB) to argv[1]. A process started straight from pytest
# would count pytest's own peak too: Linux carries the high-water mark of the image a process replaces at exec.
_MEASURE = """import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _run_measured(command: list[str], folder: Path) -> tuple[subprocess.CompletedProcess, float]:
    """Run `command`; its result, and its own peak RSS in MiB."""
    peak = folder / "peak-kib"
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(peak), *command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    return done, int(peak.read_text()) / 1024


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("decoding")
    server = CrawlServer(["127.0.0.1", "127.0.0.3"])
    port, evil_port = server.port("127.0.0.1"), server.port("127.0.0.3")
    gzip_bomb = deflate_bomb(31)
    br = brotli_bomb()
    page = f'<meta http-equiv="refresh" content="0; url=http://evil.test:{evil_port}/landing">'.encode()
    routes = {
        "/bomb/br": ({"Content-Encoding": "br"}, br),
        "/bomb/gzip": ({"Content-Encoding": "gzip"}, gzip_bomb),
        "/bomb/deflate": ({"Content-Encoding": "deflate"}, deflate_bomb(15)),
        "/bomb/raw-deflate": ({"Content-Encoding": "deflate"}, deflate_bomb(-15)),
        "/bomb/zstd": ({"Content-Encoding": "zstd"}, zstd_bomb()),
        "/bomb/gzip-br": ({"Content-Encoding": "gzip, br"}, brotli.compress(gzip_bomb)),
        "/bomb/br-gzip": ({"Content-Encoding": "br", "content-encoding": "gzip"}, gzip.compress(br)),
        "/page/br-gzip": ({"Content-Encoding": "br, gzip"}, gzip.compress(brotli.compress(page))),
        "/page/zstd": ({"Content-Encoding": "zstd"}, zstd.compress(page)),
    }
    for path, (headers, body) in routes.items():
        assert len(body) < CAP
        server.routes[path] = Route(200, {"Content-Type": "text/html", **headers}, body)
    server.routes["/landing"] = Route(200, {}, b"must never be fetched")
    names = {"a.test": "127.0.0.1", "evil.test": "127.0.0.3", "page.example.org": "127.0.0.1"}
    links = "".join(f"<a href='http://a.test:{port}{path}'>x</a>" for path in routes)
    db = ingest_page(folder, links.encode())
    (folder / "block.txt").write_text("evil.test\n")
    cli = [sys.executable, "-m", "crawler.cli", "--db", str(db)]
    for args in (["blocklist", "add", "harm", str(folder / "block.txt")], ["match", "--snapshot", "S"]):
        assert subprocess.run([*cli, *args], cwd=ROOT, capture_output=True, timeout=120).returncode == 0
    command = [
        *cli,
        "crawl",
        "--snapshot",
        "S",
        "--processes",
        "1",
        "--max-content-bytes",
        str(CAP),
        "--allow-network",
        "127.0.0.0/8",
        "--set",
        f"LINKSWEEP_STATIC_HOSTS={json.dumps(names)}",
    ]
    done, peak_mib = _run_measured(command, folder)
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT url, outcome, error_class, error FROM crawl_results").fetchall()
    con.close()
    log = list(server.log)
    server.close()
    results = {row[0].split(f":{port}", 1)[-1]: row[1:] for row in rows}
    return {"done": done, "results": results, "peak_mib": peak_mib, "log": log, "db": db}


def test_the_crawl_ends_normally(crawled):
    assert crawled["done"].returncode == 0, crawled["done"].stderr[-3000:]


@pytest.mark.parametrize("path", ["br", "gzip", "deflate", "raw-deflate", "zstd", "gzip-br", "br-gzip"])
def test_a_bomb_is_a_recorded_cap_outcome(crawled, path):
    outcome, error_class, error = crawled["results"][f"/bomb/{path}"]
    assert (outcome, error_class) == ("error", "too-large"), error


def test_peak_memory_stays_far_below_the_bombs(crawled):
    print(f"peak RSS of the crawl: {crawled['peak_mib']:.0f} MiB")
    assert crawled["peak_mib"] < 400, crawled["peak_mib"]  # each bomb inflates to 512 MiB


@pytest.mark.parametrize("path", ["br-gzip", "zstd"])
def test_an_encoded_page_is_decoded(crawled, path):
    assert crawled["results"][f"/page/{path}"][:2] == ("flagged", "flagged-hop")
    assert not [entry for entry in crawled["log"] if entry[0] == "127.0.0.3"]


def test_the_cap_is_a_warning_and_counted(crawled):
    stderr = crawled["done"].stderr
    assert "warning: 7 responses over the --max-content-bytes cap" in stderr, stderr[-3000:]


def test_the_cap_cannot_be_turned_off(crawled):
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "--db", str(crawled["db"]), "crawl", "--snapshot", "S",
         "--set", "DOWNLOAD_MAXSIZE=0"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "DOWNLOAD_MAXSIZE must be a positive" in done.stderr
