"""The schema: migrations apply once, are recorded, and a database from a newer linksweep is refused."""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner

from crawler.cli import main
from pipelines.store.database import open_store
from pipelines.store.migrate import migrate
from pipelines.store.schema import LATEST_VERSION


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
    import pipelines.store.schema as schema

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


def test_bulk_connections_write_row_groups_of_their_size(tmp_path):
    """open_store(row_group_size=N) writes N-row groups, so a bulk append fills whole groups straight into the file
    (the ingest path); plain connections open the same data, and a file this process holds open is shared."""
    path = tmp_path / "store.duckdb"
    con = open_store(path, row_group_size=2048)
    con.execute("CREATE TABLE numbers AS SELECT range AS n FROM range(10_000)")
    con.execute("CHECKPOINT")
    groups = con.execute("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('numbers')").fetchone()[0]
    assert groups == 5  # 10,000 rows in groups of 2,048
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == LATEST_VERSION
    con.close()
    plain = open_store(path)
    assert plain.execute("SELECT sum(n) FROM numbers").fetchone()[0] == sum(range(10_000))
    # a caller holding the file open in this process: the bulk connection shares that instance
    shared = open_store(path, row_group_size=2048)
    shared.execute("INSERT INTO numbers VALUES (-1)")
    assert plain.execute("SELECT count(*) FROM numbers").fetchone()[0] == 10_001
    shared.close()
    plain.close()


def test_url_keys_are_filled_by_the_upgrade_and_recomputed_for_another_hash(tmp_path):
    import pipelines.store.schema as schema

    con = duckdb.connect(str(tmp_path / "v3.duckdb"))
    original = schema.MIGRATIONS

    def migrate_up_to(version: int) -> int:
        try:
            schema.MIGRATIONS = [m for m in original if m.version <= version]
            return migrate(con)
        finally:
            schema.MIGRATIONS = original

    migrate_up_to(3)
    con.execute(
        "INSERT INTO urls (url, host) VALUES ('https://a.example.org/', 'a.example.org'), ('https://b.test/', 'b.test')"
    )
    assert migrate_up_to(8) == 8
    keyed = "SELECT count(*) FROM urls WHERE url_key = hash(url)"
    assert con.execute(keyed).fetchone() == (2,)
    # keys left by a DuckDB whose hash() differs: the recorded check value no longer matches, and they are redone
    con.execute("UPDATE urls SET url_key = 7")
    con.execute("UPDATE store_settings SET value = 'another hash' WHERE name = 'url_key_check'")
    migrate_up_to(8)
    assert con.execute(keyed).fetchone() == (2,)
    con.execute("UPDATE urls SET url_key = 7")  # while the check value matches, keys are trusted (no rescan)
    migrate_up_to(8)
    assert con.execute(keyed).fetchone() == (0,)
    # version 9 moves the URLs into the URL index, whose view computes every key
    assert migrate(con) == LATEST_VERSION
    assert con.execute(keyed).fetchone() == (2,)
    assert con.execute("SELECT url, host FROM urls ORDER BY url").fetchall() == [
        ("https://a.example.org/", "a.example.org"),
        ("https://b.test/", "b.test"),
    ]


def test_list_versions_are_numbered_per_list_by_the_upgrade(tmp_path):
    import pipelines.store.schema as schema

    con = duckdb.connect(str(tmp_path / "v4.duckdb"))
    original = schema.MIGRATIONS
    try:
        schema.MIGRATIONS = [m for m in original if m.version <= 4]
        migrate(con)
    finally:
        schema.MIGRATIONS = original
    con.execute("INSERT INTO lists (name, list_type, format) VALUES ('a', 'block', 'auto'), ('b', 'allow', 'urls')")
    for version_id, name, list_format in ((1, "a", "domains"), (2, "b", "urls"), (3, "a", "hosts")):
        con.execute(
            "INSERT INTO list_versions (version_id, list_name, sha256, origin, accepted, duplicates, rejected, format)"
            " VALUES (?, ?, 'x', 'l.txt', 1, 0, 0, ?)",
            [version_id, name, list_format],
        )
    assert migrate(con) == LATEST_VERSION
    assert con.execute("SELECT version_id, version FROM list_versions ORDER BY version_id").fetchall() == [
        (1, 1),
        (2, 1),
        (3, 2),
    ]
    # a list loaded with format auto keeps what auto decided for its latest version
    assert con.execute("SELECT name, format FROM lists ORDER BY name").fetchall() == [("a", "hosts"), ("b", "urls")]


def test_readers_open_a_database_of_an_older_schema(tmp_path, monkeypatch):
    import pipelines.store.schema as schema
    from pipelines.store.database import open_store

    db = tmp_path / "old.duckdb"
    with monkeypatch.context() as old_linksweep:
        old_linksweep.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
        open_store(db).close()

    def invoke(db, *args):
        return CliRunner().invoke(main, ["--db", str(db), *args])

    assert invoke(db, "status").exit_code == 0
    result = invoke(db, "sql", "--format", "jsonl", "SELECT max(version) AS v FROM schema_migrations")
    assert result.output.strip() == f'{{"v": {schema.LATEST_VERSION}}}'
