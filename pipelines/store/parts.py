"""Parts: each source's documents and links as Parquet files beside the database, read through views.

A store at STORE keeps them under STORE.parts/sources/<source id>/ (documents.parquet, links.parquet, and the
file's distinct URLs and hosts, urls.parquet and hosts.parquet, which the ingest folds into the URL index of
pipelines/store/url_index.py), with the manifest of the unit that wrote them. A unit writes its folder under
STORE.parts/tmp/ and publishes it with one rename, so a folder under sources/ is always whole; the views
`documents` and `links` read every published folder's file, so what a unit publishes is visible at once, to
every process, without a write to the database.

The folder 0000000000 (no source has id 0) holds empty files, so that the views always have a file to read.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.store.sql_text import sql_string
from pipelines.store.staging import STAGED_SCHEMAS, URL_TABLE_SCHEMA, stream_staged
from pipelines.store.url_buckets import URL_BUCKETS, bucketed_batches

# The tables kept as parts, and read through views of the same name.
PART_TABLES = ("documents", "links")
# The staged tables a unit publishes beside them, for the ingest to fold into `urls` and `hosts`.
FOLDED_TABLES = ("urls", "hosts")
# A source's distinct URLs and hosts carry their bucket of the URL index (pipelines/store/url_index.py), one
# Parquet row group per bucket, so that the fold of a bucket reads only its rows.
PART_SCHEMAS: dict[str, pa.Schema] = {
    **STAGED_SCHEMAS,
    "urls": URL_TABLE_SCHEMA.append(pa.field("source_id", pa.int32())).append(pa.field("bucket", pa.int16())),
    "hosts": pa.schema([*list(URL_TABLE_SCHEMA)[1:], pa.field("bucket", pa.int16())]),
}
MANIFEST_NAME = "manifest.json"
PART_SUFFIX = ".parquet"
# Rows per Parquet row group: DuckDB's own row group size, so that a view scans parts as it scans a table.
PART_ROW_GROUP_ROWS = 122_880
# zstd: the smallest parts for about the cost of snappy or lz4 (docs/benchmarks.md)
PART_COMPRESSION = "zstd"
_EMPTY_SOURCE = 0


def parts_root(db_path: Path) -> Path:
    """Where the parts of the database at `db_path` live."""
    return db_path.with_name(db_path.name + ".parts")


def source_folder(root: Path, source_id: int) -> Path:
    return root / "sources" / f"{source_id:010d}"


def part_path(root: Path, source_id: int, table: str) -> Path:
    return source_folder(root, source_id) / f"{table}{PART_SUFFIX}"


def manifest_path(root: Path, source_id: int) -> Path:
    return source_folder(root, source_id) / MANIFEST_NAME


def read_manifest(root: Path, source_id: int) -> dict | None:
    """The manifest a unit published for the source, or None (not published, or unreadable)."""
    try:
        return json.loads(manifest_path(root, source_id).read_text())
    except (OSError, ValueError):
        return None


def new_unit_folder(root: Path, source_id: int) -> Path:
    """A fresh private folder for one attempt at a source's unit, on the parts' filesystem (for the rename);
    what earlier attempts left there (a worker killed mid-unit) is removed first."""
    tmp = root / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    discard_unit_folders(root, source_id)
    folder = tmp / f"{source_id:010d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    return folder


def discard_unit_folders(root: Path, source_id: int) -> None:
    for stale in (root / "tmp").glob(f"{source_id:010d}-*"):
        shutil.rmtree(stale, ignore_errors=True)


def unit_attempt(root: Path, source_id: int) -> int:
    """Count one more attempt at the source's unit (by any process, on any node sharing the parts); returns
    which attempt this is. The count lives in a folder of its own under tmp/, one file per attempt, until the
    driver folds the published manifest (`forget_attempts`)."""
    attempts = root / "tmp" / f"{source_id:010d}.attempts"
    attempts.mkdir(parents=True, exist_ok=True)
    (attempts / f"{os.getpid()}-{uuid.uuid4().hex[:8]}").touch()
    return sum(1 for _ in attempts.iterdir())


def forget_attempts(root: Path, source_id: int) -> None:
    shutil.rmtree(root / "tmp" / f"{source_id:010d}.attempts", ignore_errors=True)


def write_part(
    staged_file: str | Path, out: Path, table: str, *, source_id: int | None = None, buckets: int = URL_BUCKETS
) -> tuple[int, int]:
    """Write a staged file's rows (pipelines/store/staging.py) as the Parquet part `out`; a URL part gets the
    source's id as a column; URL and host parts their bucket, one row group each. Returns (rows, bytes)."""
    schema = PART_SCHEMAS[table]
    if table in ("urls", "hosts"):
        return _write_bucketed_part(staged_file, out, table, source_id, buckets)
    rows = 0
    with stream_staged(staged_file) as batches, pq.ParquetWriter(out, schema, compression=PART_COMPRESSION) as writer:
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in batches:
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= PART_ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_batches(pending, schema))
                rows += pending_rows
                pending, pending_rows = [], 0
        if pending:
            writer.write_table(pa.Table.from_batches(pending, schema))
            rows += pending_rows
    return rows, out.stat().st_size


def _write_bucketed_part(staged_file, out: Path, table: str, source_id: int | None, buckets: int) -> tuple[int, int]:
    schema = PART_SCHEMAS[table]
    key = "url" if table == "urls" else "host"
    rows = 0
    with stream_staged(staged_file) as batches, pq.ParquetWriter(out, schema, compression=PART_COMPRESSION) as writer:
        for batch in batches:
            batch_table = pa.Table.from_batches([batch])
            if table == "urls":
                batch_table = batch_table.append_column("source_id", pa.array([source_id] * batch.num_rows, pa.int32()))
            for piece in bucketed_batches(batch_table, key, buckets):
                writer.write_table(piece.cast(schema))
            rows += batch.num_rows
    return rows, out.stat().st_size


def write_manifest(folder: Path, manifest: dict) -> None:
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, sort_keys=True, indent=1) + "\n")


def publish_unit_folder(root: Path, source_id: int, folder: Path) -> None:
    """Make a unit's folder the source's published one: one rename (the source's previous folder, from an
    earlier ingest with --force, is moved aside first, then removed)."""
    final = source_folder(root, source_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    _fsync_folder(folder)
    if final.exists():
        aside = root / "tmp" / f"{source_id:010d}-replaced-{uuid.uuid4().hex[:8]}"
        os.rename(final, aside)
        os.rename(folder, final)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.rename(folder, final)
    _fsync_path(final.parent)


def _fsync_folder(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    _fsync_path(folder)


def _fsync_path(path: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def ensure_empty_parts(root: Path) -> None:
    """The empty parts the views always read (see the module's docstring)."""
    folder = source_folder(root, _EMPTY_SOURCE)
    if all((folder / f"{table}{PART_SUFFIX}").exists() for table in PART_TABLES):
        return
    folder.mkdir(parents=True, exist_ok=True)
    for table in PART_TABLES:
        path = folder / f"{table}{PART_SUFFIX}"
        if not path.exists():
            with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as handle:
                pq.write_table(PART_SCHEMAS[table].empty_table(), handle.name, compression=PART_COMPRESSION)
            os.replace(handle.name, path)


def part_glob(root: Path, table: str) -> str:
    return str(root.resolve() / "sources" / "*" / f"{table}{PART_SUFFIX}")


def view_sql(root: Path, table: str) -> str:
    columns = ", ".join(PART_SCHEMAS[table].names)
    return f"CREATE OR REPLACE VIEW {table} AS SELECT {columns} FROM read_parquet({sql_string(part_glob(root, table))})"


def create_part_views(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """(Re)create the views of the parts under `root` (a store moved elsewhere gets views of its new place)."""
    ensure_empty_parts(root)
    for table in PART_TABLES:
        con.execute(view_sql(root, table))


def views_point_at(con: duckdb.DuckDBPyConnection, root: Path) -> bool:
    """Whether the store's views read the parts under `root` (or, before schema version 8, it has tables)."""
    tables = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
        " AND table_name IN ('documents', 'links')"
    ).fetchall()[0][0]
    if tables:
        return True
    rows = con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND database_name = current_database()"
        " AND view_name IN ('documents', 'links')"
    ).fetchall()
    expected = {table: part_glob(root, table) for table in PART_TABLES}
    found = {name: sql for name, sql in rows}
    return all(table in found and expected[table] in found[table] for table in PART_TABLES)


def database_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file of the connection's current database; None in memory."""
    [(path,)] = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return Path(path) if path else None


def parts_root_of(con: duckdb.DuckDBPyConnection) -> Path:
    """Where the parts of the connection's database live: beside its file; an in-memory database's in a
    temporary folder of its own, recorded in store_settings."""
    path = database_file(con)
    if path is not None:
        return parts_root(path.resolve())
    recorded = con.execute("SELECT value FROM store_settings WHERE name = 'memory_parts_root'").fetchall()
    if recorded:
        return Path(recorded[0][0])
    root = Path(tempfile.mkdtemp(prefix="linksweep-parts-"))
    con.execute("INSERT INTO store_settings VALUES ('memory_parts_root', ?)", [str(root)])
    return root


def remove_source_parts(root: Path, source_id: int) -> None:
    shutil.rmtree(source_folder(root, source_id), ignore_errors=True)


_DUCKDB_TYPES = {pa.int64(): "BIGINT", pa.int32(): "INTEGER", pa.int16(): "SMALLINT", pa.string(): "VARCHAR"}


def publish_rows(
    con: duckdb.DuckDBPyConnection, source_id: int, queries: dict[str, str], parameters: dict | None = None
) -> None:
    """Publish the rows of `queries` (table -> a SELECT of that table's columns, by name) as the source's
    parts, replacing what it had: how tools, tests and benchmarks put rows in `documents` and `links`
    without reading a corpus file (the views are read-only; an ingest publishes through its units)."""
    root = parts_root_of(con)
    folder = new_unit_folder(root, source_id)
    try:
        for table, query in queries.items():
            schema = PART_SCHEMAS[table]
            columns = ", ".join(
                f"CAST({name} AS {_DUCKDB_TYPES[schema.field(name).type]}) AS {name}" for name in schema.names
            )
            out = sql_string(str(folder / f"{table}{PART_SUFFIX}"))
            con.execute(
                f"COPY (SELECT {columns} FROM ({query})) TO {out}"
                f" (FORMAT parquet, COMPRESSION {PART_COMPRESSION}, ROW_GROUP_SIZE {PART_ROW_GROUP_ROWS})",
                {name: value for name, value in (parameters or {}).items() if f"${name}" in query},
            )
        write_manifest(folder, {"source_id": source_id, "unit": "rows", "tables": sorted(queries)})
        publish_unit_folder(root, source_id, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def move_tables_to_parts(con: duckdb.DuckDBPyConnection) -> None:
    """Move the rows of the `documents` and `links` tables into one folder of parts per source (in the order
    they were inserted), then replace both tables with views of the parts (pipelines/store/parts.py)."""
    root = parts_root_of(con)
    options = f"(FORMAT parquet, COMPRESSION {PART_COMPRESSION}, ROW_GROUP_SIZE {PART_ROW_GROUP_ROWS})"
    sources = con.execute(
        "SELECT DISTINCT source_id FROM (SELECT source_id FROM documents UNION ALL"
        " SELECT (doc_id >> 32)::INTEGER FROM links) ORDER BY source_id"
    ).fetchall()
    for (source_id,) in sources:
        low, high = source_id << 32, ((source_id + 1) << 32) - 1
        folder = new_unit_folder(root, source_id)
        con.execute(
            f"COPY (SELECT * FROM documents WHERE source_id = {source_id} ORDER BY rowid)"
            f" TO {sql_string(str(folder / 'documents.parquet'))} {options}"
        )
        con.execute(
            f"COPY (SELECT * FROM links WHERE doc_id BETWEEN {low} AND {high} ORDER BY rowid)"
            f" TO {sql_string(str(folder / 'links.parquet'))} {options}"
        )
        write_manifest(folder, {"source_id": source_id, "migrated": True, "status": "done"})
        publish_unit_folder(root, source_id, folder)
    con.execute("DROP TABLE links")
    con.execute("DROP TABLE documents")
    create_part_views(con, root)
