"""What a command prints: `-q/--quiet` and `-v/--verbose` on every command, and `--version`.

The verbosity is kept in the root context's object (`ctx.obj["verbosity"]`: -1 quiet, 0 normal, 1 or more
verbose) whether given before the command (`linksweep -q ingest ...`) or after it (`linksweep ingest -q ...`).
Quiet: a command prints no summary or progress, only its errors and warnings (stderr); the commands that
print data as their result (`status`, `sql`, `... list`, `... show`) still print it. Verbose: the details a
command has (ingest: a line per file; status: every file).
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import sys
from importlib import metadata

import click

_DATA_COMMANDS: set[int] = set()


def version_text() -> str:
    try:
        version = metadata.version("linksweep")
    except metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    try:
        duckdb_version = metadata.version("duckdb")
    except metadata.PackageNotFoundError:
        duckdb_version = "unknown"
    return f"linksweep {version} (duckdb {duckdb_version}, Python {platform.python_version()})"


def verbosity(ctx: click.Context | None = None) -> int:
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is None or not isinstance(ctx.find_root().obj, dict):
        return 0
    return ctx.find_root().obj.get("verbosity", 0)


def data_command(command: click.Command) -> click.Command:
    """Mark `command` as one whose stdout is its result: -q keeps it."""
    _DATA_COMMANDS.add(id(command))
    return command


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if not value:
        return
    root = ctx.find_root()
    root.ensure_object(dict)
    root.obj["verbosity"] = -1 if param.name == "quiet" else value


def _declares(command: click.Command, *options: str) -> bool:
    return any(option in param.opts for param in command.params for option in options)


def _quiet_when_asked(command: click.Command) -> None:
    """Run the command with stdout discarded under -q, unless its stdout is its result."""
    callback = command.callback
    if callback is None or id(command) in _DATA_COMMANDS:
        return

    @functools.wraps(callback)
    def run(*args, **kwargs):
        if verbosity() >= 0:
            return callback(*args, **kwargs)
        with open(os.devnull, "w") as discard, contextlib.redirect_stdout(discard):
            try:
                return callback(*args, **kwargs)
            finally:
                sys.stdout.flush()

    command.callback = run


def add_verbosity_options(command: click.Command) -> None:
    """Give `command` and every command under it -q/--quiet and -v/--verbose (where it has none of its own)."""
    if not _declares(command, "-q", "--quiet"):
        command.params.append(
            click.Option(
                ["-q", "--quiet"],
                is_flag=True,
                expose_value=False,
                is_eager=True,
                callback=_set_verbosity,
                help="Print only errors and warnings (and the data a command is asked for).",
            )
        )
        if not isinstance(command, click.Group):
            _quiet_when_asked(command)
    if not _declares(command, "-v", "--verbose"):
        command.params.append(
            click.Option(
                ["-v", "--verbose"],
                count=True,
                expose_value=False,
                is_eager=True,
                callback=_set_verbosity,
                help="Print more detail (repeatable).",
            )
        )
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            add_verbosity_options(subcommand)
