"""Bringing a store's schema to LATEST_VERSION: the migrations of schema.py, applied in order."""

from __future__ import annotations

import duckdb

from pipelines.store import schema
from pipelines.store.schema import LATEST_VERSION, record_url_key_check, url_key_check
from pipelines.store.transaction import transaction


def _refresh_url_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute urls.url_key if this DuckDB's hash() is not the one that computed them."""
    recorded = con.execute("SELECT value FROM store_settings WHERE name = 'url_key_check'").fetchone()
    if recorded is not None and recorded[0] == url_key_check(con):
        return
    with transaction(con):
        con.execute("UPDATE urls SET url_key = hash(url)")
        record_url_key_check(con)


def _urls_is_a_table(con: duckdb.DuckDBPyConnection) -> bool:
    [(tables,)] = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND table_name = 'urls'"
    ).fetchall()
    return bool(tables)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer linksweep, whose schema this one does not know."""


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version of a database, 0 for an empty one."""
    # fetchall: DuckDB 2 keeps a result fetched with fetchone open, and refuses the connection's next query
    [(exists,)] = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchall()
    if not exists:
        return 0
    [(version,)] = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()
    return version


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every pending migration, each in its own transaction (all in one for a new store); returns the
    resulting version."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    version = current_version(con)
    if version > LATEST_VERSION:
        raise SchemaTooNew(
            f"database schema is version {version}, newer than this linksweep ({LATEST_VERSION}); upgrade linksweep"
        )
    # schema.MIGRATIONS is looked up here, not imported: tests replace it
    pending = [migration for migration in schema.MIGRATIONS if migration.version > version]
    # a new store is created in one transaction (quicker than one per migration); an existing one is
    # migrated one version at a time, each in its own transaction
    for group in [pending] if version == 0 else [[migration] for migration in pending]:
        with transaction(con):
            for migration in group:
                con.execute(migration.sql)
                if migration.backfill is not None:
                    migration.backfill(con)
                con.execute(
                    "INSERT INTO schema_migrations (version, description) VALUES (?, ?)",
                    [migration.version, migration.description],
                )
                version = migration.version
    if version >= 4 and _urls_is_a_table(con):  # since version 9 a view, whose url_key is computed
        _refresh_url_keys(con)
    return version
