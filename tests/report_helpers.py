"""A store of synthetic verdicts (reserved names, documentation addresses), and the tools to add more: what the
report tests (library and command line) start from.

The verdicts are INSERTed as the verdict code would write them, so these tests depend on the table only."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from pipelines.store import open_store, publish_rows, sql_string
from pipelines.verdicts import verdict_id

SNAPSHOT = "SYN-2026-01"
FIXTURES = Path(__file__).resolve().parent / "pipelines" / "reports" / "fixtures"
XSD = FIXTURES / "cybertip-test.xsd"
NOW = datetime(2026, 12, 1, 12, 0, 0)
CREATED = datetime(2026, 11, 30, 9, 30, 0)

# url -> (list name, entry, entry kind, detected via, evidence, state)
VERDICTS = [
    ("http://bad.example.org/gallery?id=7", "hotline-urls", "bad.example.org/gallery", "url", "static", None,
     "confirmed"),
    ("https://short.test/r/abc", "hotline-urls", "img.bad.test", "domain", "redirect",
     {"chain": ["https://short.test/r/abc", "https://img.bad.test/x"], "flagged_hop": "https://img.bad.test/x",
      "resolved_address": None}, "confirmed"),
    ("https://cdn.example.org/pic.png", "hotline-hashes", "pdq-entry-1", "content", "content-hash",
     {"algo": "pdq", "content_hash": "f" * 64, "list_hash": "e" * 64, "distance": 12,
      "final_url": "https://cdn.example.org/pic.png"}, "auto"),
    ("http://198.51.100.7/x", "hotline-urls", "198.51.100.7", "ip", "static", None, "needs_review"),
    ("http://benign.example.org/", "hotline-urls", "benign.example.org", "domain", "static", None, "false_positive"),
]  # fmt: skip


def add_verdict(con, url, list_name, entry, entry_kind, detected_via, evidence, state, snapshot=SNAPSHOT,
                created=CREATED) -> str:  # fmt: skip
    """Insert one verdict (list version 1) and return its id."""
    identity = verdict_id(snapshot, url, list_name, entry_kind, entry, detected_via)
    con.execute(
        "INSERT INTO verdicts (verdict_id, snapshot, url, host, list_name, category, entry, entry_kind, detected_via,"
        " expression, version_id, list_version, evidence, origin, in_force, state, created_at,"
        " updated_at) VALUES (?, ?, ?, NULL, ?, 'csam', ?, ?, ?, ?, 1, 1, ?, 'auto', true, ?, ?, ?)",
        [identity, snapshot, url, list_name, entry, entry_kind, detected_via, entry,
         json.dumps([evidence], sort_keys=True) if evidence else None, state, created, created],
    )  # fmt: skip
    return identity


def confirm(con, url: str) -> None:
    con.execute("UPDATE verdicts SET state = 'confirmed' WHERE url = ?", [url])


def build_store(folder: Path):
    """A store with snapshot SNAPSHOT: one file whose first record links to every verdict URL, two lists (the
    hash list marked reportable) and VERDICTS; its connection."""
    con = open_store(folder / "db" / "reports.duckdb")
    con.execute("INSERT INTO snapshots (name) VALUES (?)", [SNAPSHOT])
    con.execute(
        "INSERT INTO sources (source_id, snapshot, path, size, sha256, status) VALUES (1, ?, 'corpus/a.warc.gz', 1,"
        " 'aa', 'done')",
        [SNAPSHOT],
    )
    values = ", ".join(f"(4294967296, 'a', {sql_string(url)}, {sql_string(url)})" for url, *_ in VERDICTS)
    publish_rows(
        con,
        1,
        {
            "documents": "SELECT 4294967296 AS doc_id, 1 AS source_id, $snapshot AS snapshot, 0 AS record_no,"
            " '<urn:uuid:00000000-0000-0000-0000-000000000001>' AS record_id, NULL AS record_type,"
            " NULL AS target_uri, 'https://www.example.org/' AS url, NULL AS record_offset, NULL AS record_length,"
            " NULL AS http_status, NULL AS content_type, NULL AS payload_digest, 5 AS link_count",
            "links": f"SELECT * FROM (VALUES {values}) AS l(doc_id, kind, raw_url, url)",
        },
        {"snapshot": SNAPSHOT},
    )
    for name, fmt, reportable in (("hotline-urls", "urls", False), ("hotline-hashes", "hashes-pdq", True)):
        con.execute("INSERT INTO lists (name, list_type, category, format) VALUES (?, 'block', 'csam', ?)", [name, fmt])
        con.execute("UPDATE lists SET reportable = ? WHERE name = ?", [reportable, name])
    for row in VERDICTS:
        add_verdict(con, *row)
    return con
