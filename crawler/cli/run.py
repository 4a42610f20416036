"""`linksweep run --config FILE`: the whole job of a config, stage by stage (docs/run.md)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click
from click.core import ParameterSource

from crawler.cli.errors import exit_with
from crawler.cli.output import verbosity
from crawler.run import STAGES, load_config, run_config

STAGES_HELP = f"Only these stages, comma-separated (in order: {', '.join(STAGES)})."


def run_paths(ctx: click.Context, config_path: Path, snapshot: str | None):
    """The config with command-line overrides, and the store: `--db` when given on the command line, else the
    config's [store] db (relative to the config file), else linksweep's default."""
    config = load_config(config_path)
    if snapshot:
        config = replace(config, snapshot=snapshot)
    root = ctx.find_root()
    given = root.get_parameter_source("db") not in (ParameterSource.DEFAULT, None)
    db = ctx.obj["db"] if given or not config.db else config.resolve(config.db)
    return config, Path(db)


@click.command("run")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The run config (TOML; docs/run.md).",
)
@click.option("--stages", default=None, help=STAGES_HELP)
@click.option("--until", type=click.Choice(STAGES), default=None, help="Run the stages up to this one, included.")
@click.option("--snapshot", default=None, help="The snapshot, instead of the config's [snapshot] name.")
@click.option("--json", "as_json", is_flag=True, help="One JSON summary on stdout (stage lines go to stderr).")
@click.pass_context
def run(ctx, config_path, stages, until, snapshot, as_json) -> None:
    """Run the job a config declares: lists, ingest, match, crawl, exports, bundles, HTML report.

    Each stage is recorded (`linksweep runs`); a run killed at any point resumes at its first unfinished
    stage when started again with the same config. Exits with the code of the stages together: 10 when
    verdicts wait for review, 20 when items are unchecked, 1 when an input failed (docs/cli.md).
    """
    config, db = run_paths(ctx, config_path, snapshot)
    selected = [name.strip() for name in stages.split(",") if name.strip()] if stages else None
    quiet = verbosity(ctx) < 0

    def echo(line: str) -> None:
        if not quiet:
            click.echo(line, err=as_json)

    result = run_config(config, db, selected, until, echo=echo)
    if as_json:
        click.echo(json.dumps({**result.as_dict(), "db": str(db), "snapshot": config.snapshot}, default=str))
    else:
        echo(f"run {result.run_id}: exit code {int(result.exit_code)}")
    exit_with(result.exit_code)
