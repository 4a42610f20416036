"""`linksweep runs list|show ID`: the history of `linksweep run` on a store."""

from __future__ import annotations

import json

import click

from crawler.cli.output import data_command
from pipelines.store import open_store

RUN_COLUMNS = (
    "run_id",
    "snapshot",
    "status",
    "exit_code",
    "started_at",
    "finished_at",
    "config_path",
    "config_sha256",
    "tool_version",
    "pid",
    "hostname",
)
STAGE_COLUMNS = ("stage", "status", "exit_code", "seconds", "counts", "error", "started_at", "finished_at")


@click.group("runs")
def runs_group() -> None:
    """The history of `linksweep run`: each run, its stages, their counts, timings and outcomes."""


@runs_group.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Runs shown, newest first.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@click.pass_context
def list_runs(ctx, limit, as_json) -> None:
    """Every run, newest first: id, snapshot, status, exit code, start and end."""
    with open_store(ctx.obj["db"], read_only=True) as con:
        rows = con.execute(
            f"SELECT {', '.join(RUN_COLUMNS)} FROM runs ORDER BY run_id DESC LIMIT ?", [limit]
        ).fetchall()
    runs = [dict(zip(RUN_COLUMNS, row, strict=True)) for row in rows]
    if as_json:
        click.echo(json.dumps(runs, default=str))
        return
    for run in runs:
        ended = f"{run['finished_at']:%Y-%m-%d %H:%M:%S}" if run["finished_at"] else "-"
        code = "" if run["exit_code"] is None else f" exit {run['exit_code']}"
        click.echo(
            f"{run['run_id']}  {run['snapshot']}  {run['status']}{code}  {run['started_at']:%Y-%m-%d %H:%M:%S}"
            f" -> {ended}  {run['config_path']}"
        )


@runs_group.command("show")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@click.pass_context
def show_run(ctx, run_id, as_json) -> None:
    """One run: its config, versions, inputs, and each stage with its counts, timing and outcome."""
    with open_store(ctx.obj["db"], read_only=True) as con:
        rows = con.execute(
            f"SELECT {', '.join(RUN_COLUMNS)}, list_versions, inputs FROM runs WHERE run_id = ?", [run_id]
        ).fetchall()
        if not rows:
            raise click.UsageError(f"no run {run_id} (see `linksweep runs list`)")
        stages = con.execute(
            f"SELECT {', '.join(STAGE_COLUMNS)} FROM run_stages WHERE run_id = ? ORDER BY started_at", [run_id]
        ).fetchall()
    run = dict(zip((*RUN_COLUMNS, "list_versions", "inputs"), rows[0], strict=True))
    for name in ("list_versions", "inputs"):
        run[name] = json.loads(run[name]) if run[name] else None
    run["stages"] = [dict(zip(STAGE_COLUMNS, row, strict=True)) for row in stages]
    for stage in run["stages"]:
        stage["counts"] = json.loads(stage["counts"]) if stage["counts"] else None
    if as_json:
        click.echo(json.dumps(run, default=str))
        return
    for name in (*RUN_COLUMNS, "list_versions", "inputs"):
        click.echo(f"{name}: {run[name]}")
    for stage in run["stages"]:
        seconds = f"{stage['seconds']:.1f} s" if stage["seconds"] is not None else "-"
        code = "" if stage["exit_code"] is None else f" exit {stage['exit_code']}"
        error = f"  {stage['error']}" if stage["error"] else ""
        click.echo(f"  {stage['stage']}: {stage['status']}{code}, {seconds}, {json.dumps(stage['counts'])}{error}")


data_command(list_runs)
data_command(show_run)
