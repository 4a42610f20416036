"""`linksweep match`: flag what the lists match in a snapshot."""

from __future__ import annotations

import click

from pipelines.matching import match_snapshot
from pipelines.store import open_store


@click.command()
@click.option("--snapshot", required=True, help="Snapshot to match (as given to ingest).")
@click.pass_context
def match(ctx, snapshot) -> None:
    """Flag the snapshot's documents and links that a blocklist entry matches (and no allowlist entry).

    Each unique URL is matched once; a rerun matches only files not matched yet and the changes of lists
    that have a new version.
    """
    with open_store(ctx.obj["db"], create=False) as con:
        summary = match_snapshot(con, snapshot)
    click.echo(summary.line())
