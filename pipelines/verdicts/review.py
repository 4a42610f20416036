"""Review actions: confirm, reject (a rule over a verdict, its entry, its URL or its host, maybe until a date)
and undo. Each is a row of the audit log; the states of the verdicts it covers follow at once (states.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import duckdb

from pipelines.store import store_time, transaction
from pipelines.verdicts.audit import append_audit
from pipelines.verdicts.states import SCOPES, apply_rules

REASONS = ("false_positive", "benign_context", "list_error", "other")
CONFIRM_SCOPES = ("verdict", "entry")  # an entry-wide confirmation releases a quarantined entry
UNDOABLE = ("confirm", "reject", "second-reject")

# The rule fields of each scope, taken from the verdict named.
_TARGET_FIELDS = {
    "verdict": ("verdict_id",),
    "entry": ("list_name", "entry_kind", "entry"),
    "url": ("url",),
    "host": ("host",),
}


class UnknownVerdict(LookupError):
    pass


class ReviewRefused(ValueError):
    """A review action that cannot be taken: a second rejection by the same reviewer, an undo of an undo, ..."""


@dataclass(frozen=True)
class ReviewOutcome:
    audit_id: int
    action: str
    target: str
    before: str | None
    after: str | None
    affected: int  # verdicts whose state changed
    rule_id: int | None
    message: str


def _verdict(con: duckdb.DuckDBPyConnection, verdict_id: str) -> dict:
    columns = ("verdict_id", "snapshot", "url", "host", "list_name", "entry_kind", "entry", "state", "two_reviewers")
    rows = con.execute(
        "SELECT v.verdict_id, v.snapshot, v.url, v.host, v.list_name, v.entry_kind, v.entry, v.state,"
        " coalesce(l.two_reviewers, false) FROM verdicts AS v LEFT JOIN lists AS l ON l.name = v.list_name"
        " WHERE v.verdict_id = ?",
        [verdict_id],
    ).fetchall()
    if not rows:
        raise UnknownVerdict(f"no verdict {verdict_id!r} (see `linksweep review list`)")
    return dict(zip(columns, rows[0], strict=True))


def _state(con: duckdb.DuckDBPyConnection, verdict_id: str) -> str:
    return con.execute("SELECT state FROM verdicts WHERE verdict_id = ?", [verdict_id]).fetchall()[0][0]


def _coverage(scope: str, target: dict) -> tuple[str, dict]:
    """The verdicts a rule of `scope` over `target` covers, as SQL over `v` for apply_rules."""
    fields = _TARGET_FIELDS[scope]
    return " AND ".join(f"v.{name} = ${name}" for name in fields), {name: target[name] for name in fields}


def _verdicts(con: duckdb.DuckDBPyConnection, verdict_ids: list[str]) -> list[dict]:
    if not verdict_ids:
        raise ReviewRefused("name at least one verdict id")
    return [_verdict(con, verdict_id) for verdict_id in dict.fromkeys(verdict_ids)]


def _new_rule(con, decision: str, scope: str, verdict: dict, reviewer: str, **fields) -> int:
    target = {name: verdict[name] for name in _TARGET_FIELDS[scope]}
    [(rule_id,)] = con.execute(
        """
        INSERT INTO review_rules (rule_id, decision, scope, verdict_id, snapshot, list_name, entry_kind, entry, url,
                                  host, reason, note, reviewers, created_at, until)
        VALUES (nextval('review_rule_id_seq'), $decision, $scope, $verdict_id, $snapshot, $list_name, $entry_kind,
                $entry, $url, $host, $reason, $note, [$reviewer], current_timestamp::TIMESTAMP, $until)
        RETURNING rule_id
        """,
        {
            "decision": decision,
            "scope": scope,
            "verdict_id": verdict["verdict_id"],
            "snapshot": verdict["snapshot"],
            "list_name": target.get("list_name"),
            "entry_kind": target.get("entry_kind"),
            "entry": target.get("entry"),
            "url": target.get("url"),
            "host": target.get("host"),
            "reason": fields.get("reason"),
            "note": fields.get("note"),
            "reviewer": reviewer,
            "until": fields.get("until"),
        },
    ).fetchall()
    return rule_id


def _apply(con, scope: str, verdict: dict) -> int:
    where, parameters = _coverage(scope, verdict)
    return apply_rules(con, where, parameters)


def _record(
    con, action: str, verdict: dict, scope: str, rule_id: int | None, *, reviewer: str, suffix: str = "", **logged
) -> ReviewOutcome:
    """After a change to rule `rule_id`: bring the states of the verdicts it covers up to date, append the action
    on `verdict` to the audit log (`logged`: reason, note, undoes) and say what changed."""
    affected = _apply(con, scope, verdict)
    after = _state(con, verdict["verdict_id"])
    audit_id = append_audit(
        con,
        reviewer=reviewer,
        action=action,
        target=verdict["verdict_id"],
        scope=scope,
        before_state=verdict["state"],
        after_state=after,
        rule_id=rule_id,
        affected=affected,
        **logged,
    )
    message = f"{verdict['verdict_id']}: {verdict['state']} -> {after} ({affected:,} verdicts changed){suffix}"
    return ReviewOutcome(audit_id, action, verdict["verdict_id"], verdict["state"], after, affected, rule_id, message)


def confirm(
    con: duckdb.DuckDBPyConnection,
    verdict_ids: list[str],
    *,
    reviewer: str,
    note: str | None = None,
    scope: str = "verdict",
) -> list[ReviewOutcome]:
    """Confirm each verdict (scope `entry`: every verdict of its list entry, e.g. a quarantined one)."""
    if scope not in CONFIRM_SCOPES:
        raise ReviewRefused(f"a confirmation covers a verdict or its entry, not a {scope}")
    outcomes = []
    with transaction(con):
        for verdict in _verdicts(con, verdict_ids):
            rule_id = _new_rule(con, "confirm", scope, verdict, reviewer, note=note)
            outcomes.append(_record(con, "confirm", verdict, scope, rule_id, reviewer=reviewer, note=note))
    return outcomes


def _pending_rejection(con, scope: str, verdict: dict) -> tuple[int, list[str]] | None:
    """The active rejection of a two-reviewer verdict with the same scope and target, made by one reviewer."""
    fields = _TARGET_FIELDS[scope]
    rows = con.execute(
        f"""
        SELECT rule_id, reviewers FROM review_rules
        WHERE decision = 'reject' AND scope = $scope AND revoked_at IS NULL
          AND (until IS NULL OR until > current_timestamp::TIMESTAMP)
          AND len(list_distinct(reviewers)) < 2 AND {" AND ".join(f"{name} = ${name}" for name in fields)}
        ORDER BY rule_id DESC LIMIT 1
        """,
        {"scope": scope, **{name: verdict[name] for name in fields}},
    ).fetchall()
    return rows[0] if rows else None


def reject(
    con: duckdb.DuckDBPyConnection,
    verdict_ids: list[str],
    *,
    reviewer: str,
    reason: str,
    scope: str = "verdict",
    until: datetime | None = None,
    note: str | None = None,
) -> list[ReviewOutcome]:
    """Reject each verdict as a rule of `scope` (until `until`): that verdict, every match of its list entry,
    its URL or its host, now and in later runs. A verdict of a two-reviewer list changes only when a second,
    different reviewer rejects it with the same scope."""
    if reason not in REASONS:
        raise ReviewRefused(f"unknown reason {reason!r} (use {', '.join(REASONS)})")
    if scope not in SCOPES:
        raise ReviewRefused(f"unknown scope {scope!r} (use {', '.join(SCOPES)})")
    if until is not None and until <= store_time():
        raise ReviewRefused(f"--until {until:%Y-%m-%d %H:%M} is not in the future")
    outcomes = []
    with transaction(con):
        for verdict in _verdicts(con, verdict_ids):
            if scope == "host" and verdict["host"] is None:
                raise ReviewRefused(f"{verdict['verdict_id']} has no host (an IP literal?): use --scope url")
            action, rule_id = "reject", None
            pending = _pending_rejection(con, scope, verdict) if verdict["two_reviewers"] else None
            if pending is not None:
                rule_id, reviewers = pending
                if reviewer in reviewers:
                    raise ReviewRefused(
                        f"{verdict['verdict_id']} is on two-reviewer list {verdict['list_name']!r} and {reviewer}"
                        " already rejected it: a second, different reviewer must reject it too"
                    )
                con.execute(
                    "UPDATE review_rules SET reviewers = list_append(reviewers, ?) WHERE rule_id = ?",
                    [reviewer, rule_id],
                )
                action = "second-reject"
            else:
                rule_id = _new_rule(con, "reject", scope, verdict, reviewer, reason=reason, note=note, until=until)
            waiting = (
                "; two-reviewer list: takes effect when a second, different reviewer rejects it too"
                if verdict["two_reviewers"] and action == "reject"
                else ""
            )
            outcomes.append(
                _record(
                    con, action, verdict, scope, rule_id, reviewer=reviewer, suffix=waiting, reason=reason, note=note
                )
            )
    return outcomes


def undo(con: duckdb.DuckDBPyConnection, audit_id: int, *, reviewer: str, note: str | None = None) -> ReviewOutcome:
    """Undo the review action `audit_id` (its rule stops counting; a second rejection withdraws its reviewer).
    The log keeps both the action and the undo."""
    with transaction(con):
        rows = con.execute(
            "SELECT action, target, rule_id, reviewer, scope FROM audit_log WHERE audit_id = ?", [audit_id]
        ).fetchall()
        if not rows:
            raise ReviewRefused(f"no audit entry {audit_id} (see `linksweep review log`)")
        action, target, rule_id, by, scope = rows[0]
        if action not in UNDOABLE:
            raise ReviewRefused(f"audit entry {audit_id} is a {action}, which cannot be undone")
        undone = con.execute("SELECT audit_id FROM audit_log WHERE undoes = ?", [audit_id]).fetchall()
        if undone:
            raise ReviewRefused(f"audit entry {audit_id} was already undone by audit entry {undone[0][0]}")
        if action == "second-reject":
            con.execute(
                "UPDATE review_rules SET reviewers = list_filter(reviewers, lambda name: name <> ?) WHERE rule_id = ?",
                [by, rule_id],
            )
        else:
            con.execute(
                "UPDATE review_rules SET revoked_at = current_timestamp::TIMESTAMP WHERE rule_id = ?", [rule_id]
            )
        outcome = _record(
            con, "undo", _verdict(con, target), scope, rule_id, reviewer=reviewer, note=note, undoes=audit_id
        )
    return replace(
        outcome, message=f"undid audit entry {audit_id} ({action} of {target}): {outcome.before} -> {outcome.after}"
    )
