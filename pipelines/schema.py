"""The DuckDB schema of linksweep, as an ordered list of versioned migrations (the only place tables are defined)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


# Append new migrations at the end; never edit one that has shipped.
MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "snapshots, sources, documents, links, urls, hosts; domain lists and static matches",
        """
        CREATE SEQUENCE list_version_id_seq START 1;

        CREATE TABLE snapshots (
            name        VARCHAR PRIMARY KEY,
            created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
        );

        -- one row per ingested file; (snapshot, sha256) identifies it, so a moved file is not re-read
        CREATE TABLE sources (
            source_id    INTEGER PRIMARY KEY,
            snapshot     VARCHAR NOT NULL,
            path         VARCHAR NOT NULL,
            size         BIGINT NOT NULL,
            sha256       VARCHAR NOT NULL,
            format       VARCHAR,            -- warc, warc.gz, arc, arc.gz, wat, parquet, jsonl, csv
            reader       VARCHAR,            -- fastwarc, warcio, pyarrow, ...
            status       VARCHAR NOT NULL,   -- pending, done, partial (stopped early), failed
            records      BIGINT,
            documents    BIGINT,
            links        BIGINT,
            bad_records  BIGINT,
            error        VARCHAR,            -- why the file stopped early or failed
            bad_record_errors VARCHAR[],      -- a sample of per-record errors
            registered_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            finished_at  TIMESTAMP,
            seconds      DOUBLE,
            UNIQUE (snapshot, sha256)
        );

        -- one row per response/resource/conversion record, WAT metadata record, or table row
        CREATE TABLE documents (
            doc_id          BIGINT NOT NULL,   -- source_id << 32 | record_no
            source_id       INTEGER NOT NULL,
            snapshot        VARCHAR NOT NULL,
            record_no       INTEGER NOT NULL,  -- ordinal of the record in its file, or row number of a table
            record_id       VARCHAR,           -- WARC-Record-ID (ARC: synthesized by the reader)
            record_type     VARCHAR,
            target_uri      VARCHAR,           -- as written in the record
            url             VARCHAR,           -- WHATWG-normalized absolute URL, no fragment; NULL if unparsable
            record_offset   BIGINT,            -- byte offset of the record in the file (compressed offset for .gz)
            record_length   BIGINT,            -- WARC Content-Length of the record block
            http_status     SMALLINT,
            content_type    VARCHAR,
            payload_digest  VARCHAR,
            link_count      INTEGER NOT NULL
        );

        -- one row per outgoing link occurrence
        CREATE TABLE links (
            doc_id   BIGINT NOT NULL,
            kind     VARCHAR NOT NULL,   -- a, area, img, srcset, iframe, frame, embed, object, script, source,
                                         -- track, video, audio, input, link, form, css, meta-refresh,
                                         -- location-header, link-header, text (see docs/schema.md)
            raw_url  VARCHAR NOT NULL,   -- as written in the document
            url      VARCHAR             -- resolved absolute URL (after <base>), normalized; NULL if unparsable
        );

        -- unique normalized URLs seen in any snapshot
        CREATE TABLE urls (
            url                VARCHAR NOT NULL,
            host               VARCHAR,
            registered_domain  VARCHAR   -- ICANN registrable domain (tldextract, offline); NULL for IPs
        );

        -- unique hosts of `urls`, each looked up once in the Public Suffix List
        CREATE TABLE hosts (
            host               VARCHAR NOT NULL,
            registered_domain  VARCHAR
        );

        CREATE TABLE lists (
            name        VARCHAR PRIMARY KEY,
            list_type   VARCHAR NOT NULL,   -- block or allow
            category    VARCHAR,
            format      VARCHAR NOT NULL,
            created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
        );

        -- every load of a list is a version; matches name the version they came from
        CREATE TABLE list_versions (
            version_id   INTEGER PRIMARY KEY,
            list_name    VARCHAR NOT NULL,
            sha256       VARCHAR NOT NULL,
            origin       VARCHAR NOT NULL,  -- path or URL it was loaded from
            loaded_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
            accepted     INTEGER NOT NULL,
            duplicates   INTEGER NOT NULL,
            rejected     INTEGER NOT NULL
        );

        CREATE TABLE list_entries (
            version_id  INTEGER NOT NULL,
            entry       VARCHAR NOT NULL,   -- normalized: lowercase ASCII host (punycode) or IP
            entry_kind  VARCHAR NOT NULL,   -- domain or ip
            line_no     INTEGER NOT NULL
        );

        -- one row per (url, list version, entry) that hit
        CREATE TABLE url_matches (
            url           VARCHAR NOT NULL,
            version_id    INTEGER NOT NULL,
            list_name     VARCHAR NOT NULL,
            category      VARCHAR,
            matched_rule  VARCHAR NOT NULL,   -- the list entry
            expression    VARCHAR NOT NULL,   -- the part of the URL that hit it (host suffix)
            detected_via  VARCHAR NOT NULL,   -- static (lists), later redirect / content-hash
            matched_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        """,
    ),
]

LATEST_VERSION = MIGRATIONS[-1].version


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version of a database, 0 for an empty one."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every pending migration, each in its own transaction; returns the resulting version."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    version = current_version(con)
    if version > LATEST_VERSION:
        raise RuntimeError(
            f"database schema is version {version}, newer than this linksweep ({LATEST_VERSION}); upgrade linksweep"
        )
    for migration in MIGRATIONS:
        if migration.version <= version:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations (version, description) VALUES (?, ?)",
                [migration.version, migration.description],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        version = migration.version
    return version
