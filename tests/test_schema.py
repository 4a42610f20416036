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


def test_a_version_1_database_is_upgraded_with_its_data(tmp_path, private_suffix_list):
    """Rows written under schema 1 survive the upgrade; private-section domains are computed for them."""
    import pipelines.schema as schema

    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    original = schema.MIGRATIONS
    try:
        schema.MIGRATIONS = original[:1]
        migrate(con)
    finally:
        schema.MIGRATIONS = original
    con.execute("INSERT INTO hosts VALUES ('www.b.pages.example.org', 'example.org'), ('198.51.100.7', NULL)")
    con.execute(
        "INSERT INTO urls VALUES ('https://www.b.pages.example.org/x', 'www.b.pages.example.org', 'example.org'),"
        " ('http://198.51.100.7/', '198.51.100.7', NULL)"
    )
    con.execute("INSERT INTO lists (name, list_type, format) VALUES ('old', 'block', 'domains')")
    con.execute("INSERT INTO list_versions VALUES (1, 'old', 'abc', 'old.txt', current_timestamp, 1, 0, 0)")
    con.execute("INSERT INTO list_entries VALUES (1, 'bad.test', 'domain', 3)")
    assert migrate(con) == LATEST_VERSION
    assert con.execute("SELECT host, registered_domain_private FROM hosts ORDER BY host").fetchall() == [
        ("198.51.100.7", None),
        ("www.b.pages.example.org", "b.pages.example.org"),
    ]
    assert con.execute(
        "SELECT registered_domain_private FROM urls WHERE host = 'www.b.pages.example.org'"
    ).fetchone() == ("b.pages.example.org",)
    assert con.execute("SELECT entry, expression, subdomains, exception FROM list_entries").fetchall() == [
        ("bad.test", "bad.test/", True, False)
    ]
