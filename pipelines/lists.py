"""Block and allow lists in the store: every load of a list is a version with its expressions and counts."""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from pipelines.list_entries import EmptyList, NormalizedList
from pipelines.transaction import transaction

LIST_TYPES = ("block", "allow", "watch")  # watch lists select links to crawl and never flag

# Details of rejected and unsupported lines kept per version (all are counted).
KEPT_REJECTS = 10_000


class UnknownList(LookupError):
    pass


class ListTypeMismatch(ValueError):
    pass


class SuspiciousVersion(ValueError):
    """A new version that could not use many more lines than the current one (a format mismatch, a broken
    download): refused unless forced, and the current version stays."""


def allowed_new_unusable(previous_accepted: int) -> int:
    """How many more unusable (rejected + unsupported) lines than its current version a new version may have:
    max(10, 1% of the entries the current version accepted)."""
    return max(10, previous_accepted // 100)


@dataclass(frozen=True)
class LoadedVersion:
    list_name: str
    version_id: int  # the store-wide key of the version (entries and matches refer to it)
    unchanged: bool  # the same content was already the list's latest version
    version: int = 0  # its number among the list's versions: the first load of a list is version 1


@dataclass(frozen=True)
class ListSettings:
    """How a list is loaded again on `update`: where from, with which format options."""

    list_type: str = "block"
    category: str | None = None
    list_format: str = "auto"
    source_url: str | None = None
    auth_env: str | None = None
    subdomains: bool = False
    column: str | None = None
    allow_public_suffix: bool = False  # load entries that are public suffixes (`com`, `co.uk`)

    def options_json(self) -> str:
        options = {"subdomains": self.subdomains, "column": self.column}
        if self.allow_public_suffix:
            options["allow_public_suffix"] = True
        return json.dumps(options, sort_keys=True)


def list_settings(con: duckdb.DuckDBPyConnection, name: str) -> ListSettings:
    rows = con.execute(
        "SELECT list_type, category, format, source_url, auth_env, options FROM lists WHERE name = ?", [name]
    ).fetchall()
    if not rows:
        raise UnknownList(f"no list named {name!r}")
    row = rows[0]
    options = json.loads(row[5]) if row[5] else {}
    return ListSettings(
        list_type=row[0],
        category=row[1],
        list_format=row[2],
        source_url=row[3],
        auth_env=row[4],
        subdomains=bool(options.get("subdomains")),
        column=options.get("column"),
        allow_public_suffix=bool(options.get("allow_public_suffix")),
    )


def _upsert_list(con: duckdb.DuckDBPyConnection, name: str, settings: ListSettings) -> None:
    existing = con.execute("SELECT list_type FROM lists WHERE name = ?", [name]).fetchone()
    if existing is None:
        con.execute(
            "INSERT INTO lists (name, list_type, category, format, source_url, auth_env, options)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                name,
                settings.list_type,
                settings.category,
                settings.list_format,
                settings.source_url,
                settings.auth_env,
                settings.options_json(),
            ],
        )
        return
    if existing[0] != settings.list_type:
        raise ListTypeMismatch(f"{name!r} is a {existing[0]}list; choose another name for a {settings.list_type}list")
    con.execute(
        "UPDATE lists SET category = coalesce(?, category), format = ?, source_url = coalesce(?, source_url),"
        " auth_env = coalesce(?, auth_env), options = ? WHERE name = ?",
        [
            settings.category,
            settings.list_format,
            settings.source_url,
            settings.auth_env,
            settings.options_json(),
            name,
        ],
    )


def add_list_version(
    con: duckdb.DuckDBPyConnection,
    name: str,
    parsed: NormalizedList,
    settings: ListSettings,
    *,
    origin: str | None = None,
    size: int | None = None,
    force: bool = False,
) -> LoadedVersion:
    """Record a parsed list as the next version of list `name` (created on first load).

    Loading content identical to the latest version records nothing new. A list with no usable entry is
    refused (EmptyList), and so is, unless `force`, a version that could not use more lines than the latest
    one by over `allowed_new_unusable` (SuspiciousVersion); the previous version stays current.
    """
    if not parsed.expressions:
        raise EmptyList(
            f"{parsed.path}: no usable entry ({len(parsed.rejected):,} lines rejected, "
            f"{len(parsed.unsupported):,} unsupported); the list was not changed"
        )
    with transaction(con):
        previous_options = con.execute("SELECT options FROM lists WHERE name = ?", [name]).fetchone()
        _upsert_list(con, name, settings)
        latest = con.execute(
            "SELECT version_id, sha256, format, version, accepted, coalesce(rejected, 0) + coalesce(unsupported, 0)"
            " FROM list_versions WHERE list_name = ? ORDER BY version_id DESC LIMIT 1",
            [name],
        ).fetchone()
        # the same content read the same way: nothing new (other options or another format make a new version)
        same_reading = previous_options is not None and previous_options[0] == settings.options_json()
        if latest is not None and latest[1] == parsed.sha256 and latest[2] == parsed.format and same_reading:
            return LoadedVersion(name, latest[0], unchanged=True, version=latest[3])
        if latest is not None and not force:
            _check_unusable_lines(name, parsed, latest)
        version_id, version = con.execute(
            "INSERT INTO list_versions (version_id, version, list_name, sha256, origin, accepted, duplicates,"
            " rejected, format, comments, blank, unsupported, bytes)"
            " VALUES (nextval('list_version_id_seq'),"
            " (SELECT coalesce(max(version), 0) + 1 FROM list_versions WHERE list_name = $1),"
            " $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING version_id, version",
            [
                name,
                parsed.sha256,
                origin or parsed.path,
                parsed.entries,
                parsed.duplicates,
                len(parsed.rejected),
                parsed.format,
                parsed.comments,
                parsed.blank,
                len(parsed.unsupported),
                size,
            ],
        ).fetchone()
        rows = parsed.expressions
        con.register(
            "staged_entries",
            pa.table(
                {
                    "version_id": pa.array([version_id] * len(rows), pa.int32()),
                    "entry": pa.array([row.entry for row in rows], pa.string()),
                    "entry_kind": pa.array([row.entry_kind for row in rows], pa.string()),
                    "line_no": pa.array([row.line_no for row in rows], pa.int32()),
                    "expression": pa.array([row.expression for row in rows], pa.string()),
                    "exception": pa.array([row.exception for row in rows], pa.bool_()),
                    "subdomains": pa.array([row.subdomains for row in rows], pa.bool_()),
                    "hash_algorithm": pa.array([row.hash_algorithm for row in rows], pa.string()),
                    "ip_low": pa.array([row.ip_low for row in rows], pa.uint64()),
                    "ip_high": pa.array([row.ip_high for row in rows], pa.uint64()),
                }
            ),
        )
        con.execute("INSERT INTO list_entries BY NAME SELECT * FROM staged_entries")
        con.unregister("staged_entries")
        rejects = [(*row, "rejected") for row in parsed.rejected] + [
            (*row, "unsupported") for row in parsed.unsupported
        ]
        rejects = rejects[:KEPT_REJECTS]
        if rejects:
            con.register(
                "staged_rejects",
                pa.table(
                    {
                        "version_id": pa.array([version_id] * len(rejects), pa.int32()),
                        "line_no": pa.array([row[0] for row in rejects], pa.int32()),
                        "line": pa.array([row[1] for row in rejects], pa.string()),
                        "reason": pa.array([row[2] for row in rejects], pa.string()),
                        "outcome": pa.array([row[3] for row in rejects], pa.string()),
                    }
                ),
            )
            con.execute("INSERT INTO list_rejects BY NAME SELECT * FROM staged_rejects")
            con.unregister("staged_rejects")
    return LoadedVersion(name, version_id, unchanged=False, version=version)


def _check_unusable_lines(name: str, parsed: NormalizedList, latest: tuple) -> None:
    version, accepted, unusable = latest[3], latest[4], latest[5]
    now = len(parsed.rejected) + len(parsed.unsupported)
    if now - unusable <= allowed_new_unusable(accepted):
        return
    raise SuspiciousVersion(
        f"{parsed.path} ({parsed.format}): {now:,} lines rejected or unsupported where version {version} of {name}"
        f" had {unusable:,} (with {accepted:,} entries): more than max(10, 1% of its entries) new unusable lines,"
        f" so the new version is refused and {name} keeps version {version}; check the format (--format), or load"
        " it anyway with --force"
    )


def remove_list(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """Forget a list, its versions, entries and the matches it made; returns the number of versions removed."""
    if con.execute("SELECT count(*) FROM lists WHERE name = ?", [name]).fetchone()[0] == 0:
        raise UnknownList(f"no list named {name!r}")
    with transaction(con):
        versions = [
            row[0] for row in con.execute("SELECT version_id FROM list_versions WHERE list_name = ?", [name]).fetchall()
        ]
        con.execute("DELETE FROM url_matches WHERE list_name = ?", [name])
        con.execute("DELETE FROM match_state WHERE list_name = ?", [name])
        con.execute("DELETE FROM matched_sources WHERE list_name = ?", [name])
        con.execute(
            "DELETE FROM list_entries WHERE version_id IN (SELECT version_id FROM list_versions WHERE list_name = ?)",
            [name],
        )
        con.execute(
            "DELETE FROM list_rejects WHERE version_id IN (SELECT version_id FROM list_versions WHERE list_name = ?)",
            [name],
        )
        con.execute("DELETE FROM list_versions WHERE list_name = ?", [name])
        con.execute("DELETE FROM lists WHERE name = ?", [name])
    return len(versions)


def record_validators(con: duckdb.DuckDBPyConnection, name: str, etag: str | None, last_modified: str | None) -> None:
    """Keep the HTTP validators of the last successful download, for the next conditional GET."""
    con.execute("UPDATE lists SET etag = ?, last_modified = ? WHERE name = ?", [etag, last_modified, name])


CURRENT_VERSIONS_SQL = """
    SELECT list_name, max(version_id) AS version_id FROM list_versions GROUP BY list_name
"""

# Version id of matches that no list version stands behind: a hash service said so (SERVICE_VERSION_ID).
SERVICE_VERSION_ID = 0

# The matches in force: those of the current version of each list, and hash-service verdicts.
CURRENT_MATCHES_SQL = f"""
    SELECT url_matches.* FROM url_matches
    WHERE version_id = {SERVICE_VERSION_ID}
       OR version_id IN (SELECT version_id FROM ({CURRENT_VERSIONS_SQL}))
"""
