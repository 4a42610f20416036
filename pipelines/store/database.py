"""The DuckDB store: where it lives, opening it at the current schema, and atomic per-file commits."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.store.migrate import SchemaTooNew, current_version, migrate
from pipelines.store.parts import create_part_views, parts_root, parts_root_of, views_point_at
from pipelines.store.schema import LATEST_VERSION
from pipelines.store.sql_text import sql_string
from pipelines.store.transaction import transaction
from pipelines.store.url_index import create_index_views, index_views_point_at

DEFAULT_DB_PATH = Path("data/linksweep.duckdb")
DB_ENVIRONMENT_VARIABLE = "LINKSWEEP_DB"


def resolve_db_path(option: str | os.PathLike | None = None) -> Path:
    """`--db PATH` if given, else $LINKSWEEP_DB, else data/linksweep.duckdb."""
    if option:
        return Path(option)
    return Path(os.environ.get(DB_ENVIRONMENT_VARIABLE) or DEFAULT_DB_PATH)


LOCK_WAIT_ENVIRONMENT_VARIABLE = "LINKSWEEP_LOCK_WAIT"
# how long opening the store waits for another process's write (a crawl's merge, another ingest) to end
DEFAULT_LOCK_WAIT_SECONDS = 10.0

# Every read-only connection is an analyst's query surface: the database and its parts (the Parquet files the
# views `documents` and `links` read, pipelines/store/parts.py) and nothing else. No other file or URL can be
# read or written (COPY ... TO, read_csv, ATTACH), no extension installed or loaded, and the configuration is
# locked so that a query cannot SET it back. DuckDB takes the parts' folder as an allowed directory only while
# external access is still on: READ_ONLY_CONFIG is what the connection opens with, READ_ONLY_SETTINGS what is
# set after, in this order.
READ_ONLY_CONFIG = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
READ_ONLY_SETTINGS = {
    "enable_external_access": False,
    "lock_configuration": True,
}


class StoreLocked(RuntimeError):
    """Another process has the database open for writing."""


class StoreMissing(FileNotFoundError):
    """There is no database at the path given, and the command does not create one."""


class StoreUnusable(OSError):
    """The database file cannot be opened or created (not a DuckDB file, no permission, ...)."""


def _lock_down(connection: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection reduced to the database and its parts (READ_ONLY_SETTINGS); a second connection
    of this process to the same file shares the first one's instance, locked down already."""
    try:
        [(locked,)] = connection.execute("SELECT current_setting('lock_configuration')").fetchall()
        if not locked:
            parts = str(parts_root(path.resolve())) + os.sep
            connection.execute(f"SET allowed_directories = [{sql_string(parts)}]")
            for name, value in READ_ONLY_SETTINGS.items():
                connection.execute(f"SET {name} = {str(value).lower()}")
        [(external,)] = connection.execute("SELECT current_setting('enable_external_access')").fetchall()
        if external:
            raise StoreUnusable(f"{path}: a read-only connection of this process is not locked down")
    except BaseException:
        connection.close()
        raise
    return connection


def lock_wait_seconds() -> float:
    """How long to wait for a store another process holds: $LINKSWEEP_LOCK_WAIT seconds, else 10."""
    value = os.environ.get(LOCK_WAIT_ENVIRONMENT_VARIABLE)
    try:
        return max(0.0, float(value)) if value else DEFAULT_LOCK_WAIT_SECONDS
    except ValueError:
        return DEFAULT_LOCK_WAIT_SECONDS


def _connect(path: Path, read_only: bool, row_group_size: int | None) -> duckdb.DuckDBPyConnection:
    try:
        if read_only:
            return _lock_down(duckdb.connect(str(path), read_only=True, config=READ_ONLY_CONFIG), path)
        if row_group_size is None:
            return duckdb.connect(str(path))
        # the row group size is an option of ATTACH only (and is not kept in the file): attach to an in-memory
        # connection and make the file the default database
        connection = duckdb.connect()
        try:
            connection.execute(f"ATTACH {sql_string(path)} AS store (ROW_GROUP_SIZE {int(row_group_size)})")
            connection.execute("USE store")
        except duckdb.Error as error:
            connection.close()
            if "already attached" not in str(error):
                raise
            # this process holds the file open already (a library caller's connection): share that instance,
            # with its row groups
            return duckdb.connect(str(path))
        return connection
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise StoreUnusable(f"{path}: cannot open the database: {error}") from None
        holder = str(error).split("Conflicting lock is held in", 1)[-1].split(". See", 1)[0].strip()
        raise StoreLocked(
            f"{path} is in use by another process ({holder}); wait for it to finish and try again"
        ) from None


def open_store(
    path: Path,
    read_only: bool = False,
    wait_seconds: float | None = None,
    row_group_size: int | None = None,
    *,
    create: bool = True,
) -> duckdb.DuckDBPyConnection:
    """A connection to the database at `path`, created (unless `create` is false) and migrated to the current
    schema if needed. A read-only connection sees the database only (READ_ONLY_CONFIG).

    DuckDB lets one process write at a time; while another holds the file (a crawl merging its results, say),
    this waits up to `wait_seconds` (default: lock_wait_seconds()) for it before raising StoreLocked. A missing
    database raises StoreMissing when it is not to be created (read-only, or `create` false).

    `row_group_size` (a power of two) sets the row groups this connection writes; see BULK_ROW_GROUP_SIZE.
    """
    try:
        return _open_store(path, read_only, wait_seconds, row_group_size, create)
    except SchemaTooNew as error:
        raise SchemaTooNew(f"{path}: {error}") from None


def _open_store(
    path: Path, read_only: bool, wait_seconds: float | None, row_group_size: int | None, create: bool
) -> duckdb.DuckDBPyConnection:
    if (read_only or not create) and not path.exists():
        raise StoreMissing(f"no linksweep database at {path} (run `linksweep ingest` first, or give --db)")
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreUnusable(f"{path}: cannot create the database folder: {error.strerror or error}") from None
    deadline = time.monotonic() + (lock_wait_seconds() if wait_seconds is None else wait_seconds)
    while True:
        try:
            connection = _connect(path, read_only, row_group_size)
            break
        except StoreLocked:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
    if not read_only:
        try:
            migrate(connection)
            root = parts_root_of(connection)
            # a store moved (or copied) elsewhere: its views read the parts of its new place
            if not views_point_at(connection, root):
                create_part_views(connection, root)
            if not index_views_point_at(connection, root):
                create_index_views(connection, root)
        except BaseException:
            connection.close()
            raise
        return connection
    version = current_version(connection)
    if version == LATEST_VERSION:
        return connection
    connection.close()
    if version == 0:
        raise StoreUnusable(f"{path}: a DuckDB database, but not a linksweep one (no schema_migrations table)")
    if version > LATEST_VERSION:
        raise SchemaTooNew(
            f"database schema is version {version}, newer than this linksweep ({LATEST_VERSION}); upgrade linksweep"
        )
    # written by an older linksweep: migrate it (as any writing command would), then read
    _open_store(path, False, wait_seconds, None, True).close()
    return _open_store(path, True, wait_seconds, None, False)


# Row groups of bulk appends (ingest). DuckDB writes a transaction's rows straight into the database file,
# compressed, once they fill a row group; smaller inserts go to the write-ahead log and are compressed again
# when it is checkpointed. With the default 122,880 rows, a 50 MB WARC file's ~114k links stayed under one
# row group: every file was written twice (WAL, then checkpoint), and the final checkpoint was the longest
# serial step of a parallel ingest. At 65,536 rows the same files go straight to the database file: an ingest
# spends less CPU on inserts and checkpoint, and closes at once.
# (Powers of two: DuckDB 2.0 fell back to the WAL with 49,152.)
BULK_ROW_GROUP_SIZE = 65_536


def staging_root(db_path: Path) -> Path:
    """Where readers stage Arrow batches before they are committed to the database at `db_path`."""
    return db_path.with_name(db_path.name + ".staging")


@dataclass(frozen=True)
class RegisteredSource:
    source_id: int
    status: str  # pending for new files; the recorded status for known ones
    recorded_path: str


def ensure_snapshot(con: duckdb.DuckDBPyConnection, snapshot: str) -> None:
    con.execute("INSERT INTO snapshots (name) VALUES (?) ON CONFLICT DO NOTHING", [snapshot])


def register_sources(
    con: duckdb.DuckDBPyConnection, snapshot: str, files: Sequence[tuple[str, int, str]]
) -> list[RegisteredSource]:
    """The source row of each (path, size, sha256) in this snapshot, new ones created as `pending`.

    All new rows are created in one bulk insert, with ids following the largest one in the order given, so an
    interrupted run and its rerun give every file the same id as an uninterrupted run would. A file whose
    content was already given earlier in `files` gets that earlier file's source (same id).
    """
    incoming = pa.table(
        {
            "ordinal": pa.array(range(len(files)), pa.int64()),
            "path": pa.array([path for path, _, _ in files], pa.string()),
            "size": pa.array([size for _, size, _ in files], pa.int64()),
            "sha256": pa.array([digest for _, _, digest in files], pa.string()),
        }
    )
    con.register("incoming_files", incoming)
    try:
        with transaction(con):
            con.execute(
                """
                INSERT INTO sources (source_id, snapshot, path, size, sha256, status)
                SELECT (SELECT coalesce(max(source_id), 0) FROM sources) + row_number() OVER (ORDER BY first_ordinal),
                       $snapshot, path, size, sha256, 'pending'
                FROM (
                    SELECT sha256, arg_min(path, ordinal) AS path, arg_min(size, ordinal) AS size,
                           min(ordinal) AS first_ordinal
                    FROM incoming_files GROUP BY sha256
                ) AS first_of_content
                WHERE NOT EXISTS (
                    SELECT 1 FROM sources
                    WHERE sources.snapshot = $snapshot AND sources.sha256 = first_of_content.sha256
                )
                """,
                {"snapshot": snapshot},
            )
            rows = con.execute(
                """
                SELECT sources.source_id, sources.status, sources.path
                FROM incoming_files
                JOIN sources ON sources.snapshot = $snapshot AND sources.sha256 = incoming_files.sha256
                ORDER BY incoming_files.ordinal
                """,
                {"snapshot": snapshot},
            ).fetchall()
    finally:
        con.unregister("incoming_files")
    return [RegisteredSource(*row) for row in rows]


def register_remote_sources(
    con: duckdb.DuckDBPyConnection, snapshot: str, files: Sequence[tuple[str, int, str | None]]
) -> list[RegisteredSource]:
    """The source row of each remote file (url, advertised length, ETag) in this snapshot, new ones created as
    `pending`, ids given as register_sources gives them.

    A remote file cannot be hashed before it is read: its identity is (snapshot, URL, ETag, length). Until its
    bytes are read, its `sha256` holds a stand-in derived from that identity ("remote:..."); commit_source_rows
    replaces it with the digest of the bytes read.
    """
    incoming = pa.table(
        {
            "ordinal": pa.array(range(len(files)), pa.int64()),
            "url": pa.array([url for url, _, _ in files], pa.string()),
            "length": pa.array([length for _, length, _ in files], pa.int64()),
            "etag": pa.array([etag for _, _, etag in files], pa.string()),
            "stand_in": pa.array(
                [f"remote:{hashlib.sha256(f'{url} {etag} {size}'.encode()).hexdigest()}" for url, size, etag in files],
                pa.string(),
            ),
        }
    )
    same_file = """sources.snapshot = $snapshot AND sources.remote_url = {t}.url
        AND sources.etag IS NOT DISTINCT FROM {t}.etag AND sources.remote_length = {t}.length"""
    con.register("incoming_remote", incoming)
    try:
        with transaction(con):
            con.execute(
                f"""
                INSERT INTO sources (source_id, snapshot, path, size, sha256, status, remote_url, etag, remote_length)
                SELECT (SELECT coalesce(max(source_id), 0) FROM sources) + row_number() OVER (ORDER BY first_ordinal),
                       $snapshot, url, length, stand_in, 'pending', url, etag, length
                FROM (
                    SELECT url, etag, length, any_value(stand_in) AS stand_in, min(ordinal) AS first_ordinal
                    FROM incoming_remote GROUP BY url, etag, length
                ) AS first_of_file
                WHERE NOT EXISTS (SELECT 1 FROM sources WHERE {same_file.format(t="first_of_file")})
                """,
                {"snapshot": snapshot},
            )
            rows = con.execute(
                f"""
                SELECT sources.source_id, sources.status, sources.path
                FROM incoming_remote JOIN sources ON {same_file.format(t="incoming_remote")}
                ORDER BY incoming_remote.ordinal
                """,
                {"snapshot": snapshot},
            ).fetchall()
    finally:
        con.unregister("incoming_remote")
    return [RegisteredSource(*row) for row in rows]
