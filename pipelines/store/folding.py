"""Recording published units in the database: the one write an ingest's driver makes for its files.

A unit (crawler/ingest/unit.py) publishes a source's parts and manifest; the URL index folds their URLs and
hosts (pipelines/store/url_index.py); `fold_sources` then records them in one transaction: the sources'
outcomes, that their URLs must be matched again, and that the fold is done. Its work is a few bulk statements
whatever the number of sources, so the driver's time per unit stays small however many units a cluster runs
(docs/scale.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.store.parts import forget_attempts
from pipelines.store.transaction import transaction


@dataclass(frozen=True)
class SourceFold:
    """What is recorded of one source: its unit's manifest, or (no manifest) why its unit failed."""

    source_id: int
    manifest: dict | None
    error: str | None = None  # the engine's: the unit raised, or its worker died too often

    def outcome(self) -> dict:
        m = self.manifest or {}
        return {
            "source_id": self.source_id,
            "status": m.get("status", "failed"),
            "format": m.get("format"),
            "reader": m.get("reader"),
            "records": m.get("records", 0),
            "documents": m.get("documents", 0),
            "links": m.get("links", 0),
            "bad_records": m.get("bad_records", 0),
            "error": m.get("error") if self.manifest is not None else self.error,
            "bad_record_errors": m.get("bad_record_errors", []),
            "seconds": m.get("read_seconds", 0.0),
            "cpu_seconds": m.get("cpu_seconds"),
            "peak_rss_bytes": m.get("peak_rss_bytes"),
            "attempts": m.get("attempts"),
            "worker": m.get("worker"),
            "sha256": m.get("sha256"),
        }


_OUTCOME_SCHEMA = pa.schema(
    [
        ("source_id", pa.int32()),
        ("status", pa.string()),
        ("format", pa.string()),
        ("reader", pa.string()),
        ("records", pa.int64()),
        ("documents", pa.int64()),
        ("links", pa.int64()),
        ("bad_records", pa.int64()),
        ("error", pa.string()),
        ("bad_record_errors", pa.list_(pa.string())),
        ("seconds", pa.float64()),
        ("cpu_seconds", pa.float64()),
        ("peak_rss_bytes", pa.int64()),
        ("attempts", pa.int32()),
        ("worker", pa.string()),
        ("sha256", pa.string()),
    ]
)


def fold_sources(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    folds: Sequence[SourceFold],
    *,
    fold_id: int | None = None,
    fold_counts: tuple[int, int, float] = (0, 0, 0.0),
) -> None:
    """Record the sources of `folds` in one transaction: their outcomes, that their URLs must be matched again,
    and (`fold_id`) that the URL index fold of their URLs and hosts is done, with its (urls, hosts, seconds)."""
    if not folds and fold_id is None:
        return
    outcomes = pa.Table.from_pylist([f.outcome() for f in folds], schema=_OUTCOME_SCHEMA)
    con.register("folded_outcomes", outcomes)
    try:
        with transaction(con):
            # their URLs may have changed (a file read again with --force): matched again
            con.execute("DELETE FROM matched_sources WHERE source_id IN (SELECT source_id FROM folded_outcomes)")
            con.execute(
                """
                UPDATE sources SET status = o.status, format = o.format, reader = o.reader, records = o.records,
                    documents = o.documents, links = o.links, bad_records = o.bad_records, error = o.error,
                    bad_record_errors = o.bad_record_errors, finished_at = current_timestamp, seconds = o.seconds,
                    cpu_seconds = o.cpu_seconds, peak_rss_bytes = o.peak_rss_bytes, attempts = o.attempts,
                    worker = o.worker
                FROM folded_outcomes AS o WHERE sources.source_id = o.source_id
                """
            )
            # a remote file's digest, computed as its bytes arrived, replaces its stand-in (unless the same bytes
            # were ingested from elsewhere in this snapshot: that file keeps its row)
            con.execute(
                """
                UPDATE sources SET sha256 = o.sha256 FROM folded_outcomes AS o
                WHERE sources.source_id = o.source_id AND o.sha256 IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM sources AS other
                    WHERE other.snapshot = sources.snapshot AND other.sha256 = o.sha256
                )
                """
            )
            if fold_id is not None:
                urls, hosts, seconds = fold_counts
                con.execute(
                    "UPDATE url_folds SET status = 'done', urls = ?, hosts = ?, seconds = ?,"
                    " finished_at = current_timestamp WHERE fold_id = ?",
                    [urls, hosts, seconds, fold_id],
                )
    finally:
        con.unregister("folded_outcomes")
    for fold in folds:
        forget_attempts(root, fold.source_id)


def has_url_parts(fold: SourceFold) -> bool:
    """Whether the source's unit published distinct URLs or hosts (what the URL index folds)."""
    return fold.manifest is not None and bool({"urls", "hosts"} & set(fold.manifest.get("parts", {})))
