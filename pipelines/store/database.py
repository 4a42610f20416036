"""The DuckDB store: where it lives, opening it at the current schema, and atomic per-file commits."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.store.migrate import SchemaTooNew, current_version, migrate
from pipelines.store.parts import create_part_views, parts_root, parts_root_of, views_point_at
from pipelines.store.schema import LATEST_VERSION
from pipelines.store.sql_text import sql_string
from pipelines.store.staging import stream_staged
from pipelines.store.transaction import transaction

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
            if not views_point_at(connection, root):  # a store moved (or copied) elsewhere
                create_part_views(connection, root)
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


def _delete_source_rows(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    low, high = source_id << 32, ((source_id + 1) << 32) - 1
    con.execute("DELETE FROM links WHERE doc_id BETWEEN ? AND ?", [low, high])
    con.execute("DELETE FROM documents WHERE doc_id BETWEEN ? AND ?", [low, high])


@contextlib.contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, staged_file: str) -> Iterator[None]:
    """A staged file (pipelines/store/staging.py) as the view `name` of this connection, for one scan: its batches
    are read as the scan goes."""
    con.register(name, stream_staged(staged_file))
    try:
        yield
    finally:
        con.unregister(name)


def record_new_urls(con: duckdb.DuckDBPyConnection, source_id: int, staged: dict[str, str]) -> None:
    """Half of committing a source: add its staged distinct URLs (with host and registered domain) and
    hosts not yet recorded, in one transaction; new URLs remember `source_id` as the file that first recorded
    them.

    Sources must pass through here one at a time, in source order, each after the previous one committed: a
    transaction only sees what was committed before it began, so two at once would record a URL twice, and
    `urls.first_source` is the same in every run only in that order (the files whose URLs an interrupted run
    recorded are the first ones). The rows (commit_source_rows) may be committed before, after or beside
    them, concurrently with other sources' rows.

    The URLs of a file may be recorded while its rows are not, or the other way round (an ingest killed
    between the two): the file is still `pending`, the rerun records nothing new for it and commits the rest,
    and until then matching counts a pending file's URLs as those of a file not yet matched
    (pipelines/matching/driver.py).
    """
    if "urls" not in staged:
        return
    with transaction(con):
        # the recorded URLs whose key is one of the file's are the only ones whose strings are compared (rows
        # without a key, written by other tools, always are); the staged file is read twice, as each
        # registration is scanned once, rather than held whole
        with _registered(con, "staged_urls", staged["urls"]), _registered(con, "staged_keys", staged["urls"]):
            con.execute(
                """
                INSERT INTO urls BY NAME
                WITH recorded AS (
                    SELECT url FROM urls WHERE url_key IN (SELECT hash(url) FROM staged_keys) OR url_key IS NULL
                )
                SELECT *, hash(url) AS url_key, $source_id AS first_source FROM staged_urls AS staged
                WHERE NOT EXISTS (SELECT 1 FROM recorded WHERE recorded.url = staged.url)
                """,
                {"source_id": source_id},
            )
        with _registered(con, "staged_hosts", staged["hosts"]):  # distinct already (pipelines/store/staging.py)
            con.execute(
                """
                INSERT INTO hosts BY NAME
                SELECT * FROM staged_hosts AS staged
                WHERE NOT EXISTS (SELECT 1 FROM hosts WHERE hosts.host = staged.host)
                """
            )


@dataclass(frozen=True)
class SourceOutcome:
    """What reading a source gave, recorded in its `sources` row."""

    path: str
    status: str
    file_format: str | None
    reader: str | None
    records: int
    documents: int
    links: int
    bad_records: int
    error: str | None
    bad_record_errors: Sequence[str]
    seconds: float
    sha256: str | None = None  # a remote file's digest, known once read: replaces its stand-in


def commit_source_rows(
    con: duckdb.DuckDBPyConnection,
    source_id: int,
    staged: dict[str, str],
    outcome: SourceOutcome,
    *,
    urls_recorded: bool = True,
) -> None:
    """The other half of committing a source: replace its documents and links with the staged ones and record
    its outcome, in one transaction. With its URLs already recorded (record_new_urls), the source's status
    becomes the outcome's; else it stays `pending` until `finish_source` records it, once they are: a source
    is never done without its URLs.

    A crash at any point leaves either the previous rows and status or the new ones, never a mix: that is what
    makes an interrupted ingest safe to rerun. Different sources' rows may be committed concurrently, each
    on its own connection (cursor), and beside any source's URLs.
    """
    with transaction(con):
        _delete_source_rows(con, source_id)
        con.execute("DELETE FROM matched_sources WHERE source_id = ?", [source_id])  # its URLs may have changed
        for table in ("documents", "links"):
            if table in staged:
                with _registered(con, f"staged_{table}", staged[table]):
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM staged_{table}")
        con.execute(
            """
            UPDATE sources SET path = ?, status = ?, format = ?, reader = ?, records = ?, documents = ?,
                links = ?, bad_records = ?, error = ?, bad_record_errors = ?, finished_at = current_timestamp,
                seconds = ?
            WHERE source_id = ?
            """,
            [
                outcome.path,
                outcome.status if urls_recorded else "pending",
                outcome.file_format,
                outcome.reader,
                outcome.records,
                outcome.documents,
                outcome.links,
                outcome.bad_records,
                outcome.error,
                list(outcome.bad_record_errors),
                outcome.seconds,
                source_id,
            ],
        )
        if outcome.sha256 is not None:
            # the same bytes already ingested from elsewhere in this snapshot keep their row; this one its stand-in
            con.execute(
                """
                UPDATE sources SET sha256 = $digest WHERE source_id = $source_id AND NOT EXISTS (
                    SELECT 1 FROM sources AS other
                    WHERE other.snapshot = sources.snapshot AND other.sha256 = $digest
                )
                """,
                {"digest": outcome.sha256, "source_id": source_id},
            )


def finish_source(con: duckdb.DuckDBPyConnection, source_id: int, status: str) -> None:
    """Record the status of a source whose rows were committed before its URLs (commit_source_rows)."""
    con.execute("UPDATE sources SET status = ? WHERE source_id = ?", [status, source_id])


def remove_staging(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
