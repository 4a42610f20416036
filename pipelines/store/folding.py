"""Folding published units into the database: the one write an ingest's driver makes for its files.

A unit (crawler/ingest/unit.py) publishes a source's parts and manifest; `fold_sources` records a batch of
them in one transaction: the sources' outcomes, their new distinct URLs and hosts, and that their URLs must
be matched again. Its work is a few bulk statements per batch whatever the batch's size, so the driver's time
per unit stays small however many units a cluster runs (docs/scale.md).

Batches are folded in source order (a contiguous run of the ingest's sources, see crawler/ingest/runner.py):
a new URL's `first_source` is the smallest source id among the files that have it, in every run, whichever
worker read which file first and wherever a killed run stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.store.parts import forget_attempts, part_path
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


def fold_sources(con: duckdb.DuckDBPyConnection, root: Path, folds: Sequence[SourceFold]) -> None:
    """Record the sources of `folds` (pipelines/store/parts.py has their parts under `root`) in one transaction."""
    if not folds:
        return
    url_parts = [str(part_path(root, f.source_id, "urls")) for f in folds if _has_part(f, "urls")]
    host_parts = [str(part_path(root, f.source_id, "hosts")) for f in folds if _has_part(f, "hosts")]
    outcomes = pa.Table.from_pylist([f.outcome() for f in folds], schema=_OUTCOME_SCHEMA)
    con.register("folded_outcomes", outcomes)
    try:
        with transaction(con):
            if url_parts:
                # a URL the store has (same key, same text) keeps its row; a new one is the smallest source's
                con.execute(
                    """
                    INSERT INTO urls BY NAME
                    SELECT url, min(host) AS host, min(registered_domain) AS registered_domain,
                           min(registered_domain_private) AS registered_domain_private,
                           hash(url) AS url_key, min(source_id) AS first_source
                    FROM read_parquet($parts) AS staged
                    WHERE NOT EXISTS (
                        SELECT 1 FROM urls WHERE urls.url_key = hash(staged.url) AND urls.url = staged.url
                    ) AND NOT EXISTS (  -- rows other tools added without a key are compared by their text
                        SELECT 1 FROM urls WHERE urls.url_key IS NULL AND urls.url = staged.url
                    )
                    GROUP BY url
                    """,
                    {"parts": url_parts},
                )
            if host_parts:
                con.execute(
                    """
                    INSERT INTO hosts BY NAME
                    SELECT host, min(registered_domain) AS registered_domain,
                           min(registered_domain_private) AS registered_domain_private
                    FROM read_parquet($parts) AS staged
                    WHERE NOT EXISTS (SELECT 1 FROM hosts WHERE hosts.host = staged.host)
                    GROUP BY host
                    """,
                    {"parts": host_parts},
                )
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
    finally:
        con.unregister("folded_outcomes")
    for fold in folds:
        forget_attempts(root, fold.source_id)


def _has_part(fold: SourceFold, table: str) -> bool:
    return fold.manifest is not None and table in fold.manifest.get("parts", {})
