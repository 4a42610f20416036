"""`linksweep verify-export FILE`: does a removal list still agree with its manifest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from crawler.cli.errors import ExitCode
from pipelines.export import manifest_path, verify_export


@click.command("verify-export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the file, its manifest and the problems.")
def verify_export_command(file: Path, as_json: bool) -> None:
    """Check FILE against FILE.manifest.json: exit 0 when they agree, 1 naming what differs (a changed byte of
    either, a missing or foreign manifest)."""
    problems = verify_export(file)
    if as_json:
        click.echo(json.dumps({"file": str(file), "manifest": str(manifest_path(file)), "problems": problems}))
    elif problems:
        for problem in problems:
            click.echo(f"linksweep: {problem}", err=True)
    else:
        click.echo(f"{file}: agrees with {manifest_path(file)}")
    if problems:
        sys.exit(ExitCode.INPUTS_FAILED)
