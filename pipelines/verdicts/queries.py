"""What `review list` and `review show` read: verdicts by snapshot, state, list and host, and one verdict with
the rules and actions behind its state."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

import duckdb

from pipelines.verdicts.audit import audit_entries
from pipelines.verdicts.review import UnknownVerdict
from pipelines.verdicts.states import STATES

LIST_COLUMNS = (
    "verdict_id",
    "snapshot",
    "state",
    "url",
    "host",
    "list_name",
    "category",
    "entry",
    "detected_via",
    "list_version",
    "updated_at",
)
SHOW_COLUMNS = LIST_COLUMNS + (
    "entry_kind",
    "expression",
    "version_id",
    "evidence",
    "origin",
    "in_force",
    "rule_id",
    "created_at",
)
RULE_COLUMNS = ("rule_id", "decision", "scope", "reason", "note", "reviewers", "created_at", "until", "revoked_at")


class UnknownState(ValueError):
    pass


@dataclass(frozen=True)
class VerdictPage:
    total: int  # verdicts the filters select
    rows: list[dict]  # the page of them asked for


def list_verdicts(
    con: duckdb.DuckDBPyConnection,
    *,
    snapshot: str | None = None,
    state: str | None = None,
    list_name: str | None = None,
    host: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> VerdictPage:
    """Verdicts selected by the filters, in a stable order (snapshot, list, entry, URL, detection)."""
    if state is not None and state not in STATES:
        raise UnknownState(f"unknown state {state!r} (use {', '.join(STATES)})")
    filters = {"snapshot": snapshot, "state": state, "list_name": list_name, "host": host}
    given = {name: value for name, value in filters.items() if value is not None}
    where = " AND ".join(f"{name} = ${name}" for name in given) or "true"
    total = con.execute(f"SELECT count(*) FROM verdicts WHERE {where}", given).fetchall()[0][0]
    rows = con.execute(
        f"SELECT {', '.join(LIST_COLUMNS)} FROM verdicts WHERE {where}"
        " ORDER BY snapshot, list_name, entry, url, detected_via LIMIT $limit OFFSET $offset",
        {**given, "limit": limit, "offset": offset},
    ).fetchall()
    return VerdictPage(total, [dict(zip(LIST_COLUMNS, row, strict=True)) for row in rows])


def show_verdict(con: duckdb.DuckDBPyConnection, verdict_id: str) -> dict:
    """One verdict: its fields, its evidence (parsed), the rule deciding its state and its review history."""
    rows = con.execute(f"SELECT {', '.join(SHOW_COLUMNS)} FROM verdicts WHERE verdict_id = ?", [verdict_id]).fetchall()
    if not rows:
        raise UnknownVerdict(f"no verdict {verdict_id!r} (see `linksweep review list`)")
    verdict = dict(zip(SHOW_COLUMNS, rows[0], strict=True))
    if verdict["evidence"]:
        with contextlib.suppress(json.JSONDecodeError):  # else shown as recorded
            verdict["evidence"] = json.loads(verdict["evidence"])
    rule = None
    if verdict["rule_id"] is not None:
        rule_rows = con.execute(
            f"SELECT {', '.join(RULE_COLUMNS)} FROM review_rules WHERE rule_id = ?", [verdict["rule_id"]]
        ).fetchall()
        rule = dict(zip(RULE_COLUMNS, rule_rows[0], strict=True)) if rule_rows else None
    verdict["rule"] = rule
    verdict["history"] = audit_entries(con, target=verdict_id)
    return verdict
