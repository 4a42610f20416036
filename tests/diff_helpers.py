"""Two synthetic snapshots built through the CLI (reserved names only), with flagged URLs and hosts planted new,
persisting and gone between them: what the diff and HTML report tests start from."""

from __future__ import annotations

import json
from pathlib import Path

from crawler.corpus.synthetic import response_record, write_warc
from tests.cli_runner import run

FIRST, SECOND = "SYN-2026-01", "SYN-2026-02"
UNLISTED = "https://www.example.org/ok"
# the links of the one page of each snapshot
LINKS = {
    FIRST: ["http://keep.test/a", "http://gone.test/x", "http://mixed.test/old", "http://fp.test/p", UNLISTED],
    SECOND: ["http://keep.test/a", "http://new.test/y", "http://mixed.test/new", "http://fp.test/p",
             "http://phish.test/q", UNLISTED],
}  # fmt: skip
# fp.test/p is flagged in both, and its verdict in SECOND rejected as a false positive: gone
REJECTED_IN_SECOND = "http://fp.test/p"
PLANTED_URLS = {
    "new": ["http://mixed.test/new", "http://new.test/y", "http://phish.test/q"],
    "persisting": ["http://keep.test/a"],
    "gone": ["http://fp.test/p", "http://gone.test/x", "http://mixed.test/old"],
}
PLANTED_HOSTS = {
    "new": ["new.test", "phish.test"],
    "persisting": ["keep.test", "mixed.test"],
    "gone": ["fp.test", "gone.test"],
}


def _corpus(folder: Path, snapshot: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{snapshot}.warc.gz"
    body = "".join(f"<a href='{link}'>x</a>" for link in LINKS[snapshot]).encode()
    write_warc(path, [response_record(f"https://www.example.org/{snapshot}", body)], gzipped=True)
    return path


def two_snapshots(folder: Path) -> Path:
    """A store holding FIRST then SECOND, matched against two block lists; the store's path."""
    db = folder / "db.duckdb"
    (folder / "hotline.txt").write_text("keep.test\ngone.test\nmixed.test\nfp.test\nnew.test\n")
    (folder / "phish.txt").write_text("phish.test\n")
    run(db, "ingest", "--snapshot", FIRST, str(_corpus(folder / "c1", FIRST)))
    run(db, "blocklist", "add", "hotline", str(folder / "hotline.txt"), "--category", "test-harm")
    run(db, "blocklist", "add", "phish", str(folder / "phish.txt"), "--category", "test-phishing")
    run(db, "match", "--snapshot", FIRST)
    run(db, "ingest", "--snapshot", SECOND, str(_corpus(folder / "c2", SECOND)))
    run(db, "match", "--snapshot", SECOND)
    listed = json.loads(run(db, "review", "list", "--json", "--snapshot", SECOND, "--limit", "100").output)
    [rejected] = [v["verdict_id"] for v in listed["verdicts"] if v["url"] == REJECTED_IN_SECOND]
    run(db, "review", "reject", rejected, "--reason", "false_positive", "--reviewer", "ana")
    return db
