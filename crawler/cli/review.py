"""`linksweep review`: list and show verdicts, confirm or reject them (with a scope and an expiry), undo an
action, and read the audit log (docs/review.md)."""

from __future__ import annotations

import getpass
import json
import os
from datetime import datetime

import click

from crawler.cli.output import data_command
from pipelines.store import open_store
from pipelines.verdicts import (
    CONFIRM_SCOPES,
    REASONS,
    SCOPES,
    STATES,
    audit_entries,
    confirm,
    list_verdicts,
    reject,
    show_verdict,
    undo,
)

REVIEWER_HELP = "Who decides (default: the login name, or $LINKSWEEP_REVIEWER)."


def _reviewer(name: str | None) -> str:
    if name:
        return name
    try:
        return os.environ.get("LINKSWEEP_REVIEWER") or getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        raise click.UsageError("cannot tell who you are: give --reviewer NAME") from None


def _json(value) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def reviewer_option(function):
    return click.option("--reviewer", default=None, help=REVIEWER_HELP)(function)


def json_option(function):
    return click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")(function)


@click.group("review")
def review_group() -> None:
    """Review verdicts: what a list flagged, confirmed or rejected by a person, every action logged."""


@review_group.command("list")
@click.option("--snapshot", default=None, help="Only this snapshot.")
@click.option("--state", type=click.Choice(STATES), default=None, help="Only verdicts in this state.")
@click.option("--list", "list_name", default=None, help="Only verdicts of this list (or hash service).")
@click.option("--host", default=None, help="Only verdicts of URLs on this host (exact).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="Verdicts shown.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many first.")
@json_option
@click.pass_context
def list_command(ctx, snapshot, state, list_name, host, limit, offset, as_json) -> None:
    """Verdicts, in a stable order (snapshot, list, entry, URL), with how many the filters select."""
    with open_store(ctx.obj["db"], read_only=True) as con:
        page = list_verdicts(
            con, snapshot=snapshot, state=state, list_name=list_name, host=host, limit=limit, offset=offset
        )
    if as_json:
        click.echo(_json({"total": page.total, "offset": offset, "verdicts": page.rows}))
        return
    for row in page.rows:
        click.echo(
            f"{row['verdict_id']}  {row['state']:<14} {row['list_name']}@v{row['list_version']}"
            f"  {row['entry']}  {row['detected_via']}  {row['url']}"
        )
    shown = f"{offset + 1:,}-{offset + len(page.rows):,} of " if page.rows else ""
    click.echo(f"{shown}{page.total:,} verdicts")


@review_group.command("show")
@click.argument("verdict_id")
@json_option
@click.pass_context
def show_command(ctx, verdict_id, as_json) -> None:
    """One verdict: what flagged it, the evidence, the rule behind its state and its history."""
    with open_store(ctx.obj["db"], read_only=True) as con:
        verdict = show_verdict(con, verdict_id)
    if as_json:
        click.echo(_json(verdict))
        return
    history = verdict.pop("history")
    rule = verdict.pop("rule")
    for name, value in verdict.items():
        shown = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value
        click.echo(f"{name}: {shown}")
    if rule:
        click.echo(
            f"rule {rule['rule_id']}: {rule['decision']} by {', '.join(rule['reviewers'])} (scope {rule['scope']}"
            f"{', until ' + str(rule['until']) if rule['until'] else ''})"
        )
    for entry in reversed(history):
        click.echo(
            f"audit {entry['audit_id']} {entry['acted_at']:%Y-%m-%d %H:%M:%S} {entry['reviewer']}: {entry['action']}"
            f" {entry['before_state'] or ''} -> {entry['after_state'] or ''}"
            f"{' (' + entry['reason'] + ')' if entry['reason'] else ''}{': ' + entry['note'] if entry['note'] else ''}"
        )


def _report(outcomes, as_json: bool) -> None:
    if as_json:
        click.echo(_json([outcome.__dict__ for outcome in outcomes]))
        return
    for outcome in outcomes:
        click.echo(f"audit {outcome.audit_id}: {outcome.action} {outcome.message}")


@review_group.command("confirm")
@click.argument("verdict_ids", nargs=-1, required=True)
@click.option(
    "--scope",
    type=click.Choice(CONFIRM_SCOPES),
    default="verdict",
    show_default=True,
    help="entry: every verdict of the list entry (releases a quarantined entry).",
)
@click.option("--note", default=None, help="Why, for the audit log.")
@reviewer_option
@json_option
@click.pass_context
def confirm_command(ctx, verdict_ids, scope, note, reviewer, as_json) -> None:
    """Confirm verdicts: they stay in removal lists and may go into hotline reports."""
    with open_store(ctx.obj["db"], create=False) as con:
        outcomes = confirm(con, list(verdict_ids), reviewer=_reviewer(reviewer), note=note, scope=scope)
    _report(outcomes, as_json)


@review_group.command("reject")
@click.argument("verdict_ids", nargs=-1, required=True)
@click.option("--reason", type=click.Choice(REASONS), required=True, help="Why the verdict is wrong.")
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default="verdict",
    show_default=True,
    help="What the rejection covers, now and in later runs: the verdict, its list entry, its URL or its host.",
)
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    default=None,
    help="The rule lapses then (a date or date and time, in the store's time).",
)
@click.option("--note", default=None, help="Details, for the audit log.")
@reviewer_option
@json_option
@click.pass_context
def reject_command(ctx, verdict_ids, reason, scope, until: datetime | None, note, reviewer, as_json) -> None:
    """Reject verdicts as false positives: they leave removal lists and reports (the named ones become
    false_positive, the others the scope covers suppressed). On a two-reviewer list it takes a second reviewer."""
    with open_store(ctx.obj["db"], create=False) as con:
        outcomes = reject(
            con, list(verdict_ids), reviewer=_reviewer(reviewer), reason=reason, scope=scope, until=until, note=note
        )
    _report(outcomes, as_json)


@review_group.command("undo")
@click.argument("audit_id", type=int)
@click.option("--note", default=None, help="Why, for the audit log.")
@reviewer_option
@json_option
@click.pass_context
def undo_command(ctx, audit_id, note, reviewer, as_json) -> None:
    """Undo a confirm or reject (by its audit id): its rule stops counting; the log keeps both."""
    with open_store(ctx.obj["db"], create=False) as con:
        outcome = undo(con, audit_id, reviewer=_reviewer(reviewer), note=note)
    _report([outcome], as_json)


@review_group.command("log")
@click.option("--verdict", "target", default=None, help="Only the actions on this verdict.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="Entries shown.")
@json_option
@click.pass_context
def log_command(ctx, target, limit, as_json) -> None:
    """The audit log, newest first: who did what to which verdict, when and why."""
    with open_store(ctx.obj["db"], read_only=True) as con:
        entries = audit_entries(con, target=target, limit=limit)
    if as_json:
        click.echo(_json(entries))
        return
    for entry in entries:
        click.echo(
            f"{entry['audit_id']}  {entry['acted_at']:%Y-%m-%d %H:%M:%S}  {entry['reviewer']}  {entry['action']}"
            f"  {entry['target']}  {entry['scope'] or ''}"
            f"  {entry['before_state'] or ''} -> {entry['after_state'] or ''}"
            f"{'  undoes ' + str(entry['undoes']) if entry['undoes'] else ''}"
            f"{'  ' + entry['reason'] if entry['reason'] else ''}{'  ' + entry['note'] if entry['note'] else ''}"
        )


for _command in (list_command, show_command, log_command):  # their output is what was asked for: -q keeps it
    data_command(_command)
