"""`linksweep demo`: the run of the bundled sample's config (data/sample/linksweep.toml)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from crawler.cli.errors import ExitCode, exit_with, fail
from crawler.cli.output import verbosity
from crawler.cli.run import run_paths
from crawler.run import run_config

SAMPLE_DIR = Path("data/sample")
SAMPLE_CONFIG = "linksweep.toml"


@click.command()
@click.option(
    "--sample-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=SAMPLE_DIR,
    show_default=True,
    help="The sample: linksweep.toml, corpus/ and lists/.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the removal list goes (default: the config's, data/out/sample-removals.csv).",
)
@click.pass_context
def demo(ctx, sample_dir, out) -> None:
    """Run the whole job on the bundled sample: `linksweep run` of its config (lists, ingest, match, export,
    report)."""
    config_path = sample_dir / SAMPLE_CONFIG
    if not config_path.is_file():
        fail(f"sample data not found under {sample_dir} (run from the repository root)", ExitCode.USAGE)
    config, db = run_paths(ctx, config_path, None)
    if out is not None:
        config = replace(config, exports=(replace(config.exports[0], path=str(out.resolve())), *config.exports[1:]))
    echo = (lambda line: None) if verbosity(ctx) < 0 else click.echo
    result = run_config(config, db, echo=echo)
    click.echo(f"removal list: {config.resolve(config.exports[0].path).resolve()}")
    exit_with(result.exit_code)
