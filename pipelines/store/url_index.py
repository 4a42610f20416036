"""The URL index: `urls` and `hosts` as Parquet parts, bucketed by a hash of the URL (host), folded in parallel.

Every distinct URL of the store is in exactly one bucket (pipelines/store/url_buckets.py: CRC-32 of its
UTF-8 bytes modulo the store's bucket count, the same on every version and machine), and within its bucket in
exactly one part: STORE.parts/urls/<bucket>/<fold id>.parquet. An ingest's units write each file's distinct
URLs with their bucket (pipelines/store/parts.py); at the end of the ingest one fold adds the new ones: units
of work of a few buckets each (`fold_bucket`, run by the ingest's engine, in parallel), which read each
bucket's rows of the new files' URL parts and keep those in no earlier part of the bucket, each with the
smallest source id that has it (`first_source`). Hosts are the same, by a hash of the host. The views `urls`
and `hosts` read every part.

What the driver does per fold is constant: record the fold (`url_folds`) as running, let the engine run the
buckets, then record the sources and the fold as done in one transaction. A fold that never finished (a
killed ingest) is discarded, parts and all, before the next one starts (`discard_unfinished_folds`), so a
part exists only for folds that are done, or for the one running.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.store.parts import PART_SCHEMAS, part_path
from pipelines.store.sql_text import sql_string, sql_string_list
from pipelines.store.staging import HOST_TABLE_SCHEMA, URL_TABLE_SCHEMA
from pipelines.store.url_buckets import URL_BUCKETS, bucketed_batches

URL_INDEX_TABLES = ("urls", "hosts")
URL_INDEX_SCHEMAS = {
    "urls": URL_TABLE_SCHEMA.append(pa.field("first_source", pa.int32())),
    "hosts": HOST_TABLE_SCHEMA,
}
# What a fold unit's DuckDB may hold in memory; beyond it, its aggregation spills to the parts' tmp folder.
FOLD_MEMORY_LIMIT = "512MB"
_EMPTY_FOLD = 0


def index_glob(root: Path, table: str) -> str:
    return str(root.resolve() / table / "*" / "*.parquet")


def index_folder(root: Path, table: str, bucket: int) -> Path:
    return root / table / f"{bucket:03d}"


def index_part(root: Path, table: str, bucket: int, fold_id: int) -> Path:
    return index_folder(root, table, bucket) / f"{fold_id:010d}.parquet"


def view_sql(root: Path, table: str) -> str:
    columns = ", ".join(URL_INDEX_SCHEMAS[table].names)
    if table == "urls":  # url_key: DuckDB's hash of the URL, computed (it can differ between DuckDB versions)
        columns = columns.replace("first_source", "hash(url) AS url_key, first_source")
    return (
        f"CREATE OR REPLACE VIEW {table} AS SELECT {columns} FROM read_parquet({sql_string(index_glob(root, table))})"
    )


def ensure_empty_index(root: Path) -> None:
    """One empty part per table (fold 0 of bucket 0), so that the views always have a file to read."""
    for table in URL_INDEX_TABLES:
        path = index_part(root, table, 0, _EMPTY_FOLD)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
            pq.write_table(URL_INDEX_SCHEMAS[table].empty_table(), tmp, compression="zstd")
            os.replace(tmp, path)


def index_views_point_at(con: duckdb.DuckDBPyConnection, root: Path) -> bool:
    """Whether the store's views `urls` and `hosts` read the index under `root` (or, before schema version 9,
    it has tables)."""
    rows = dict(
        con.execute(
            "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND database_name = current_database()"
            " AND view_name IN ('urls', 'hosts')"
        ).fetchall()
    )
    if not rows:
        return True
    return all(table in rows and index_glob(root, table) in rows[table] for table in URL_INDEX_TABLES)


def create_index_views(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    ensure_empty_index(root)
    for table in URL_INDEX_TABLES:
        con.execute(view_sql(root, table))


@dataclass(frozen=True)
class FoldTask:
    """Some buckets of one fold: the URLs and hosts of `source_ids` (their parts under `parts_root`) that fall
    in `buckets_of_task`."""

    parts_root: str
    fold_id: int
    buckets_of_task: tuple[int, ...]
    source_ids: tuple[int, ...]


def fold_tasks(parts_root: Path, fold_id: int, source_ids: Sequence[int], buckets: int, tasks: int) -> list[FoldTask]:
    """The fold's buckets dealt out to `tasks` units (the parts written do not depend on how)."""
    tasks = max(1, min(tasks, buckets))
    return [
        FoldTask(str(parts_root), fold_id, tuple(range(buckets))[index::tasks], tuple(source_ids))
        for index in range(tasks)
    ]


def fold_bucket(task: FoldTask) -> dict:
    """Write the new URLs and hosts of the task's buckets as their parts of the fold (each written whole, then
    renamed into place; none for a bucket with nothing new); returns the counts. Reads only parts: runs
    anywhere the parts are. The new rows of its buckets are read once, then each bucket is written by itself."""
    started, cpu = time.perf_counter(), time.process_time()
    root = Path(task.parts_root)
    tmp = root / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    # one thread: a unit is one CPU's work (Ray schedules it as such; the local pool runs one per core)
    con = duckdb.connect(
        config={"memory_limit": FOLD_MEMORY_LIMIT, "temp_directory": str(tmp / "fold-spill"), "threads": 1}
    )
    counts = {"urls": 0, "hosts": 0}
    try:
        for table, key in (("urls", "url"), ("hosts", "host")):
            new = [str(path) for sid in task.source_ids if (path := part_path(root, sid, table)).exists()]
            if new:
                columns = ", ".join(PART_SCHEMAS[table].names)
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE new_rows AS SELECT {columns}"
                    f" FROM read_parquet({sql_string_list(new)})"
                    f" WHERE bucket IN ({', '.join(map(str, task.buckets_of_task))}) AND {key} IS NOT NULL"
                )
            for bucket in task.buckets_of_task:
                out = index_part(root, table, bucket, task.fold_id)
                earlier = [
                    str(path)
                    for path in sorted(index_folder(root, table, bucket).glob("*.parquet"))
                    if path.name != out.name
                ]
                counts[table] += _fold_table(con, table, key, bool(new), earlier, bucket, out, tmp)
    finally:
        con.close()
    return {
        "fold_id": task.fold_id,
        "buckets": list(task.buckets_of_task),
        **counts,
        "seconds": round(time.perf_counter() - started, 6),
        "cpu_seconds": round(time.process_time() - cpu, 6),
    }


def _fold_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    key: str,
    has_new: bool,
    earlier: list[str],
    bucket: int,
    out: Path,
    tmp: Path,
) -> int:
    if not has_new:
        out.unlink(missing_ok=True)
        return 0
    aggregates = ", ".join(
        f"min({name}) AS {name}" if name != "first_source" else "min(source_id) AS first_source"
        for name in URL_INDEX_SCHEMAS[table].names
        if name != key
    )
    not_earlier = (
        f"AND NOT EXISTS (SELECT 1 FROM read_parquet({sql_string_list(earlier)}) AS e WHERE e.{key} = s.{key})"
        if earlier
        else ""
    )
    query = f"SELECT {key}, {aggregates} FROM new_rows AS s WHERE bucket = {bucket} {not_earlier} GROUP BY {key}"
    out.parent.mkdir(parents=True, exist_ok=True)
    written = tmp / f"{table}-{bucket:03d}-{out.stem}-{uuid.uuid4().hex[:8]}.parquet"
    [(rows,)] = con.execute(
        f"COPY ({query}) TO {sql_string(str(written))} (FORMAT parquet, COMPRESSION zstd)"
    ).fetchall()
    if not rows:
        written.unlink(missing_ok=True)
        out.unlink(missing_ok=True)
        return 0
    os.replace(written, out)
    return rows


def url_buckets(con: duckdb.DuckDBPyConnection) -> int:
    """The number of buckets of the store's URL index (fixed once the store has URLs)."""
    rows = con.execute("SELECT value FROM store_settings WHERE name = 'url_buckets'").fetchall()
    return int(rows[0][0]) if rows else URL_BUCKETS


class UrlBucketsFixed(ValueError):
    """The URL index's bucket count can be chosen only while the store has no URLs."""


def set_url_buckets(con: duckdb.DuckDBPyConnection, buckets: int) -> None:
    """Choose the URL index's bucket count: before the store's first fold only (docs/scale.md)."""
    if buckets < 1 or buckets > 4096:
        raise UrlBucketsFixed(f"url buckets must be between 1 and 4096, not {buckets}")
    if buckets == url_buckets(con):
        return
    [(folds,)] = con.execute("SELECT count(*) FROM url_folds WHERE status = 'done'").fetchall()
    if folds:
        raise UrlBucketsFixed(
            f"the store's URL index has {url_buckets(con)} buckets and holds URLs already: its bucket count is"
            " fixed (choose it with the first ingest of a new store)"
        )
    con.execute("INSERT OR REPLACE INTO store_settings VALUES ('url_buckets', ?)", [str(buckets)])


def begin_fold(con: duckdb.DuckDBPyConnection, source_ids: Sequence[int]) -> int:
    """Record a fold of these sources as running; returns its id."""
    [(fold_id,)] = con.execute(
        "INSERT INTO url_folds (fold_id, sources, status, started_at)"
        " SELECT coalesce(max(fold_id), 0) + 1, $sources, 'running', current_timestamp FROM url_folds"
        " RETURNING fold_id",
        {"sources": list(source_ids)},
    ).fetchall()
    return fold_id


def discard_unfinished_folds(con: duckdb.DuckDBPyConnection, root: Path) -> int:
    """Remove the parts of every fold that did not finish, and mark it discarded; returns how many there were."""
    unfinished = [row[0] for row in con.execute("SELECT fold_id FROM url_folds WHERE status = 'running'").fetchall()]
    for fold_id in unfinished:
        for table in URL_INDEX_TABLES:
            for part in (root / table).glob(f"*/{fold_id:010d}.parquet"):
                part.unlink(missing_ok=True)
    if unfinished:  # kept, as discarded: a fold id is never used twice
        con.execute(
            "UPDATE url_folds SET status = 'discarded', finished_at = current_timestamp WHERE status = 'running'"
        )
    return len(unfinished)


def publish_url_rows(con: duckdb.DuckDBPyConnection, root: Path, query: str, *, hosts_query: str | None = None) -> int:
    """Add the rows of `query` (the `urls` columns, first_source included) not in the index yet as a fold of
    their own, with their hosts (or the rows of `hosts_query`): how tools, tests and benchmarks add URLs
    without an ingest. Returns the fold id."""
    urls = con.sql(f"SELECT {', '.join(URL_INDEX_SCHEMAS['urls'].names)} FROM ({query})").to_arrow_table()
    urls = urls.cast(URL_INDEX_SCHEMAS["urls"])
    fold_id = begin_fold(con, [])
    con.register("urls_to_publish", urls)
    try:
        hosts_source = f"({hosts_query})" if hosts_query else "urls_to_publish"
        host_rows = con.sql(
            "SELECT host, min(registered_domain) AS registered_domain,"
            f" min(registered_domain_private) AS registered_domain_private FROM {hosts_source}"
            " WHERE host IS NOT NULL AND host NOT IN (SELECT host FROM hosts) GROUP BY host ORDER BY host"
        ).to_arrow_table()
        url_rows = con.sql(
            "SELECT * FROM urls_to_publish WHERE url NOT IN (SELECT url FROM urls) ORDER BY url"
        ).to_arrow_table()
    finally:
        con.unregister("urls_to_publish")
    for table, rows, key in (("urls", url_rows, "url"), ("hosts", host_rows, "host")):
        for piece in bucketed_batches(rows.cast(URL_INDEX_SCHEMAS[table]), key):
            bucket = piece.column("bucket")[0].as_py()
            out = index_part(root, table, bucket, fold_id)
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(piece.drop_columns(["bucket"]), out, compression="zstd")
    con.execute("UPDATE url_folds SET status = 'done', finished_at = current_timestamp WHERE fold_id = ?", [fold_id])
    return fold_id
