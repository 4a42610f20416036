"""The DuckDB schema of linksweep, as an ordered list of versioned migrations (the only place tables are defined)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from pipelines.store.backfills import backfill_private_domains, tables_to_parts, urls_and_hosts_to_index


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str
    backfill: Callable[[duckdb.DuckDBPyConnection], None] | None = None  # data only Python can compute


# What DuckDB's hash() gives for this text is recorded with the url_key column: a DuckDB whose hash() differs
# (another version) would compute keys that find none of the recorded ones, so migrate() recomputes them.
_URL_KEY_CHECK_TEXT = "linksweep url_key check"


def url_key_check(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("SELECT hash(?)", [_URL_KEY_CHECK_TEXT]).fetchone()[0])


def record_url_key_check(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT OR REPLACE INTO store_settings VALUES ('url_key_check', ?)",
        [url_key_check(con)],
    )


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
    Migration(
        2,
        "private-section registrable domains; every list format, allowlists, hashed and URL"
        " entries as expressions; incremental matching state",
        """
        ALTER TABLE urls ADD COLUMN registered_domain_private VARCHAR;  -- under private-section suffixes too
        -- the file that first recorded the URL (files commit in source order): matching a file's new URLs
        -- is matching the URLs it first recorded; NULL for URLs recorded before version 2
        ALTER TABLE urls ADD COLUMN first_source INTEGER;
        ALTER TABLE hosts ADD COLUMN registered_domain_private VARCHAR;

        ALTER TABLE lists ADD COLUMN source_url VARCHAR;       -- where `update` fetches new versions from
        ALTER TABLE lists ADD COLUMN auth_env VARCHAR;         -- environment variable holding an auth header
        ALTER TABLE lists ADD COLUMN options VARCHAR;          -- format options (JSON): subdomains, column
        ALTER TABLE lists ADD COLUMN etag VARCHAR;             -- validators of the last download
        ALTER TABLE lists ADD COLUMN last_modified VARCHAR;

        ALTER TABLE list_versions ADD COLUMN format VARCHAR;   -- the format parsed (auto: what it decided)
        ALTER TABLE list_versions ADD COLUMN comments INTEGER;
        ALTER TABLE list_versions ADD COLUMN blank INTEGER;
        ALTER TABLE list_versions ADD COLUMN unsupported INTEGER;
        ALTER TABLE list_versions ADD COLUMN bytes BIGINT;

        -- one row per expression an entry stands for (a URL entry without a trailing '/' has two)
        ALTER TABLE list_entries ADD COLUMN expression VARCHAR;   -- host/ for domains and IPs, host/path for URLs,
                                                                  -- hex digest for hashes, network for CIDR
        ALTER TABLE list_entries ADD COLUMN exception BOOLEAN DEFAULT false;  -- @@ rules: allow, not block
        ALTER TABLE list_entries ADD COLUMN subdomains BOOLEAN DEFAULT true;  -- domain entries: cover subdomains
        ALTER TABLE list_entries ADD COLUMN hash_algorithm VARCHAR;           -- sha256, sha1, md5
        ALTER TABLE list_entries ADD COLUMN ip_low UBIGINT;                   -- CIDR range bounds (IPv4)
        ALTER TABLE list_entries ADD COLUMN ip_high UBIGINT;
        UPDATE list_entries SET expression = entry || '/' WHERE expression IS NULL;

        -- lines of a list version that gave no entry: malformed (rejected) or valid but not supported
        CREATE TABLE list_rejects (
            version_id  INTEGER NOT NULL,
            line_no     INTEGER NOT NULL,
            line        VARCHAR NOT NULL,
            reason      VARCHAR NOT NULL,
            outcome     VARCHAR NOT NULL   -- rejected or unsupported
        );

        ALTER TABLE url_matches ADD COLUMN effect VARCHAR DEFAULT 'block';   -- block, or allow (allowlists, @@)
        ALTER TABLE url_matches ADD COLUMN entry_kind VARCHAR;
        ALTER TABLE url_matches ADD COLUMN line_no INTEGER;
        ALTER TABLE url_matches ADD COLUMN rule_expression VARCHAR;  -- the entry's expression (identifies it)
        UPDATE url_matches SET rule_expression = matched_rule || '/', entry_kind = 'domain', effect = 'block';

        -- incremental matching: the version of each list that matches were last brought up to, and the
        -- sources whose URLs have been matched against it (a re-ingested source is matched again)
        CREATE TABLE match_state (
            list_name   VARCHAR PRIMARY KEY,
            version_id  INTEGER NOT NULL,
            matched_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE TABLE matched_sources (
            list_name  VARCHAR NOT NULL,
            source_id  INTEGER NOT NULL
        );
        """,
        backfill=backfill_private_domains,
    ),
    Migration(
        3,
        "resolver crawl: results per link with the hop chain and content hashes, hash-service checks, match evidence",
        """
        -- one row per link resolved by `linksweep crawl` (its latest resolution)
        CREATE TABLE crawl_results (
            url             VARCHAR NOT NULL,   -- the link (first hop)
            crawl_id        VARCHAR NOT NULL,   -- the run that resolved it
            outcome         VARCHAR NOT NULL,   -- resolved, flagged (a hop is listed: never requested),
                                                -- refused (address policy), error
            final_url       VARCHAR,
            hops            STRUCT(url VARCHAR, status INTEGER, via VARCHAR, peer_ip VARCHAR)[],
            status          INTEGER,            -- HTTP status of the last response
            content_type    VARCHAR,
            content_length  BIGINT,             -- bytes received (bodies are hashed in memory, never stored)
            peer_ip         VARCHAR,            -- the address the last response came from
            error_class     VARCHAR,            -- timeout, dns, refused-address, flagged-hop, too-large, ...
            error           VARCHAR,
            md5             VARCHAR,
            sha1            VARCHAR,
            sha256          VARCHAR,
            pdq             VARCHAR,
            pdq_quality     INTEGER,
            fetched_at      TIMESTAMP NOT NULL,
            seconds         DOUBLE
        );

        -- lookups of content hashes in hash services; `unchecked` rows are retried by the next crawl
        CREATE TABLE hash_checks (
            url          VARCHAR NOT NULL,
            service      VARCHAR NOT NULL,
            signal_type  VARCHAR NOT NULL,
            signal       VARCHAR NOT NULL,
            status       VARCHAR NOT NULL,   -- match, no_match, unchecked (service down: never taken as clean)
            content_id   VARCHAR,
            bank         VARCHAR,
            distance     INTEGER,
            error        VARCHAR,
            checked_at   TIMESTAMP NOT NULL
        );

        -- why a match holds beyond the entry: the redirect chain, or the content hash and its distance (JSON)
        ALTER TABLE url_matches ADD COLUMN evidence VARCHAR;
        """,
    ),
    Migration(
        4,
        "urls.url_key: a 64-bit hash of each URL, so that a file's new URLs are found among the recorded ones",
        """
        -- hash(url) (DuckDB's hash): a lookup filter, never an identity (64-bit hashes collide; the URLs are
        -- compared too). Scanning it instead of every URL string makes recording a file's URLs in a large store
        -- much faster.
        ALTER TABLE urls ADD COLUMN url_key UBIGINT;
        UPDATE urls SET url_key = hash(url);

        -- settings of the store itself (name, value)
        CREATE TABLE store_settings (name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
        """,
        backfill=record_url_key_check,
    ),
    Migration(
        5,
        "list versions numbered per list; a list keeps the format its first load decided; entries numbered",
        """
        -- the number of a version among its list's versions: the first load of a list is version 1
        -- (version_id stays the store-wide key that entries and matches refer to)
        ALTER TABLE list_versions ADD COLUMN version INTEGER;
        -- the entry's number in its version, in reading order (its expressions share it): a list file is
        -- stored batch by batch and the entries that repeat an earlier one are dropped in SQL
        ALTER TABLE list_entries ADD COLUMN entry_no BIGINT;
        UPDATE list_versions SET version = numbered.version
        FROM (
            SELECT version_id, row_number() OVER (PARTITION BY list_name ORDER BY version_id) AS version
            FROM list_versions
        ) AS numbered
        WHERE list_versions.version_id = numbered.version_id;

        -- lists loaded with --format auto keep the format auto decided (that of their latest version)
        UPDATE lists SET format = decided.format
        FROM (
            SELECT list_name, arg_max(format, version_id) AS format FROM list_versions GROUP BY list_name
        ) AS decided
        WHERE lists.name = decided.list_name AND lists.format = 'auto' AND decided.format IS NOT NULL;
        """,
    ),
    Migration(
        6,
        "verdicts with stable ids and states; review rules and the audit log; flood counts; the report ledger",
        """
        ALTER TABLE lists ADD COLUMN two_reviewers BOOLEAN DEFAULT false;  -- a rejection needs two reviewers
        ALTER TABLE lists ADD COLUMN reportable BOOLEAN DEFAULT false;     -- auto verdicts may go to hotlines

        -- one row per (snapshot, URL, decision): a list entry (or a hash service) flagging a URL of the
        -- snapshot, detected one way (static, redirect, content-hash, hash-service); see docs/review.md
        CREATE TABLE verdicts (
            verdict_id      VARCHAR NOT NULL,   -- 'v' + 20 hex digits of SHA-256 over the identity (stable)
            snapshot        VARCHAR NOT NULL,
            url             VARCHAR NOT NULL,
            host            VARCHAR,
            list_name       VARCHAR NOT NULL,
            category        VARCHAR,
            entry           VARCHAR NOT NULL,   -- the list entry as recorded (url_matches.matched_rule)
            entry_kind      VARCHAR NOT NULL,
            detected_via    VARCHAR NOT NULL,
            expression      VARCHAR,            -- the part of the URL that hit the entry
            version_id      INTEGER,            -- the list version that last stood behind it (0: a hash service)
            list_version    INTEGER,            -- its number among the list's versions
            evidence        VARCHAR,            -- JSON array: redirect chains, content hashes and distances, ...
            origin          VARCHAR NOT NULL,   -- what the list made of it: auto, or needs_review (flood quarantine)
            in_force        BOOLEAN NOT NULL,   -- false once no current list version (or an allowlist) holds it
            state           VARCHAR NOT NULL,   -- auto, needs_review, confirmed, false_positive, suppressed, expired
            rule_id         BIGINT,             -- the review rule that decides the state, if any
            created_at      TIMESTAMP NOT NULL DEFAULT current_timestamp,
            updated_at      TIMESTAMP NOT NULL DEFAULT current_timestamp
        );

        -- when each snapshot's verdicts were last derived (exports refuse a snapshot never derived)
        CREATE TABLE verdict_refreshes (
            snapshot      VARCHAR PRIMARY KEY,
            refreshed_at  TIMESTAMP NOT NULL,
            inputs        VARCHAR            -- a digest of what they were derived from (unchanged: nothing to do)
        );

        -- distinct URLs each list entry flagged when last counted: the history flood quarantine compares with
        CREATE TABLE entry_counts (
            list_name   VARCHAR NOT NULL,
            entry_kind  VARCHAR NOT NULL,
            entry       VARCHAR NOT NULL,
            urls        BIGINT NOT NULL,
            counted_at  TIMESTAMP NOT NULL
        );

        -- a reviewer's decision over the verdicts its scope covers, now and in later runs
        CREATE SEQUENCE review_rule_id_seq START 1;
        CREATE TABLE review_rules (
            rule_id     BIGINT NOT NULL,
            decision    VARCHAR NOT NULL,   -- confirm or reject
            scope       VARCHAR NOT NULL,   -- verdict, entry, url or host
            verdict_id  VARCHAR,            -- the verdict named (every scope)
            snapshot    VARCHAR,
            list_name   VARCHAR,            -- scope entry: the entry
            entry_kind  VARCHAR,
            entry       VARCHAR,
            url         VARCHAR,            -- scope url
            host        VARCHAR,            -- scope host
            reason      VARCHAR,            -- reject: false_positive, benign_context, list_error, other
            note        VARCHAR,
            reviewers   VARCHAR[] NOT NULL, -- who decided; two-reviewer lists need two different names
            created_at  TIMESTAMP NOT NULL,
            until       TIMESTAMP,          -- the rule lapses then
            revoked_at  TIMESTAMP           -- undone (review undo)
        );

        -- every review action, appended and never updated or deleted
        CREATE SEQUENCE audit_id_seq START 1;
        CREATE TABLE audit_log (
            audit_id      BIGINT NOT NULL,
            acted_at      TIMESTAMP NOT NULL,
            reviewer      VARCHAR NOT NULL,
            action        VARCHAR NOT NULL,   -- confirm, reject, second-reject, undo, quarantine
            target        VARCHAR NOT NULL,   -- a verdict id, or list:entry for quarantine
            scope         VARCHAR,
            reason        VARCHAR,
            note          VARCHAR,
            before_state  VARCHAR,
            after_state   VARCHAR,
            rule_id       BIGINT,
            undoes        BIGINT,             -- undo: the audit_id undone
            affected      BIGINT              -- verdicts whose state the action changed
        );

        -- hotline report bundles prepared (never sent), and the report-once ledger per (hotline, URL)
        CREATE TABLE report_bundles (
            bundle_id     VARCHAR NOT NULL,
            hotline       VARCHAR NOT NULL,
            profile       VARCHAR NOT NULL,
            snapshot      VARCHAR NOT NULL,
            path          VARCHAR NOT NULL,
            items         INTEGER NOT NULL,
            amendments    INTEGER NOT NULL,
            sha256        VARCHAR,
            prepared_at   TIMESTAMP NOT NULL,
            status        VARCHAR NOT NULL,   -- prepared, filed, declined, retracted
            external_id   VARCHAR,
            note          VARCHAR,            -- what the person said when marking it declined or retracted
            updated_at    TIMESTAMP
        );
        CREATE TABLE report_ledger (
            hotline        VARCHAR NOT NULL,
            url_key        VARCHAR NOT NULL,  -- SHA-256 of the Safe Browsing canonical URL
            url            VARCHAR NOT NULL,
            bundle_id      VARCHAR NOT NULL,
            kind           VARCHAR NOT NULL,  -- report, or amendment (of the report in bundle `amends`)
            amends         VARCHAR,
            status         VARCHAR NOT NULL,  -- prepared, filed, declined, retracted
            verdict_ids    VARCHAR[] NOT NULL,
            evidence_keys  VARCHAR[] NOT NULL, -- a SHA-256 per piece of evidence said: new ones make an amendment
            external_id    VARCHAR,
            prepared_at    TIMESTAMP NOT NULL,
            updated_at     TIMESTAMP
        );
        """,
    ),
    Migration(
        7,
        "runs of `linksweep run` with their stages; where a remote corpus file came from",
        """
        -- a corpus file read over the network: its URL, validator and advertised length (NULL for local files)
        ALTER TABLE sources ADD COLUMN remote_url VARCHAR;
        ALTER TABLE sources ADD COLUMN etag VARCHAR;
        ALTER TABLE sources ADD COLUMN remote_length BIGINT;

        -- one row per `linksweep run` (a rerun that resumes an unfinished run continues its row)
        CREATE SEQUENCE run_id_seq START 1;
        CREATE TABLE runs (
            run_id         BIGINT NOT NULL,
            config_path    VARCHAR,
            config_sha256  VARCHAR NOT NULL,
            snapshot       VARCHAR,
            tool_version   VARCHAR,
            list_versions  VARCHAR,            -- JSON: list -> version, as the run left them
            inputs         VARCHAR,            -- JSON: the corpus sources the config expanded to
            status         VARCHAR NOT NULL,   -- running, done, failed
            exit_code      INTEGER,
            pid            INTEGER,
            hostname       VARCHAR,
            started_at     TIMESTAMP NOT NULL,
            finished_at    TIMESTAMP,
            summary        VARCHAR             -- JSON: what `run --json` printed
        );
        -- one row per stage of a run: a stage with status done is not run again when the run resumes
        CREATE TABLE run_stages (
            run_id       BIGINT NOT NULL,
            stage        VARCHAR NOT NULL,   -- lists, ingest, match, crawl, exports, reports, html
            status       VARCHAR NOT NULL,   -- running, done, failed, skipped
            exit_code    INTEGER,
            counts       VARCHAR,            -- JSON
            error        VARCHAR,
            started_at   TIMESTAMP NOT NULL,
            finished_at  TIMESTAMP,
            seconds      DOUBLE
        );
        """,
    ),
    Migration(
        8,
        "documents and links become views of Parquet parts beside the database; what each unit of work cost",
        """
        -- what the unit that read the file cost, from its manifest (docs/scale.md)
        ALTER TABLE sources ADD COLUMN cpu_seconds DOUBLE;
        ALTER TABLE sources ADD COLUMN peak_rss_bytes BIGINT;
        ALTER TABLE sources ADD COLUMN attempts INTEGER;    -- runs of its unit until one published
        ALTER TABLE sources ADD COLUMN worker VARCHAR;      -- host:pid of the process that published it
        """,
        backfill=tables_to_parts,
    ),
    Migration(
        9,
        "urls and hosts become views of a bucketed URL index of Parquet parts, folded in parallel",
        """
        -- one row per fold of the URL index (pipelines/store/url_index.py): a fold not done is discarded
        CREATE TABLE url_folds (
            fold_id      INTEGER PRIMARY KEY,
            sources      INTEGER[],          -- the sources whose URLs and hosts it folded
            status       VARCHAR NOT NULL,   -- running, done, discarded (never finished: its parts removed)
            urls         BIGINT,             -- new URLs it added
            hosts        BIGINT,
            started_at   TIMESTAMP,
            finished_at  TIMESTAMP,
            seconds      DOUBLE
        );
        """,
        backfill=urls_and_hosts_to_index,
    ),
]


LATEST_VERSION = MIGRATIONS[-1].version
