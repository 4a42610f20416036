"""What the HTML report shows, read from the store: the numbers `status` shows (through its own queries), and
the snapshot's verdicts, diff, crawl outcomes, review queue, failed files and latest run."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.store import SourceState, require_snapshot, store_status
from pipelines.verdicts import EXPORTED_STATES, REVIEW_STATES, STATES, SnapshotDiff, diff_snapshots, previous_snapshot

TOP_HOSTS = 20
TOP_WAITING = 10
DIFF_ITEMS = 20
FAILED_STATES = ("failed", "partial")
_EXPORTED = ", ".join(f"'{state}'" for state in EXPORTED_STATES)
_WAITING = ", ".join(f"'{state}'" for state in REVIEW_STATES)


@dataclass(frozen=True)
class ListVerdicts:
    list_name: str
    category: str | None
    by_state: dict[str, int]  # state -> verdicts


@dataclass(frozen=True)
class SnapshotTrend:
    snapshot: str
    flagged: int  # verdicts in the exported states
    needs_review: int


@dataclass(frozen=True)
class FlaggedHost:
    host: str
    some_url: str  # one of its flagged URLs: what its redacted hash is computed from
    urls: int
    lists: list[str]


@dataclass(frozen=True)
class WaitingEntry:
    list_name: str
    entry_kind: str
    entry: str
    verdicts: int


@dataclass(frozen=True)
class StageTiming:
    stage: str
    status: str
    seconds: float | None


@dataclass(frozen=True)
class RunTimings:
    run_id: int
    status: str
    exit_code: int | None
    started_at: str
    stages: list[StageTiming]


@dataclass(frozen=True)
class ReportData:
    snapshot: str
    files: dict[str, int]  # files, done, partial, failed, pending, documents, links, bad_records: as `status`
    verdict_states: dict[str, int]  # every state, 0 when none
    flagged_urls: int
    lists: list[ListVerdicts]
    trend: list[SnapshotTrend]  # every snapshot, in order of creation
    previous: str | None
    diff: SnapshotDiff | None
    hosts: list[FlaggedHost]
    flagged_hosts: int
    crawl_outcomes: list[tuple[str, int]]  # the crawl outcomes `status` shows (the whole store)
    error_classes: list[tuple[str, int]]
    waiting: list[WaitingEntry]
    failed_files: list[SourceState]
    run: RunTimings | None


def read_report_data(con: duckdb.DuckDBPyConnection, snapshot: str, previous: str | None = None) -> ReportData:
    """Everything the page shows about `snapshot`, its diff against `previous` (default: the snapshot created
    before it). Raises UnknownSnapshot for a snapshot, or a previous one, the store does not know."""
    require_snapshot(con, snapshot)
    status = store_status(con, snapshot)
    columns = [column for column in status.snapshots.columns if column != "snapshot"]
    rows = status.snapshots.fetchall()
    row = rows[0] if rows else None
    values = row[1:] if row else [0] * len(columns)
    files = {column: int(value or 0) for column, value in zip(columns, values, strict=True)}
    states = {state: status.verdicts.get(snapshot, {}).get(state, 0) for state in STATES}
    previous = previous if previous is not None else previous_snapshot(con, snapshot)
    params = {"s": snapshot}
    return ReportData(
        snapshot=snapshot,
        files=files,
        verdict_states=states,
        flagged_urls=_one(
            con, f"SELECT count(DISTINCT url) FROM verdicts WHERE snapshot = $s AND state IN ({_EXPORTED})", params
        ),
        lists=_list_verdicts(con, snapshot),
        trend=[
            SnapshotTrend(*row)
            for row in con.execute(
                f"""
                SELECT s.name, count(v.verdict_id) FILTER (WHERE v.state IN ({_EXPORTED})),
                       count(v.verdict_id) FILTER (WHERE v.state IN ({_WAITING}))
                FROM snapshots AS s LEFT JOIN verdicts AS v ON v.snapshot = s.name
                GROUP BY s.name, s.created_at ORDER BY s.created_at, s.name
                """
            ).fetchall()
        ],
        previous=previous,
        diff=diff_snapshots(con, previous, snapshot, limit=DIFF_ITEMS) if previous is not None else None,
        hosts=[
            FlaggedHost(host, url, count, lists)
            for host, url, count, lists in con.execute(
                f"""
                SELECT host, min(url), count(DISTINCT url), list(DISTINCT list_name ORDER BY list_name)
                FROM verdicts WHERE snapshot = $s AND state IN ({_EXPORTED}) AND host IS NOT NULL
                GROUP BY host ORDER BY 3 DESC, host LIMIT {TOP_HOSTS}
                """,
                params,
            ).fetchall()
        ],
        flagged_hosts=_one(
            con, f"SELECT count(DISTINCT host) FROM verdicts WHERE snapshot = $s AND state IN ({_EXPORTED})", params
        ),
        crawl_outcomes=status.crawl.outcomes if status.crawl is not None else [],
        error_classes=con.execute(
            "SELECT error_class, count(*) FROM crawl_results WHERE error_class IS NOT NULL"
            " GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall(),
        waiting=[
            WaitingEntry(*row)
            for row in con.execute(
                f"""
                SELECT list_name, entry_kind, entry, count(*) FROM verdicts
                WHERE snapshot = $s AND state IN ({_WAITING})
                GROUP BY ALL ORDER BY 4 DESC, 1, 3 LIMIT {TOP_WAITING}
                """,
                params,
            ).fetchall()
        ],
        failed_files=[source for source in status.sources if source.status in FAILED_STATES],
        run=_latest_run(con, snapshot),
    )


def _one(con: duckdb.DuckDBPyConnection, query: str, params: dict) -> int:
    return con.execute(query, params).fetchall()[0][0]


def _list_verdicts(con: duckdb.DuckDBPyConnection, snapshot: str) -> list[ListVerdicts]:
    found: dict[tuple[str, str | None], dict[str, int]] = {}
    for list_name, category, state, count in con.execute(
        "SELECT list_name, category, state, count(*) FROM verdicts WHERE snapshot = ? GROUP BY ALL"
        " ORDER BY list_name, category NULLS FIRST, state",
        [snapshot],
    ).fetchall():
        found.setdefault((list_name, category), {})[state] = count
    return [ListVerdicts(name, category, states) for (name, category), states in found.items()]


def _latest_run(con: duckdb.DuckDBPyConnection, snapshot: str) -> RunTimings | None:
    has_runs = _one(
        con, "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('runs', 'run_stages')", {}
    )
    if has_runs < 2:
        return None
    rows = con.execute(
        "SELECT run_id, status, exit_code, started_at FROM runs WHERE snapshot = ?"
        " ORDER BY started_at DESC, run_id DESC LIMIT 1",
        [snapshot],
    ).fetchall()
    if not rows:
        return None
    run_id, status, exit_code, started_at = rows[0]
    stages = [
        StageTiming(*stage)
        for stage in con.execute(
            "SELECT stage, status, seconds FROM run_stages WHERE run_id = ? ORDER BY started_at, stage", [run_id]
        ).fetchall()
    ]
    return RunTimings(run_id, status, exit_code, f"{started_at:%Y-%m-%d %H:%M:%S}", stages)
