"""The `linksweep` group: the options before any command, the one place user errors become exit codes, and the
registration of every command (a command is a module of crawler/cli/ and a line here)."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.crawl import crawl
from crawler.cli.demo import demo
from crawler.cli.errors import USER_ERRORS, exit_code_for, fail
from crawler.cli.export import export
from crawler.cli.hashlists import hashlist_group
from crawler.cli.ingest import ingest
from crawler.cli.lists import list_group
from crawler.cli.match import match
from crawler.cli.output import add_verbosity_options, data_command, version_text
from crawler.cli.sql import sql
from crawler.cli.status import status
from pipelines.store import DB_ENVIRONMENT_VARIABLE, resolve_db_path


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit()


class LinksweepGroup(click.Group):
    """The `linksweep` group: a user error raised by any command (crawler/cli/errors.py) ends as one line on
    stderr and the exit code of its condition, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as error:
            fail(str(error), exit_code_for(error))


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


main.add_command(ingest)
main.add_command(list_group("block"))
main.add_command(list_group("allow"))
main.add_command(list_group("watch"))  # lists that select links (e.g. URL shorteners for --only-hosts-in)
main.add_command(hashlist_group())
main.add_command(match)
main.add_command(crawl)
main.add_command(export)
main.add_command(data_command(status))
main.add_command(data_command(sql))
main.add_command(demo)

add_verbosity_options(main)


def run() -> None:
    """Entry point (the `linksweep` script)."""
    main()
