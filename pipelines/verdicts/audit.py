"""The audit log: every review action (and every quarantine), appended and never updated or deleted."""

from __future__ import annotations

import duckdb

SYSTEM_REVIEWER = "linksweep"  # the name on actions linksweep takes itself (flood quarantine)
AUDIT_COLUMNS = (
    "audit_id",
    "acted_at",
    "reviewer",
    "action",
    "target",
    "scope",
    "reason",
    "note",
    "before_state",
    "after_state",
    "rule_id",
    "undoes",
    "affected",
)


def append_audit(
    con: duckdb.DuckDBPyConnection,
    *,
    reviewer: str,
    action: str,
    target: str,
    scope: str | None = None,
    reason: str | None = None,
    note: str | None = None,
    before_state: str | None = None,
    after_state: str | None = None,
    rule_id: int | None = None,
    undoes: int | None = None,
    affected: int | None = None,
) -> int:
    """Append one action; returns its audit id."""
    [(audit_id,)] = con.execute(
        "INSERT INTO audit_log VALUES (nextval('audit_id_seq'), current_timestamp::TIMESTAMP,"
        " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING audit_id",
        [reviewer, action, target, scope, reason, note, before_state, after_state, rule_id, undoes, affected],
    ).fetchall()
    return audit_id


def audit_entries(con: duckdb.DuckDBPyConnection, *, target: str | None = None, limit: int | None = None) -> list[dict]:
    """The log, newest first (only the actions on `target` when given)."""
    where = "WHERE target = $target" if target is not None else ""
    rows = con.execute(
        f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit_log {where} ORDER BY audit_id DESC"
        + (f" LIMIT {int(limit)}" if limit is not None else ""),
        {"target": target} if target is not None else {},
    ).fetchall()
    return [dict(zip(AUDIT_COLUMNS, row, strict=True)) for row in rows]
