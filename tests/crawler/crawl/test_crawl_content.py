"""End-to-end content checks: a crawl with --hash-content catches an image whose MD5 is listed and a
resized, re-encoded copy of an image whose PDQ hash is listed; a hash service that fails leaves the content
*unchecked* (never clean) and the link is resolved again by the next crawl. Synthetic images only."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from crawler.cli import ExitCode
from tests.crawl_server import CrawlServer, Route
from tests.snapshot_helpers import ingest_page

Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")
content_hashes = pytest.importorskip("pipelines.hashing.content")

ROOT = Path(__file__).resolve().parents[3]


def synthetic_image(seed: int, size=(640, 480)) -> Image.Image:
    """A benign synthetic picture: a gradient with a few shapes placed by `seed`."""
    image = Image.new("RGB", size)
    pixels = image.load()
    for x in range(size[0]):
        for y in range(size[1]):
            pixels[x, y] = ((x * 255) // size[0], (y * 255) // size[1], ((x + y) * seed) % 256)
    draw = ImageDraw.Draw(image)
    for index in range(6):
        left = (seed * 97 + index * 131) % (size[0] - 120)
        top = (seed * 53 + index * 71) % (size[1] - 120)
        draw.ellipse([left, top, left + 110, top + 90], fill=((index * 60) % 256, 200 - index * 20, seed % 256))
    return image


def encoded(image: Image.Image, kind: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def run_cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "--db", str(db), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
    )


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    if not content_hashes.pdq_available():
        pytest.skip("pdqhash is not installed")
    folder = tmp_path_factory.mktemp("content")
    server = CrawlServer(["127.0.0.1"])
    port = server.port("127.0.0.1")
    listed_bytes = encoded(synthetic_image(3), "PNG")
    original = synthetic_image(7)
    resized = encoded(original.resize((320, 240)), "JPEG", quality=70)
    clean = encoded(synthetic_image(11), "PNG")
    server.routes.update(
        {
            "/listed.png": Route(200, {"Content-Type": "image/png"}, listed_bytes),
            "/resized.jpg": Route(200, {"Content-Type": "image/jpeg"}, resized),
            "/clean.png": Route(200, {"Content-Type": "image/png"}, clean),
            # the hash service: down
            "/m/raw_lookup": Route(503, {"Content-Type": "text/plain"}, b"INDEX-STALE"),
            "/status": Route(503, {"Content-Type": "text/plain"}, b"INDEX-STALE"),
        }
    )
    names = {"img.test": "127.0.0.1", "page.example.org": "127.0.0.1"}
    links = [f"http://img.test:{port}/{name}" for name in ("listed.png", "resized.jpg", "clean.png")]
    page = "".join(f"<img src='{link}'>" for link in links).encode()
    db = ingest_page(folder, page)
    (folder / "md5.txt").write_text(f"{hashlib.md5(listed_bytes).hexdigest()}  synthetic-listed\n")
    original_pdq = content_hashes.hash_content(encoded(original, "PNG"), "image/png").pdq
    (folder / "pdq.txt").write_text(f"{original_pdq}\n")
    assert (
        run_cli(
            db, "hashlist", "add", "md5s", str(folder / "md5.txt"), "--algo", "md5", "--category", "test"
        ).returncode
        == 0
    )
    assert run_cli(db, "hashlist", "add", "pdqs", str(folder / "pdq.txt"), "--algo", "pdq").returncode == 0
    services = folder / "services.json"
    services.write_text(
        json.dumps({"services": [{"kind": "hma", "name": "hma-local", "url": f"http://127.0.0.1:{port}"}]})
    )
    args = [
        "crawl", "--snapshot", "S", "--hash-content", "--hash-services", str(services),
        "--allow-network", "127.0.0.1/32", "--set", f"LINKSWEEP_STATIC_HOSTS={json.dumps(names)}",
    ]  # fmt: skip
    first = run_cli(db, *args)
    assert first.returncode == ExitCode.UNCHECKED, first.stderr[-3000:]  # the hash service is down
    second = run_cli(db, *args)
    assert second.returncode == ExitCode.UNCHECKED, second.stderr[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    data = {
        "matches": con.execute(
            "SELECT url, list_name, matched_rule, evidence FROM url_matches WHERE detected_via = 'content-hash'"
        ).fetchall(),
        "checks": con.execute("SELECT url, status, error FROM hash_checks").fetchall(),
        "results": con.execute("SELECT url, md5, pdq FROM crawl_results").fetchall(),
    }
    con.close()
    server.close()
    return {"db": db, "first": first.stdout, "second": second.stdout, **data}


def test_listed_md5_and_near_pdq_are_caught(crawled):
    by_file = {row[0].rsplit("/", 1)[-1]: row for row in crawled["matches"]}
    assert set(by_file) == {"listed.png", "resized.jpg"}
    assert by_file["listed.png"][1:3] == ("md5s", "synthetic-listed")
    evidence = json.loads(by_file["resized.jpg"][3])
    assert evidence["algo"] == "pdq" and 0 <= evidence["distance"] <= 31


def test_hashes_are_recorded_not_bodies(crawled):
    assert all(md5 and len(md5) == 32 for url, md5, _ in crawled["results"] if url.endswith((".png", ".jpg")))


def test_a_failing_hash_service_leaves_items_unchecked_and_retried(crawled):
    statuses = {status for _, status, _ in crawled["checks"]}
    assert statuses == {"unchecked"}
    assert all(error for _, _, error in crawled["checks"])
    # the second crawl resolved the unchecked links again although they were resolved minutes before
    assert "crawled 0 of 0" not in crawled["second"]


def test_export_carries_the_content_hash_evidence(crawled, tmp_path):
    out = tmp_path / "r.csv"
    assert run_cli(crawled["db"], "export", "--snapshot", "S", "--out", str(out)).returncode == 0
    rows = [row for row in csv.DictReader(out.open()) if "content-hash" in row["detected_via"]]
    assert {row["link_url"].rsplit("/", 1)[-1] for row in rows} == {"listed.png", "resized.jpg"}
    assert all('"distance"' in row["evidence"] for row in rows)


def test_a_hash_service_match_is_a_removal_with_its_evidence(tmp_path):
    """An HMA that knows the content: the link is flagged detected_via=hash-service (no list version)."""
    if not content_hashes.pdq_available():
        pytest.skip("pdqhash is not installed")
    server = CrawlServer(["127.0.0.1"])
    port = server.port("127.0.0.1")
    server.routes.update(
        {
            "/known.png": Route(200, {"Content-Type": "image/png"}, encoded(synthetic_image(5), "PNG")),
            "/m/raw_lookup": Route(
                200, {"Content-Type": "application/json"}, b'{"matches": [{"bank_content_id": 7, "distance": "0"}]}'
            ),
            "/c/bank/TESTBANK/content/7": Route(
                200, {"Content-Type": "application/json"}, b'{"id": 7, "enabled": true}'
            ),
        }
    )
    names = {"img.test": "127.0.0.1", "page.example.org": "127.0.0.1"}
    db = ingest_page(tmp_path, f"<img src='http://img.test:{port}/known.png'>".encode())
    services = tmp_path / "services.json"
    services.write_text(
        json.dumps(
            {
                "services": [
                    {"kind": "hma", "name": "hma-test", "url": f"http://127.0.0.1:{port}", "banks": ["TESTBANK"]}
                ]
            }
        )
    )
    try:
        done = run_cli(
            db, "crawl", "--snapshot", "S", "--hash-services", str(services), "--allow-network", "127.0.0.1/32",
            "--set", f"LINKSWEEP_STATIC_HOSTS={json.dumps(names)}",
        )  # fmt: skip
    finally:
        server.close()
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "r.csv"
    assert run_cli(db, "export", "--snapshot", "S", "--out", str(out)).returncode == 0
    rows = [row for row in csv.DictReader(out.open()) if row["link_url"].endswith("/known.png")]
    assert len(rows) == 1 and rows[0]["detected_via"] == "hash-service"
    evidence = json.loads(rows[0]["evidence"])  # one object per hash the service knew
    assert {item["signal_type"] for item in evidence} == {"md5", "sha1", "sha256", "pdq"}
    assert all(
        item["service"] == "hma-test" and item["content_id"] == "7" and item["bank"] == "TESTBANK" for item in evidence
    )
