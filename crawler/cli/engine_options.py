"""`--engine local|ray` and `--ray-address`, shared by the commands that run units of work."""

from __future__ import annotations

import os

import click

from crawler.engines import ENGINE_NAMES

ENGINE_VARIABLE = "LINKSWEEP_ENGINE"


def engine_options(command):
    """Add --engine (default: $LINKSWEEP_ENGINE, else local) and --ray-address to a click command."""
    command = click.option(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="--engine ray: the cluster to join (default: $RAY_ADDRESS, else a cluster started for this run).",
    )(command)
    command = click.option(
        "--engine",
        type=click.Choice(ENGINE_NAMES),
        default=lambda: os.environ.get(ENGINE_VARIABLE, "local"),
        show_default="local, or $LINKSWEEP_ENGINE",
        help="Who runs the units of work: a process pool here, or Ray tasks (pip install 'linksweep[ray]').",
    )(command)
    return command
