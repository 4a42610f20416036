"""A verdict's state, from what the lists say of it and the review rules that cover it.

The state a list gives a verdict is its `origin` (auto, or needs_review when flood quarantine held it); a
verdict no current list version holds any more is `expired`. A review rule overrides both: the latest active
rule covering a verdict decides, `confirmed` for a confirmation, `false_positive` for a rejection of that very
verdict and `suppressed` for a rejection that covers it through its entry, URL or host. A rule that has lapsed
(`until`) or was undone no longer counts, and a rejection of a two-reviewer list's verdict counts only once two
different reviewers made it.
"""

from __future__ import annotations

import duckdb

STATES = ("auto", "needs_review", "confirmed", "false_positive", "suppressed", "expired")
EXPORTED_STATES = ("auto", "confirmed")  # what a removal list holds by default
REVIEW_STATES = ("needs_review",)
SCOPES = ("verdict", "entry", "url", "host")

# How a rule of each scope covers a verdict `t` (rule `r`).
COVERS = {
    "verdict": "r.verdict_id = t.verdict_id",
    "entry": "r.list_name = t.list_name AND r.entry_kind = t.entry_kind AND r.entry = t.entry",
    "url": "r.url = t.url",
    "host": "r.host = t.host",
}


def _rule_hits(where: str) -> str:
    branches = "\nUNION ALL\n".join(
        f"""SELECT t.verdict_id, r.rule_id, r.decision, r.verdict_id AS named FROM target AS t
        JOIN active AS r ON r.scope = '{scope}' AND {condition}
        WHERE r.decision = 'confirm' OR NOT t.two_reviewers OR len(list_distinct(r.reviewers)) >= 2"""
        for scope, condition in COVERS.items()
    )
    return f"""
    WITH active AS (
        SELECT * FROM review_rules
        WHERE revoked_at IS NULL AND (until IS NULL OR until > current_timestamp::TIMESTAMP)
    ),
    target AS (
        SELECT v.verdict_id, v.url, v.host, v.list_name, v.entry_kind, v.entry, v.origin, v.in_force,
               coalesce(l.two_reviewers, false) AS two_reviewers
        FROM verdicts AS v LEFT JOIN lists AS l ON l.name = v.list_name
        WHERE {where}
    ),
    hits AS ({branches}),
    deciding AS (
        SELECT verdict_id, max(rule_id) AS rule_id, arg_max(decision, rule_id) AS decision,
               arg_max(named, rule_id) AS named
        FROM hits GROUP BY verdict_id
    )
    SELECT t.verdict_id, d.rule_id,
           CASE WHEN d.decision = 'confirm' THEN 'confirmed'
                WHEN d.decision = 'reject' AND d.named = t.verdict_id THEN 'false_positive'
                WHEN d.decision = 'reject' THEN 'suppressed'
                WHEN NOT t.in_force THEN 'expired'
                ELSE t.origin END AS state
    FROM target AS t LEFT JOIN deciding AS d USING (verdict_id)
    """


def apply_rules(con: duckdb.DuckDBPyConnection, where: str = "true", parameters: dict | None = None) -> int:
    """Bring the state of the verdicts selected by `where` (SQL over `v`, the verdicts) up to date with the
    rules; returns how many changed. Call inside the caller's transaction."""
    if not con.execute("SELECT count(*) FROM review_rules").fetchall()[0][0]:  # no review yet: the lists decide
        return con.execute(
            f"""
            UPDATE verdicts AS v SET state = CASE WHEN in_force THEN origin ELSE 'expired' END, rule_id = NULL,
                   updated_at = current_timestamp::TIMESTAMP
            WHERE ({where}) AND (state IS DISTINCT FROM CASE WHEN in_force THEN origin ELSE 'expired' END
                                 OR rule_id IS NOT NULL)
            """,
            parameters or {},
        ).fetchone()[0]
    con.execute(f"CREATE OR REPLACE TEMP TABLE decided_states AS {_rule_hits(where)}", parameters or {})
    changed = con.execute(
        """
        UPDATE verdicts SET state = d.state, rule_id = d.rule_id, updated_at = current_timestamp::TIMESTAMP
        FROM decided_states AS d
        WHERE verdicts.verdict_id = d.verdict_id
          AND (verdicts.state IS DISTINCT FROM d.state OR verdicts.rule_id IS DISTINCT FROM d.rule_id)
        """
    ).fetchone()[0]
    con.execute("DROP TABLE decided_states")
    return changed
