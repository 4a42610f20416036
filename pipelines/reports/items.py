"""What a report is about: a snapshot's reportable verdicts grouped per canonical URL, with where each URL was
found and how it was detected, in words every profile shares."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.export import url_sha256
from pipelines.reports.reporter import Reporter

NOT_VIEWED = "The content was neither viewed nor stored by the tool."
HASH_NOTE = (
    "Hash matches: the crawler hashed the response body in memory and discarded it; no person saw it and no byte "
    "of it was kept."
)
# the facts of a verdict that make it evidence: the same facts in a later snapshot (or list version) are no news
EVIDENCE_FACTS = ("list_name", "entry_kind", "entry", "detected_via", "expression", "evidence")


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC, to the second (`2026-12-01T10:00:00Z`); a naive time is the store's, which is UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat() + "Z"


@dataclass(frozen=True)
class Evidence:
    """One verdict behind a report: which list entry flagged which URL, and how."""

    verdict_id: str
    url: str
    list_name: str
    list_version: int | None
    category: str | None
    entry: str
    entry_kind: str
    detected_via: str
    expression: str | None
    evidence: list[dict[str, Any]] | None  # the verdict's evidence objects (a hash service: one per signal)
    state: str
    created_at: datetime

    @property
    def key(self) -> str:
        """SHA-256 of the facts (EVIDENCE_FACTS): what the ledger remembers was said."""
        facts = {name: getattr(self, name) for name in EVIDENCE_FACTS}
        return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": iso_utc(self.created_at)}

    def describe(self) -> str:
        """One line: how the URL was detected."""
        listed = f"list {self.list_name!r}" + (f" version {self.list_version}" if self.list_version else "")
        entry = f"entry {self.entry!r} ({self.entry_kind})"
        if self.detected_via not in ("redirect", "content-hash", "hash-service"):
            return f"static match: {listed}, {entry}, expression {self.expression!r}"
        return "; ".join(self._describe_one(found, listed, entry) for found in self.evidence or [{}])

    def _describe_one(self, found: dict[str, Any], listed: str, entry: str) -> str:
        if self.detected_via == "redirect":
            chain = " -> ".join(found.get("chain") or [self.url])
            return f"redirect: chain {chain}; hop {found.get('flagged_hop', '?')} matched {listed}, {entry}"
        if self.detected_via == "content-hash":
            distance = found.get("distance")
            return (
                f"content hash: {found.get('algo', '?')} {found.get('content_hash', '?')} matched {listed}, "
                f"{entry}, list hash {found.get('list_hash', '?')}, distance {0 if distance is None else distance}"
            )
        return (
            f"hash service {found.get('service', self.list_name)!r}: {found.get('signal_type', '?')} "
            f"{found.get('signal', '?')} matched content id {found.get('content_id', '?')} "
            f"(bank {found.get('bank')}, distance {found.get('distance')})"
        )


@dataclass(frozen=True)
class SourceRecord:
    """The first record of the snapshot (by file path and record number) holding the URL, and how many do."""

    path: str
    record_id: str | None
    records: int


@dataclass(frozen=True)
class Amended:
    """The earlier report an amendment adds to."""

    bundle_id: str
    external_id: str | None


@dataclass(frozen=True)
class ReportItem:
    """One canonical URL to report (its spellings in `urls`), with the verdicts that say so."""

    url_key: str
    urls: tuple[str, ...]
    verdicts: tuple[Evidence, ...]
    source: SourceRecord | None
    amends: Amended | None = None

    @property
    def kind(self) -> str:
        return "amendment" if self.amends else "report"

    @property
    def url(self) -> str:
        return self.urls[0]

    @property
    def first_detected(self) -> datetime:
        return min(verdict.created_at for verdict in self.verdicts)

    @property
    def evidence_keys(self) -> list[str]:
        return sorted({verdict.key for verdict in self.verdicts})

    def limited_to(self, keys: set[str], amends: Amended) -> ReportItem:
        """The amendment holding only the verdicts whose evidence is in `keys`."""
        verdicts = tuple(verdict for verdict in self.verdicts if verdict.key in keys)
        urls = tuple(sorted({verdict.url for verdict in verdicts}))
        return replace(self, urls=urls, verdicts=verdicts, amends=amends)

    def how_detected(self) -> list[str]:
        return [verdict.describe() for verdict in self.verdicts]

    def found_in(self) -> str:
        """Where the snapshot holds the URL, as the end of a sentence starting "found ..."."""
        if self.source is None:
            return "in no record of the snapshot (a URL known from the crawl only)"
        more = f" (and {self.source.records - 1} more records)" if self.source.records > 1 else ""
        return f"in {self.source.path}, record {self.source.record_id}{more}"


def url_key(url: str) -> str:
    """The ledger's key of a URL: SHA-256 of its Safe Browsing canonical expression (pipelines.export), or of
    the URL as written when it has no host."""
    return url_sha256(url) or hashlib.sha256(url.encode()).hexdigest()


_VERDICTS = """
    SELECT v.verdict_id, v.url, v.list_name, v.list_version, v.category, v.entry, v.entry_kind, v.detected_via,
           v.expression, v.evidence, v.state, v.created_at
    FROM verdicts AS v LEFT JOIN lists AS l ON l.name = v.list_name
    WHERE v.snapshot = $snapshot
      AND (v.state = 'confirmed'
           OR ($include_auto AND v.state = 'auto' AND v.in_force AND coalesce(l.reportable, false)))
    ORDER BY v.url, v.verdict_id
"""
# the first record holding each URL (as a document's own URL or as a link), and how many records do
_SOURCES = """
    WITH hits AS (
        SELECT d.url, d.source_id, d.record_no, d.record_id FROM documents AS d
        WHERE d.snapshot = $snapshot AND d.url IN (SELECT url FROM report_urls)
        UNION
        SELECT l.url, d.source_id, d.record_no, d.record_id FROM links AS l JOIN documents AS d USING (doc_id)
        WHERE d.snapshot = $snapshot AND l.url IN (SELECT url FROM report_urls)
    )
    SELECT h.url, s.path, h.record_id, count(*) OVER (PARTITION BY h.url) AS records
    FROM hits AS h JOIN sources AS s USING (source_id)
    QUALIFY row_number() OVER (PARTITION BY h.url ORDER BY s.path, h.record_no) = 1
"""


def _evidence(row: tuple) -> Evidence:
    *head, evidence, state, created_at = row
    return Evidence(*head, json.loads(evidence) if evidence else None, state, created_at)


def select_items(con: duckdb.DuckDBPyConnection, snapshot: str, include_auto: bool = False) -> list[ReportItem]:
    """The snapshot's `confirmed` verdicts (and with `include_auto` the `auto` ones, in force, of lists marked
    reportable) as one item per canonical URL, ordered by URL; the ledger is not consulted here."""
    rows = con.execute(_VERDICTS, {"snapshot": snapshot, "include_auto": include_auto}).fetchall()
    grouped: dict[str, list[Evidence]] = {}
    for row in rows:
        verdict = _evidence(row)
        grouped.setdefault(url_key(verdict.url), []).append(verdict)
    cursor = con.cursor()
    try:
        cursor.register("report_urls", pa.table({"url": pa.array(sorted({row[1] for row in rows}), pa.string())}))
        found = {
            url: SourceRecord(path, record_id, records)
            for url, path, record_id, records in cursor.execute(_SOURCES, {"snapshot": snapshot}).fetchall()
        }
        cursor.unregister("report_urls")
    finally:
        cursor.close()
    items = []
    for key, verdicts in grouped.items():
        urls = tuple(sorted({verdict.url for verdict in verdicts}))
        source = next((found[url] for url in urls if url in found), None)
        items.append(ReportItem(key, urls, tuple(verdicts), source))
    return sorted(items, key=lambda item: (item.url, item.url_key))


@dataclass(frozen=True)
class BundleContent:
    """Everything a profile writes from: the items of one bundle and where they come from."""

    bundle_id: str
    hotline: str
    profile: str
    snapshot: str
    created_at: datetime
    tool_version: str
    items: list[ReportItem]
    reporter: Reporter | None = None

    def amendment_note(self, item: ReportItem) -> str | None:
        """What an amendment says of the report it adds to; None for a report."""
        if item.amends is None:
            return None
        filed = (
            f"filed with the hotline as {item.amends.external_id}"
            if item.amends.external_id
            else "not yet filed when this amendment was prepared"
        )
        return (
            f"Amendment: new evidence about a URL already reported in linksweep bundle {item.amends.bundle_id} "
            f"({filed}); it lists only what that report did not say."
        )
