"""`linksweep sql` and every read-only connection: the database is the whole query surface (no files, no
extension installs or loads, and the configuration cannot be changed back from inside a query)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.store.database import open_store
from tests.cli_runner import run

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sandbox")
    db = folder / "sample.duckdb"
    run(db, "ingest", "--snapshot", "S", "--workers", "1", str(SAMPLE / "corpus" / "SAMPLE-00001.warc"))
    return db


def test_the_store_still_answers_queries(sample_db):
    assert run(sample_db, "sql", "--format", "csv", "SELECT count(*) AS n FROM documents").output.split()[1] != "0"


def test_copy_to_a_file_is_refused_and_writes_nothing(sample_db, tmp_path):
    target = tmp_path / "written.csv"
    result = run(sample_db, "sql", f"COPY (SELECT url FROM urls) TO '{target}'", expect=2)
    assert "query failed" in result.output and "COPY statements are refused" in result.output
    assert not target.exists()


def test_the_parts_folder_can_be_read_through_the_views_but_not_written(sample_db):
    parts = sample_db.with_name(sample_db.name + ".parts")
    before = sorted(path for path in parts.rglob("*"))
    target = parts / "sources" / "written.parquet"
    for query in (f"COPY (SELECT url FROM urls) TO '{target}'", f"EXPORT DATABASE '{parts}'"):
        result = run(sample_db, "sql", query, expect=2)
        assert "statements are refused" in result.output, query
    assert sorted(path for path in parts.rglob("*")) == before
    # what the views read stays readable: a query naming a part directly is a query of the same rows
    part = next(parts.glob("sources/*/links.parquet"))
    assert run(sample_db, "sql", "--format", "csv", f"SELECT count(*) FROM '{part}'").exit_code == 0


def test_reading_a_file_is_refused(sample_db, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("token\nsynthetic-secret-value\n")
    for query in (f"SELECT * FROM read_csv('{secret}')", f"SELECT * FROM '{secret}'", f"ATTACH '{secret}' AS x"):
        result = run(sample_db, "sql", "--format", "csv", query, expect=2)
        assert "disabled by configuration" in result.output or "ATTACH statements are refused" in result.output, query
        assert "synthetic-secret-value" not in result.output


# the repositories and URLs are on loopback: were the guard to fail, no request would leave the machine
@pytest.mark.parametrize(
    "query",
    [
        "INSTALL httpfs FROM 'http://127.0.0.1:9/'",
        "LOAD httpfs",
        "SELECT * FROM 'http://127.0.0.1:9/x.parquet'",
    ],
)
def test_extensions_are_neither_installed_nor_loaded(sample_db, query):
    result = run(sample_db, "sql", query, expect=2)
    assert "query failed" in result.output and "disabled" in result.output


@pytest.mark.parametrize(
    "query",
    [
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET autoinstall_known_extensions = true",
        "SET autoload_known_extensions = true",
        "SET lock_configuration = false",
    ],
)
def test_the_configuration_cannot_be_changed_back(sample_db, tmp_path, query):
    result = run(sample_db, "sql", query, expect=2)
    assert "configuration has been locked" in result.output
    target = tmp_path / "after.csv"
    run(sample_db, "sql", f"{query}; COPY (SELECT 1) TO '{target}'", expect=2)
    assert not target.exists()


def test_every_read_only_connection_is_locked_down(sample_db):
    con = open_store(sample_db, read_only=True)
    try:
        settings = dict(
            con.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access',"
                " 'autoinstall_known_extensions', 'autoload_known_extensions', 'lock_configuration')"
            ).fetchall()
        )
        assert con.execute("SELECT count(*) FROM documents").fetchone()[0] > 0
    finally:
        con.close()
    assert settings == {
        "enable_external_access": "false",
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "lock_configuration": "true",
    }
