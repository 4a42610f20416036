"""What the reports read from the store: `status`, `... list` and `... show`, and the files an ingest just read.

Each query takes an open connection; a relation it returns is read when it is shown, so the connection stays
open until then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb

HASH_FORMAT_PREFIX = "hashes-"
# the state of a list in `status`: whether `match` has caught up with its latest version
USED_BY_CRAWLS = "used by crawls"
MATCHED = "matched"
NOT_MATCHED = "not matched yet (run `linksweep match`)"


def list_kind(list_type: str, list_format: str) -> str:
    """The kind of a list, as its command group names it: hashlist, or blocklist, allowlist, watchlist."""
    return "hashlist" if list_format.startswith(HASH_FORMAT_PREFIX) else f"{list_type}list"


def store_time() -> datetime:
    """DuckDB's `current_timestamp` as the store records it (`sources.finished_at`, in the session's time zone)."""
    with duckdb.connect() as clock:
        return clock.execute("SELECT current_timestamp::TIMESTAMP").fetchone()[0]


@dataclass(frozen=True)
class SourceRun:
    """A file as an ingest left it: its status and counts."""

    path: str
    status: str
    records: int
    documents: int
    links: int
    bad_records: int
    seconds: float | None


def sources_finished_since(con: duckdb.DuckDBPyConnection, snapshot: str, since: datetime) -> list[SourceRun]:
    """The snapshot's files whose reading finished at `since` (a store_time()) or later, in the order read."""
    rows = con.execute(
        "SELECT path, status, records, documents, links, bad_records, seconds FROM sources"
        " WHERE snapshot = ? AND finished_at >= ? ORDER BY source_id",
        [snapshot, since],
    ).fetchall()
    return [SourceRun(*row) for row in rows]


@dataclass(frozen=True)
class SourceState:
    snapshot: str
    path: str
    status: str  # done, partial, failed or pending
    error: str | None


@dataclass(frozen=True)
class ListState:
    """A list's latest version, and whether `match` has caught up with it (USED_BY_CRAWLS, MATCHED, NOT_MATCHED)."""

    name: str
    kind: str
    list_format: str
    version: int
    accepted: int
    state: str


@dataclass(frozen=True)
class CrawlState:
    outcomes: list[tuple[str, int]]  # (outcome, links), by outcome
    last: datetime  # when the latest result was fetched
    unchecked: int  # links whose content a hash service left unchecked


@dataclass(frozen=True)
class StoreStatus:
    snapshots: duckdb.DuckDBPyRelation  # files, documents and links per snapshot
    sources: list[SourceState]
    lists: list[ListState]
    crawl: CrawlState | None  # None before the first crawl
    verdicts: dict[str, dict[str, int]] = field(default_factory=dict)  # snapshot -> state -> verdicts


def store_status(
    con: duckdb.DuckDBPyConnection, snapshot: str | None = None, *, every_file: bool = False
) -> StoreStatus:
    """What each snapshot (or only `snapshot`) holds, its files that failed, stopped early or are pending (with
    `every_file`, all its files), the latest version of every list, and the crawl's outcomes."""
    where, params = ("WHERE snapshot = ?", [snapshot]) if snapshot else ("", [])
    snapshots = con.sql(
        f"""
        SELECT snapshot, count(*) AS files, count(*) FILTER (WHERE status = 'done') AS done,
               count(*) FILTER (WHERE status = 'partial') AS partial,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               count(*) FILTER (WHERE status = 'pending') AS pending,
               sum(documents) AS documents, sum(links) AS links, sum(bad_records) AS bad_records
        FROM sources {where} GROUP BY snapshot ORDER BY snapshot
        """,
        params=params,
    )
    shown = "" if every_file else f"{'AND' if where else 'WHERE'} status IN ('partial', 'failed', 'pending')"
    sources = con.execute(
        f"SELECT snapshot, path, status, error FROM sources {where} {shown} ORDER BY snapshot, path", params
    ).fetchall()
    verdicts: dict[str, dict[str, int]] = {}
    for name, state, count in con.execute(
        f"SELECT snapshot, state, count(*) FROM verdicts {where} GROUP BY ALL ORDER BY snapshot, state", params
    ).fetchall():
        verdicts.setdefault(name, {})[state] = count
    return StoreStatus(
        snapshots, [SourceState(*row) for row in sources], _list_states(con), _crawl_state(con), verdicts
    )


def _list_states(con: duckdb.DuckDBPyConnection) -> list[ListState]:
    rows = con.execute(
        """
        SELECT l.name, l.list_type, coalesce(v.format, l.format), v.version_id, v.version, v.accepted,
               (SELECT version_id FROM match_state WHERE match_state.list_name = l.name) AS matched_version
        FROM lists AS l JOIN list_versions AS v ON v.list_name = l.name
        WHERE v.version_id = (SELECT max(version_id) FROM list_versions WHERE list_name = l.name)
        ORDER BY l.list_type, l.name
        """
    ).fetchall()
    states = []
    for name, list_type, list_format, version_id, version, accepted, matched in rows:
        if list_type == "watch" or list_format.startswith(HASH_FORMAT_PREFIX):
            state = USED_BY_CRAWLS
        elif matched == version_id:
            state = MATCHED
        else:
            state = NOT_MATCHED
        states.append(ListState(name, list_kind(list_type, list_format), list_format, version, accepted, state))
    return states


def _crawl_state(con: duckdb.DuckDBPyConnection) -> CrawlState | None:
    crawled = con.execute(
        "SELECT outcome, count(*), max(fetched_at) FROM crawl_results GROUP BY outcome ORDER BY outcome"
    ).fetchall()
    if not crawled:
        return None
    unchecked = con.execute("SELECT count(DISTINCT url) FROM hash_checks WHERE status = 'unchecked'").fetchall()[0][0]
    return CrawlState([(outcome, count) for outcome, count, _ in crawled], max(row[2] for row in crawled), unchecked)


def latest_list_versions(con: duckdb.DuckDBPyConnection, kind: str) -> duckdb.DuckDBPyRelation:
    """The latest version of each list of `kind` (see list_kind), with its counts."""
    if kind == "hashlist":
        where, params = f"starts_with(l.format, '{HASH_FORMAT_PREFIX}')", {}
    else:
        where = f"l.list_type = $type AND NOT starts_with(l.format, '{HASH_FORMAT_PREFIX}')"
        params = {"type": kind.removesuffix("list")}
    return con.sql(
        f"""
        SELECT l.name, l.category, v.format, v.version, v.accepted, v.duplicates,
               v.rejected, v.unsupported, v.loaded_at, v.origin
        FROM lists AS l JOIN list_versions AS v ON v.list_name = l.name
        WHERE ({where})
          AND v.version_id = (SELECT max(version_id) FROM list_versions WHERE list_name = l.name)
        ORDER BY l.name
        """,
        params=params,
    )


def list_version_history(con: duckdb.DuckDBPyConnection, name: str) -> duckdb.DuckDBPyRelation:
    """Every version of list `name`, oldest first, with its counts and origin."""
    return con.sql(
        """
        SELECT version, loaded_at, format, accepted, duplicates, rejected, unsupported,
               comments, blank, bytes, sha256[:12] AS sha256, origin
        FROM list_versions WHERE list_name = $name ORDER BY version_id
        """,
        params={"name": name},
    )


def latest_entry_kinds(con: duckdb.DuckDBPyConnection, name: str) -> duckdb.DuckDBPyRelation:
    """What the latest version of list `name` holds: entries and expressions by kind."""
    return con.sql(
        """
        SELECT entry_kind, exception, subdomains, hash_algorithm, count(DISTINCT line_no) AS entries,
               count(*) AS expressions
        FROM list_entries
        WHERE version_id = (SELECT max(version_id) FROM list_versions WHERE list_name = $name)
        GROUP BY ALL ORDER BY ALL
        """,
        params={"name": name},
    )


def latest_rejects(con: duckdb.DuckDBPyConnection, name: str, limit: int) -> list[tuple[int, str, str, str]]:
    """The first `limit` lines the latest version of list `name` could not use: (line_no, line, reason, outcome)."""
    return con.execute(
        """
        SELECT line_no, line, reason, outcome FROM list_rejects
        WHERE version_id = (SELECT max(version_id) FROM list_versions WHERE list_name = ?)
        ORDER BY line_no LIMIT ?
        """,
        [name, limit],
    ).fetchall()


class UnknownSnapshot(LookupError):
    pass


def require_snapshot(con: duckdb.DuckDBPyConnection, snapshot: str) -> None:
    if con.execute("SELECT count(*) FROM snapshots WHERE name = ?", [snapshot]).fetchone()[0] == 0:
        known = [row[0] for row in con.execute("SELECT name FROM snapshots ORDER BY name").fetchall()]
        raise UnknownSnapshot(f"no snapshot {snapshot!r} (known: {', '.join(known) or 'none'})")
