"""Deriving a snapshot's verdicts from the matches in force: new decisions are added, the evidence of known
ones is brought up to date, and those no list holds any more expire. A reviewed verdict keeps its review."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from pipelines.store import require_snapshot, transaction
from pipelines.verdicts.audit import SYSTEM_REVIEWER, append_audit
from pipelines.verdicts.identity import VERDICT_ID_SQL
from pipelines.verdicts.quarantine import Flood, FloodPolicy, count_entries
from pipelines.verdicts.states import STATES, apply_rules


@dataclass(frozen=True)
class VerdictSummary:
    snapshot: str
    added: int  # new verdicts
    expired: int  # verdicts no current list version holds any more
    floods: tuple[Flood, ...] = ()
    states: dict[str, int] = field(default_factory=dict)  # every verdict of the snapshot, by state

    @property
    def awaiting_review(self) -> int:
        return self.states.get("needs_review", 0)

    def lines(self) -> list[str]:
        counts = ", ".join(f"{self.states[state]:,} {state}" for state in STATES if self.states.get(state))
        lines = [
            f"verdicts of snapshot {self.snapshot}: {self.added:,} new, {self.expired:,} expired; {counts or 'none'}"
        ]
        lines += [f"quarantined: {flood.line()}" for flood in self.floods]
        if self.awaiting_review:
            lines.append(
                f"{self.awaiting_review:,} verdicts await review: `linksweep review list --snapshot {self.snapshot}"
                " --state needs_review`"
            )
        return lines


def _flagged(con: duckdb.DuckDBPyConnection, snapshot: str) -> None:
    """Temp tables `blocked` (the store's current block matches no allowlist overrides), `blocked_urls` (their
    URLs) and `flagged` (one row per verdict those matches make in the snapshot: URLs of its documents and of
    their links)."""
    # imported here, not at the top: pipelines.lists (its fetching, formats) costs every `review` command
    # ~70 ms of start-up through pipelines.verdicts, and only deriving needs it
    from pipelines.lists import CURRENT_MATCHES_SQL

    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE blocked AS
        WITH current_matches AS ({CURRENT_MATCHES_SQL})
        SELECT url, list_name, category, matched_rule AS entry, coalesce(entry_kind, '') AS entry_kind,
               detected_via, expression, version_id, evidence
        FROM current_matches
        WHERE effect = 'block' AND url NOT IN (SELECT url FROM current_matches WHERE effect = 'allow')
        """
    )
    # A URL is in the snapshot when a document or link of the snapshot has it. The file that first recorded a
    # URL (urls.first_source) answers that for most URLs without a scan of the links: only the URLs first
    # recorded by another snapshot's file (or before version 2) are looked up in the snapshot's documents and
    # links.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE blocked_urls AS
        SELECT urls.url, urls.host,
               urls.first_source IN (
                   SELECT source_id FROM sources WHERE snapshot = $snapshot AND status IN ('done', 'partial')
               ) AS recorded_here
        FROM urls SEMI JOIN (SELECT DISTINCT url FROM blocked) AS b USING (url)
        """,
        {"snapshot": snapshot},
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE flagged AS
        WITH elsewhere AS (SELECT url FROM blocked_urls WHERE recorded_here IS NOT true),
        in_snapshot AS (
            SELECT url FROM blocked_urls WHERE recorded_here
            UNION ALL
            SELECT url FROM elsewhere WHERE url IN (
                SELECT url FROM documents WHERE snapshot = $snapshot AND url IN (SELECT url FROM elsewhere)
                UNION
                SELECT url FROM links
                WHERE (doc_id >> 32)::INTEGER IN (SELECT source_id FROM sources WHERE snapshot = $snapshot)
                  AND url IN (SELECT url FROM elsewhere)
            )
        ),
        decisions AS (
            SELECT $snapshot AS snapshot, b.url, b.list_name, b.entry_kind, b.entry, b.detected_via,
                   any_value(b.category) AS category, min(b.expression) AS expression,
                   max(b.version_id) AS version_id
            FROM blocked AS b SEMI JOIN in_snapshot USING (url)
            GROUP BY ALL
        ),
        -- a JSON array of the evidence objects of each decision's matches (a hash service: one per signal),
        -- aggregated apart: most matches (static ones) have none
        evidence AS (
            SELECT url, list_name, entry_kind, entry, detected_via,
                   '[' || array_to_string(list_sort(list(DISTINCT evidence)), ', ') || ']' AS evidence
            FROM blocked WHERE evidence IS NOT NULL
            GROUP BY ALL
        )
        SELECT d.*, u.host, coalesce(v.version, d.version_id) AS list_version
        FROM (
            SELECT {VERDICT_ID_SQL} AS verdict_id, *
            FROM decisions LEFT JOIN evidence USING (url, list_name, entry_kind, entry, detected_via)
        ) AS d
        JOIN blocked_urls AS u USING (url)
        LEFT JOIN list_versions AS v USING (version_id)
        """,
        {"snapshot": snapshot},
    )


# A digest of everything the verdicts of a snapshot are derived from: the matches (and their evidence), the
# list versions and the snapshot's files. Sums of 64-bit row hashes: order-free, and a change of any row changes
# them (up to hash collisions, which a full scan of these rows would be the price to rule out).
_INPUTS_SQL = """
SELECT concat_ws('/',
    (SELECT count(*) || ':' || coalesce(sum(hash(url, version_id, list_name, category, matched_rule, expression,
                                                 detected_via, effect, entry_kind, evidence)::HUGEINT), 0)
     FROM url_matches),
    (SELECT count(*) || ':' || coalesce(sum(hash(version_id, list_name, version)::HUGEINT), 0) FROM list_versions),
    (SELECT count(*) || ':' || coalesce(sum(hash(source_id, status, finished_at)::HUGEINT), 0)
     FROM sources WHERE snapshot = $snapshot))
"""


def _verdict_count(con: duckdb.DuckDBPyConnection, snapshot: str) -> int:
    return con.execute("SELECT count(*) FROM verdicts WHERE snapshot = ?", [snapshot]).fetchall()[0][0]


def _unchanged_since_last_refresh(con: duckdb.DuckDBPyConnection, snapshot: str) -> tuple[bool, str]:
    """Whether the inputs, and the number of verdicts derived from them, are those of the last refresh; the
    digest of the inputs."""
    inputs = con.execute(_INPUTS_SQL, {"snapshot": snapshot}).fetchall()[0][0]
    last = con.execute("SELECT inputs FROM verdict_refreshes WHERE snapshot = ?", [snapshot]).fetchall()
    return bool(last) and last[0][0] == f"{inputs}/{_verdict_count(con, snapshot)}", inputs


def refresh_verdicts(
    con: duckdb.DuckDBPyConnection, snapshot: str, policy: FloodPolicy | None = None
) -> VerdictSummary:
    """Bring the verdicts of `snapshot` up to date with the matches in force (after `match` or a crawl)."""
    require_snapshot(con, snapshot)
    policy = policy or FloodPolicy()
    with transaction(con):
        unchanged, inputs = _unchanged_since_last_refresh(con, snapshot)
        if unchanged:  # nothing to derive again; rules may have lapsed since
            apply_rules(con, "v.snapshot = $snapshot", {"snapshot": snapshot})
            return _summary(con, snapshot, 0, 0, ())
        _flagged(con, snapshot)
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE new_verdicts AS
            SELECT * FROM flagged WHERE verdict_id NOT IN (SELECT verdict_id FROM verdicts WHERE snapshot = $snapshot)
            """,
            {"snapshot": snapshot},
        )
        floods = count_entries(con, policy)
        added = con.execute(
            """
            INSERT INTO verdicts (verdict_id, snapshot, url, host, list_name, category, entry, entry_kind,
                                  detected_via, expression, version_id, list_version, evidence,
                                  origin, in_force, state)
            SELECT verdict_id, snapshot, url, host, list_name, category, entry, entry_kind, detected_via,
                   expression, version_id, list_version, evidence, origin, true, origin
            FROM (
                SELECT n.*, CASE WHEN EXISTS (
                                SELECT 1 FROM flooding_entries AS f
                                WHERE f.list_name = n.list_name AND f.entry_kind = n.entry_kind AND f.entry = n.entry
                            ) THEN 'needs_review' ELSE 'auto' END AS origin
                FROM new_verdicts AS n
            )
            """
        ).fetchone()[0]
        con.execute(
            """
            UPDATE verdicts SET version_id = f.version_id, list_version = f.list_version, category = f.category,
                   evidence = f.evidence, expression = f.expression,
                   host = f.host, in_force = true, updated_at = current_timestamp::TIMESTAMP
            FROM flagged AS f
            WHERE verdicts.verdict_id = f.verdict_id AND verdicts.snapshot = $snapshot
              AND (NOT verdicts.in_force OR verdicts.version_id IS DISTINCT FROM f.version_id
                   OR verdicts.evidence IS DISTINCT FROM f.evidence OR verdicts.category IS DISTINCT FROM f.category
                   OR verdicts.host IS DISTINCT FROM f.host)
            """,
            {"snapshot": snapshot},
        )
        expired = con.execute(
            """
            UPDATE verdicts SET in_force = false, updated_at = current_timestamp::TIMESTAMP
            WHERE snapshot = $snapshot AND in_force AND verdict_id NOT IN (SELECT verdict_id FROM flagged)
            """,
            {"snapshot": snapshot},
        ).fetchone()[0]
        apply_rules(con, "v.snapshot = $snapshot", {"snapshot": snapshot})
        for flood in floods:
            append_audit(
                con,
                reviewer=SYSTEM_REVIEWER,
                action="quarantine",
                target=f"{flood.list_name}:{flood.entry}",
                scope="entry",
                note=flood.line(),
                after_state="needs_review",
                affected=flood.held,
            )
        con.execute(
            "INSERT OR REPLACE INTO verdict_refreshes VALUES (?, current_timestamp::TIMESTAMP, ?)",
            [snapshot, f"{inputs}/{_verdict_count(con, snapshot)}"],
        )
        for table in ("blocked", "blocked_urls", "flagged", "new_verdicts", "flooding_entries"):
            con.execute(f"DROP TABLE {table}")
    return _summary(con, snapshot, added, expired, tuple(floods))


def _summary(
    con: duckdb.DuckDBPyConnection, snapshot: str, added: int, expired: int, floods: tuple[Flood, ...]
) -> VerdictSummary:
    states = dict(
        con.execute("SELECT state, count(*) FROM verdicts WHERE snapshot = ? GROUP BY state", [snapshot]).fetchall()
    )
    return VerdictSummary(snapshot, added, expired, floods, states)
