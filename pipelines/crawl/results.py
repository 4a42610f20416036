"""Crawl results in the store without holding it: staged Parquet batches, merged in short transactions.

A crawl runs for hours; DuckDB lets one process hold a database file for writing, and a writer excludes
readers in other processes. So the crawl never keeps the database open:

- results are written as Parquet batches in `<db>.staging/crawl/` (a batch appears atomically: its files are
  written under temporary names, the results file renamed last, and only complete batches are merged);
- every few seconds (and at the end) the crawl opens the database, merges every complete batch in one short
  transaction, deletes the batch files, and closes it. If the database is busy (an analyst's session), the
  batches wait for the next merge; nothing is lost.

Merging is idempotent (rows of a batch replace the rows of the same links), so a crash between the commit and
the deletion of a batch's files, or a rerun after kill -9, never counts a result twice. Results still in
memory when a crawl is killed are lost, and their links are resolved again by the next run.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.store import StoreLocked, open_store, sql_string_list, staging_root, transaction

HOP_TYPE = pa.struct([("url", pa.string()), ("status", pa.int32()), ("via", pa.string()), ("peer_ip", pa.string())])
RESULT_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("crawl_id", pa.string()),
        ("outcome", pa.string()),
        ("final_url", pa.string()),
        ("hops", pa.list_(HOP_TYPE)),
        ("status", pa.int32()),
        ("content_type", pa.string()),
        ("content_length", pa.int64()),
        ("peer_ip", pa.string()),
        ("error_class", pa.string()),
        ("error", pa.string()),
        ("md5", pa.string()),
        ("sha1", pa.string()),
        ("sha256", pa.string()),
        ("pdq", pa.string()),
        ("pdq_quality", pa.int32()),
        ("fetched_at", pa.timestamp("us")),
        ("seconds", pa.float64()),
    ]
)
MATCH_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("version_id", pa.int32()),
        ("list_name", pa.string()),
        ("category", pa.string()),
        ("matched_rule", pa.string()),
        ("expression", pa.string()),
        ("detected_via", pa.string()),
        ("effect", pa.string()),
        ("entry_kind", pa.string()),
        ("line_no", pa.int32()),
        ("rule_expression", pa.string()),
        ("evidence", pa.string()),
    ]
)
CHECK_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("service", pa.string()),
        ("signal_type", pa.string()),
        ("signal", pa.string()),
        ("status", pa.string()),
        ("content_id", pa.string()),
        ("bank", pa.string()),
        ("distance", pa.int32()),
        ("error", pa.string()),
        ("checked_at", pa.timestamp("us")),
    ]
)
# detected_via values a crawl writes (a merge replaces these for the links of its batch)
CRAWL_DETECTIONS = ("redirect", "content-hash", "hash-service")


def crawl_staging(db_path: Path) -> Path:
    return staging_root(db_path) / "crawl"


@dataclass
class CrawlBatches:
    """Collects result, match and hash-check rows and writes them out as complete batches."""

    folder: Path
    rows_per_batch: int = 500
    results: list[dict] = field(default_factory=list)
    matches: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    written: int = 0

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def add(self, result: dict, matches: Sequence[dict] = (), checks: Sequence[dict] = ()) -> None:
        self.results.append(result)
        self.matches.extend(matches)
        self.checks.extend(checks)
        if len(self.results) >= self.rows_per_batch:
            self.flush()

    def flush(self) -> Path | None:
        """Write the collected rows as one batch (results file last: its presence marks the batch complete)."""
        if not self.results:
            return None
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        parts = (("matches", self.matches, MATCH_SCHEMA), ("checks", self.checks, CHECK_SCHEMA))
        for kind, rows, schema in (*parts, ("results", self.results, RESULT_SCHEMA)):
            temporary = self.folder / f".{name}.{kind}.parquet.tmp"
            pq.write_table(pa.Table.from_pylist(rows, schema=schema), temporary, compression="zstd")
            os.replace(temporary, self.folder / f"{name}.{kind}.parquet")
        self.written += len(self.results)
        self.results, self.matches, self.checks = [], [], []
        return self.folder / f"{name}.results.parquet"


def complete_batches(folder: Path) -> list[str]:
    """Names of the batches whose results file exists (their other files were written before it)."""
    if not folder.is_dir():
        return []
    return sorted(path.name.removesuffix(".results.parquet") for path in folder.glob("*.results.parquet"))


def merge_batches(con: duckdb.DuckDBPyConnection, folder: Path) -> int:
    """Merge every complete batch into the tables in one transaction; returns the number of results merged.

    The rows of a batch replace earlier rows of the same links (latest resolution wins).
    """
    names = complete_batches(folder)
    if not names:
        return 0
    results = sql_string_list([str(folder / f"{name}.results.parquet") for name in names])
    matches = sql_string_list([str(folder / f"{name}.matches.parquet") for name in names])
    checks = sql_string_list([str(folder / f"{name}.checks.parquet") for name in names])
    with transaction(con):
        # several batches may hold the same link (a rerun): the latest one wins
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE merged_results AS
            SELECT *, split_part(parse_filename(filename), '.', 1) AS batch
            FROM read_parquet({results}, filename = true)
            QUALIFY row_number() OVER (PARTITION BY url ORDER BY fetched_at DESC, filename DESC) = 1
            """
        )
        con.execute("DELETE FROM crawl_results WHERE url IN (SELECT url FROM merged_results)")
        con.execute("INSERT INTO crawl_results BY NAME SELECT * EXCLUDE (filename, batch) FROM merged_results")
        con.execute(
            """
            DELETE FROM url_matches
            WHERE detected_via IN (SELECT unnest($detections)) AND url IN (SELECT url FROM merged_results)
            """,
            {"detections": list(CRAWL_DETECTIONS)},
        )
        con.execute(
            f"""
            INSERT INTO url_matches BY NAME
            SELECT m.* EXCLUDE (filename) FROM read_parquet({matches}, filename = true) AS m
            JOIN merged_results AS r ON r.url = m.url AND r.batch = split_part(parse_filename(m.filename), '.', 1)
            """
        )
        con.execute("DELETE FROM hash_checks WHERE url IN (SELECT url FROM merged_results)")
        con.execute(
            f"""
            INSERT INTO hash_checks BY NAME
            SELECT c.* EXCLUDE (filename) FROM read_parquet({checks}, filename = true) AS c
            JOIN merged_results AS r ON r.url = c.url AND r.batch = split_part(parse_filename(c.filename), '.', 1)
            """
        )
        merged = con.execute("SELECT count(*) FROM merged_results").fetchone()[0]
    for name in names:
        for kind in ("matches", "checks", "results"):
            (folder / f"{name}.{kind}.parquet").unlink(missing_ok=True)
    return merged


def merge_into_store(db_path: Path, folder: Path, *, wait_seconds: float = 0.0) -> int | None:
    """Open the store, merge the complete batches, close it. None when the store stayed busy (the batches
    wait for the next merge)."""
    if not complete_batches(folder):
        return 0
    try:
        con = open_store(db_path, wait_seconds=wait_seconds)
    except StoreLocked:
        return None
    try:
        return merge_batches(con, folder)
    finally:
        con.close()


def evidence_json(**fields: object) -> str:
    return json.dumps(fields, sort_keys=True, default=str)


def unchecked_count(con: duckdb.DuckDBPyConnection, snapshot: str) -> int:
    """Content hashes of the snapshot's links that a hash service could not check (it was down): the next crawl
    asks again, and until then they are neither clean nor flagged."""
    return con.execute(
        """
        SELECT count(DISTINCT url) FROM hash_checks
        WHERE status = 'unchecked' AND url IN (
            SELECT url FROM links
            WHERE (doc_id >> 32)::INTEGER IN (SELECT source_id FROM sources WHERE snapshot = $snapshot)
        )
        """,
        {"snapshot": snapshot},
    ).fetchall()[0][0]
