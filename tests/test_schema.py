"""The schema: migrations apply once, are recorded, and a database from a newer linksweep is refused."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.schema import LATEST_VERSION, migrate
from pipelines.store import open_store


def test_migrations_are_recorded_and_idempotent(tmp_path):
    path = tmp_path / "db.duckdb"
    open_store(path).close()
    con = open_store(path)
    assert con.execute("SELECT max(version), count(*) FROM schema_migrations").fetchone() == (
        LATEST_VERSION,
        LATEST_VERSION,
    )
    tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {
        "snapshots",
        "sources",
        "documents",
        "links",
        "urls",
        "hosts",
        "lists",
        "list_versions",
        "list_entries",
        "url_matches",
    } <= tables


def test_newer_database_is_refused(tmp_path):
    con = duckdb.connect(str(tmp_path / "db.duckdb"))
    migrate(con)
    con.execute(
        "INSERT INTO schema_migrations (version, description) VALUES (?, 'from the future')", [LATEST_VERSION + 1]
    )
    with pytest.raises(RuntimeError, match="newer than this linksweep"):
        migrate(con)
