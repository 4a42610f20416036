"""The `linksweep` group: the options before any command, the one place user errors become exit codes, and the
registration of every command (a command is a module of crawler/cli/ and a line of COMMANDS)."""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from crawler.cli.errors import exit_code_for, fail
from crawler.cli.output import add_verbosity_options, data_command, version_text
from pipelines.store import DB_ENVIRONMENT_VARIABLE, resolve_db_path

# name -> (module, attribute, arguments of the factory the attribute is, or None when it is the command): a
# command's module, and the libraries it uses, are imported when it runs (or when --help lists it), so that
# each command pays only for its own imports
COMMANDS: dict[str, tuple[str, str, tuple | None]] = {
    "ingest": ("crawler.cli.ingest", "ingest", None),
    "blocklist": ("crawler.cli.lists", "list_group", ("block",)),
    "allowlist": ("crawler.cli.lists", "list_group", ("allow",)),
    "watchlist": ("crawler.cli.lists", "list_group", ("watch",)),  # lists that select links (--only-hosts-in)
    "hashlist": ("crawler.cli.hashlists", "hashlist_group", ()),
    "match": ("crawler.cli.match", "match", None),
    "crawl": ("crawler.cli.crawl", "crawl", None),
    "export": ("crawler.cli.export", "export", None),
    "status": ("crawler.cli.status", "status", None),
    "sql": ("crawler.cli.sql", "sql", None),
    "demo": ("crawler.cli.demo", "demo", None),
    "verify-export": ("crawler.cli.verify_export", "verify_export_command", None),
    "review": ("crawler.cli.review", "review_group", None),
    "run": ("crawler.cli.run", "run", None),
    "runs": ("crawler.cli.runs", "runs_group", None),
    "report": ("crawler.cli.report", "report_group", None),
    "diff": ("crawler.cli.diff", "diff", None),
}
# commands whose output is the data asked for: -q keeps it (crawler/cli/output.py)
DATA_COMMANDS = {"status", "sql", "diff"}


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit()


class LinksweepGroup(click.Group):
    """The `linksweep` group: its commands are loaded from COMMANDS when asked for, and a user error raised by
    any of them (crawler/cli/errors.py) ends as one line on stderr and the exit code of its condition, never a
    traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            module, attribute, arguments = COMMANDS[name]
            command = getattr(importlib.import_module(module), attribute)
            command = command(*arguments) if arguments is not None else command
            if name in DATA_COMMANDS:
                command = data_command(command)
            add_verbosity_options(command)
            self.add_command(command, name)
        return self.commands.get(name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            code = exit_code_for(error)
            if code is None:
                raise
            fail(str(error), code)


@click.group(cls=LinksweepGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    "-V",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the versions of linksweep, DuckDB and Python, and exit.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"DuckDB database (default: ${DB_ENVIRONMENT_VARIABLE} or data/linksweep.duckdb).",
)
@click.pass_context
def main(ctx: click.Context, db: Path | None) -> None:
    """Find links to harmful sites in web corpora, and list what to strip."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = resolve_db_path(db)


add_verbosity_options(main)


def run() -> None:
    """Entry point (the `linksweep` script)."""
    main()
