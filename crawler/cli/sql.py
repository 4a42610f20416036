"""`linksweep sql`: a read-only query on the database."""

from __future__ import annotations

import click

from pipelines.export import QUERY_FORMATS, print_query


@click.command()
@click.argument("query")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(QUERY_FORMATS),
    default="table",
    show_default=True,
    help="table: DuckDB's; csv: spreadsheet-safe, as in `export`; jsonl: one JSON object a row, exact values.",
)
@click.option("--max-rows", type=int, default=40, show_default=True, help="Rows shown in table format.")
@click.pass_context
def sql(ctx, query, output_format, max_rows) -> None:
    """Run a read-only SQL query on the database (see docs/schema.md for the tables).

    The query sees the database only: no file or URL can be read or written, no extension installed or loaded
    (docs/cli.md). CSV output is spreadsheet-safe, as in `export`.
    """
    print_query(ctx.obj["db"], query, output_format, max_rows=max_rows)
