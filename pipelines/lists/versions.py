"""Block and allow lists in the store: every load of a list is a version with its expressions and counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.lists.entries import EmptyList, Expression, NormalizedList, expressions_of
from pipelines.lists.formats import FormatReport, ListFormatError, content_sha256, parse_list_file, sniff_format
from pipelines.store import list_kind, memory_limit, transaction

LIST_TYPES = ("block", "allow", "watch")  # watch lists select links to crawl and never flag

# Details of rejected and unsupported lines kept per version (all are counted).
KEPT_REJECTS = 10_000
# DuckDB's memory while a list file is loaded: its entries go to the store batch by batch, duplicates are
# found in SQL, and DuckDB spills what does not fit.
LOAD_MEMORY_LIMIT = "256MB"


class UnknownList(LookupError):
    pass


class ListTypeMismatch(ValueError):
    pass


class WrongListKind(ValueError):
    """A list named to a command of another kind of list (`hashlist show` of a blocklist)."""


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
    allow_wide_networks: bool = False  # load IPv4 networks wider than /8
    two_reviewers: bool | None = None  # a rejection of its verdicts needs two reviewers (None: keep as is)
    reportable: bool | None = None  # its auto verdicts may go into hotline reports (None: keep as is)

    @property
    def kind(self) -> str:
        """blocklist, allowlist, watchlist or hashlist: the command group the list belongs to."""
        return list_kind(self.list_type, self.list_format)

    def options_json(self) -> str:
        options = {"subdomains": self.subdomains, "column": self.column}
        if self.allow_public_suffix:
            options["allow_public_suffix"] = True
        if self.allow_wide_networks:
            options["allow_wide_networks"] = True
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
        allow_wide_networks=bool(options.get("allow_wide_networks")),
    )


def require_kind(name: str, settings: ListSettings, kind: str) -> None:
    """WrongListKind unless list `name` (of `settings`) is of `kind`."""
    if settings.kind != kind:
        raise WrongListKind(f"{name!r} is a {settings.kind}; use `linksweep {settings.kind} ...`")


def _upsert_list(con: duckdb.DuckDBPyConnection, name: str, settings: ListSettings) -> None:
    existing = con.execute("SELECT list_type FROM lists WHERE name = ?", [name]).fetchone()
    if existing is None:
        con.execute(
            "INSERT INTO lists (name, list_type, category, format, source_url, auth_env, options, two_reviewers,"
            " reportable) VALUES (?, ?, ?, ?, ?, ?, ?, coalesce(?, false), coalesce(?, false))",
            [
                name,
                settings.list_type,
                settings.category,
                settings.list_format,
                settings.source_url,
                settings.auth_env,
                settings.options_json(),
                settings.two_reviewers,
                settings.reportable,
            ],
        )
        return
    if existing[0] != settings.list_type:
        raise ListTypeMismatch(f"{name!r} is a {existing[0]}list; choose another name for a {settings.list_type}list")
    con.execute(
        "UPDATE lists SET category = coalesce(?, category), format = ?, source_url = coalesce(?, source_url),"
        " auth_env = coalesce(?, auth_env), options = ?, two_reviewers = coalesce(?, two_reviewers),"
        " reportable = coalesce(?, reportable) WHERE name = ?",
        [
            settings.category,
            settings.list_format,
            settings.source_url,
            settings.auth_env,
            settings.options_json(),
            settings.two_reviewers,
            settings.reportable,
            name,
        ],
    )


def _latest_version(con: duckdb.DuckDBPyConnection, name: str) -> tuple | None:
    """(version_id, sha256, format, version, accepted, unusable lines) of the latest version of `name`."""
    return con.execute(
        "SELECT version_id, sha256, format, version, accepted, coalesce(rejected, 0) + coalesce(unsupported, 0)"
        " FROM list_versions WHERE list_name = ? ORDER BY version_id DESC LIMIT 1",
        [name],
    ).fetchone()


def _unchanged(
    con: duckdb.DuckDBPyConnection, name: str, settings: ListSettings, sha256: str, list_format: str
) -> LoadedVersion | None:
    """The latest version when it holds the same content read the same way (same format and options)."""
    options = con.execute("SELECT options FROM lists WHERE name = ?", [name]).fetchone()
    latest = _latest_version(con, name)
    if latest is None or options is None or options[0] != settings.options_json():
        return None
    if latest[1] == sha256 and latest[2] == list_format:
        return LoadedVersion(name, latest[0], unchanged=True, version=latest[3])
    return None


def _empty_list_error(parsed: NormalizedList) -> EmptyList:
    return EmptyList(
        f"{parsed.path}: no usable entry ({parsed.rejected_total:,} lines rejected, "
        f"{parsed.unsupported_total:,} unsupported); the list was not changed"
    )


def _record_version(
    con: duckdb.DuckDBPyConnection,
    name: str,
    parsed: NormalizedList,
    settings: ListSettings,
    *,
    origin: str | None,
    size: int | None,
    force: bool,
    version_id: int | None = None,
) -> tuple[int, int]:
    """Inside a transaction: the list's settings, the version row (checked against the latest version unless
    `force`) and its rejected lines; (version_id, version)."""
    _upsert_list(con, name, settings)
    latest = _latest_version(con, name)
    if latest is not None and not force:
        _check_unusable_lines(name, parsed, latest)
    version_id, version = con.execute(
        "INSERT INTO list_versions (version_id, version, list_name, sha256, origin, accepted, duplicates,"
        " rejected, format, comments, blank, unsupported, bytes)"
        " VALUES (coalesce($12, nextval('list_version_id_seq')),"
        " (SELECT coalesce(max(version), 0) + 1 FROM list_versions WHERE list_name = $1),"
        " $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING version_id, version",
        [
            name,
            parsed.sha256,
            origin or parsed.path,
            parsed.entries,
            parsed.duplicates,
            parsed.rejected_total,
            parsed.format,
            parsed.comments,
            parsed.blank,
            parsed.unsupported_total,
            size,
            version_id,
        ],
    ).fetchone()
    rejects = [(*row, "rejected") for row in parsed.rejected] + [(*row, "unsupported") for row in parsed.unsupported]
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
    return version_id, version


def _insert_entries(
    con: duckdb.DuckDBPyConnection, version_id: int, rows: list[Expression], entry_numbers: list[int] | None = None
) -> None:
    con.register(
        "staged_entries",
        pa.table(
            {
                "version_id": pa.array([version_id] * len(rows), pa.int32()),
                "entry_no": pa.array(entry_numbers, pa.int64()) if entry_numbers else pa.nulls(len(rows), pa.int64()),
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
    """Record a list parsed in memory (a test's list) as the next version of list `name` (created
    on first load); `load_list_version` reads a list file in bounded batches instead.

    Loading content identical to the latest version records nothing new. A list with no usable entry is
    refused (EmptyList), and so is, unless `force`, a version that could not use more lines than the latest
    one by over `allowed_new_unusable` (SuspiciousVersion); the previous version stays current.
    """
    if not parsed.expressions:
        raise _empty_list_error(parsed)
    with transaction(con):
        unchanged = _unchanged(con, name, settings, parsed.sha256, parsed.format)
        if unchanged is not None:
            _upsert_list(con, name, settings)
            return unchanged
        version_id, version = _record_version(con, name, parsed, settings, origin=origin, size=size, force=force)
        _insert_entries(con, version_id, parsed.expressions)
    return LoadedVersion(name, version_id, unchanged=False, version=version)


class _EntryWriter:
    """Takes the entries of each batch a list file is read in, canonicalizes them and appends them to
    `list_entries` under a version id no `list_versions` row names yet (invisible until the version is
    recorded); keeps the first KEPT_REJECTS rejected and unsupported lines and counts the rest."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, version_id: int, summary: NormalizedList, settings: ListSettings
    ) -> None:
        self.con, self.version_id, self.summary = con, version_id, summary
        self.settings = settings
        self.entry_count = 0  # entries numbered in reading order; duplicates are found in SQL at the end

    def take(self, report: FormatReport) -> None:
        raws, report.entries = report.entries, []
        rejected, unsupported = list(report.rejected), list(report.unsupported)
        report.rejected.clear()
        report.unsupported.clear()
        rows: list[Expression] = []
        numbers: list[int] = []
        for raw in raws:
            try:
                expressions = expressions_of(
                    raw,
                    report.hash_algorithm,
                    allow_public_suffix=self.settings.allow_public_suffix,
                    allow_wide_networks=self.settings.allow_wide_networks,
                )
            except ValueError as error:
                rejected.append((raw.line_no, raw.value, str(error)))
                continue
            rows.extend(expressions)
            numbers.extend([self.entry_count] * len(expressions))
            self.entry_count += 1
        if rows:
            _insert_entries(self.con, self.version_id, rows, numbers)
        rejected.sort()
        self._keep(rejected, "rejected")
        self._keep(unsupported, "unsupported")

    def _keep(self, lines: list[tuple[int, str, str]], kind: str) -> None:
        kept = getattr(self.summary, kind)
        room = max(0, KEPT_REJECTS - len(kept))
        kept.extend(lines[:room])
        setattr(self.summary, f"more_{kind}", getattr(self.summary, f"more_{kind}") + max(0, len(lines) - room))

    def finish(self) -> None:
        """Drop the entries that name what an earlier one named (the first of each stays), and count."""
        parameters = {"version": self.version_id}
        firsts = """
            SELECT min(entry_no) FROM (
                SELECT entry_no, any_value(entry_kind) AS kind, min(expression) AS expression,
                       any_value(exception) AS exception, any_value(subdomains) AS subdomains,
                       any_value(hash_algorithm) AS hash_algorithm
                FROM list_entries WHERE version_id = $version GROUP BY entry_no
            ) GROUP BY kind, expression, exception, subdomains, hash_algorithm
        """
        distinct = self.con.execute(f"SELECT count(*) FROM ({firsts})", parameters).fetchone()[0]
        if distinct < self.entry_count:
            self.con.execute(
                f"DELETE FROM list_entries WHERE version_id = $version AND entry_no NOT IN ({firsts})", parameters
            )
        self.summary.entries = distinct
        self.summary.duplicates = self.entry_count - distinct
        self.summary.by_kind = dict(
            self.con.execute(
                "SELECT CASE entry_kind WHEN 'content' THEN 'content-' || hash_algorithm ELSE entry_kind END AS kind,"
                " count(DISTINCT entry_no) FROM list_entries WHERE version_id = $version GROUP BY kind",
                parameters,
            ).fetchall()
        )


def load_list_version(
    con: duckdb.DuckDBPyConnection,
    name: str,
    path: Path,
    settings: ListSettings,
    *,
    origin: str | None = None,
    size: int | None = None,
    force: bool = False,
    shown_path: str | None = None,
    on_parsed: Callable[[NormalizedList], None] | None = None,
) -> tuple[LoadedVersion, NormalizedList]:
    """Read the list file (or UT1 folder) at `path` in `settings.list_format` as the next version of list
    `name`, in batches of BATCH_LINES lines: memory stays bounded whatever the length of the list.

    Format auto is decided here, and the decided format is what the list records. `on_parsed` sees the account
    of the lines before the version is recorded (or refused, as in `add_list_version`).
    """
    existing = con.execute("SELECT list_type FROM lists WHERE name = ?", [name]).fetchone()
    if existing is not None and existing[0] != settings.list_type:  # said before reading the whole list
        raise ListTypeMismatch(f"{name!r} is a {existing[0]}list; choose another name for a {settings.list_type}list")
    list_format, decided_by = settings.list_format, None
    if list_format == "auto":
        list_format, decided_by = sniff_format(path)
    settings = replace(settings, list_format=list_format)
    sha256 = content_sha256(path)
    summary = NormalizedList(path=shown_path or str(path), sha256=sha256, format=list_format, decided_by=decided_by)
    unchanged = _unchanged(con, name, settings, sha256, list_format)
    if unchanged is not None:
        with transaction(con):
            _upsert_list(con, name, settings)
        return unchanged, summary
    # entries of loads that stopped before recording their version
    con.execute("DELETE FROM list_entries WHERE version_id NOT IN (SELECT version_id FROM list_versions)")
    version_id = con.execute("SELECT nextval('list_version_id_seq')").fetchone()[0]
    writer = _EntryWriter(con, version_id, summary, settings)
    try:
        with memory_limit(con, LOAD_MEMORY_LIMIT):
            report = parse_list_file(
                path, list_format, subdomains=settings.subdomains, column=settings.column, on_batch=writer.take
            )
            if report.sha256 != sha256:
                raise ListFormatError(f"{path}: the file changed while it was read; load it again")
            summary.comments, summary.blank = report.comments, report.blank
            summary.decided_by = summary.decided_by or report.decided_by
            writer.finish()
        if on_parsed is not None:
            on_parsed(summary)
        if summary.entries == 0:
            raise _empty_list_error(summary)
        with transaction(con):
            _, version = _record_version(
                con, name, summary, settings, origin=origin, size=size, force=force, version_id=version_id
            )
    except BaseException:
        con.execute("DELETE FROM list_entries WHERE version_id = ?", [version_id])
        raise
    return LoadedVersion(name, version_id, unchanged=False, version=version), summary


def _check_unusable_lines(name: str, parsed: NormalizedList, latest: tuple) -> None:
    version, accepted, unusable = latest[3], latest[4], latest[5]
    now = parsed.rejected_total + parsed.unsupported_total
    if now - unusable <= allowed_new_unusable(accepted):
        return
    raise SuspiciousVersion(
        f"{parsed.path} ({parsed.format}): {now:,} lines rejected or unsupported where version {version} of {name}"
        f" had {unusable:,} (with {accepted:,} entries): more than max(10, 1% of its entries) new unusable lines,"
        f" so the new version is refused and {name} keeps version {version}; check the format (--format), or load"
        " it anyway with --force"
    )


def remove_list(con: duckdb.DuckDBPyConnection, name: str, kind: str | None = None) -> int:
    """Forget a list, its versions, entries and the matches it made; returns the number of versions removed.
    With `kind`, only a list of that kind (else WrongListKind)."""
    if kind is not None:
        require_kind(name, list_settings(con, name), kind)
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
