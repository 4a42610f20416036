"""`linksweep match`: flag what the lists match in a snapshot, and derive its verdicts."""

from __future__ import annotations

import click

from crawler.cli.engine_options import engine_options
from crawler.cli.errors import ExitCode, exit_with
from crawler.engines import match_engine
from pipelines.matching import match_snapshot
from pipelines.store import open_store
from pipelines.verdicts import DEFAULT_FLOOD_FACTOR, DEFAULT_FLOOD_URLS, FloodPolicy


@click.command()
@click.option("--snapshot", required=True, help="Snapshot to match (as given to ingest).")
@click.option(
    "--flood-urls",
    type=click.IntRange(min=1),
    default=DEFAULT_FLOOD_URLS,
    show_default=True,
    help="A list entry flagging more distinct URLs than this sends its new verdicts to review.",
)
@click.option(
    "--flood-factor",
    type=click.FloatRange(min=1),
    default=DEFAULT_FLOOD_FACTOR,
    show_default=True,
    help="...or, for an entry counted before, more than this many times its last count (and --flood-urls).",
)
@engine_options
@click.pass_context
def match(ctx, snapshot, flood_urls, flood_factor, engine, ray_address) -> None:
    """Flag the snapshot's documents and links that a blocklist entry matches (and no allowlist entry), and
    derive its verdicts (docs/review.md).

    Each unique URL is matched once; a rerun matches only files not matched yet and the changes of lists
    that have a new version. Exits 10 when verdicts wait for review (a flooding entry was quarantined).

    --engine ray matches the URLs in shards on the cluster's workers (docs/scale.md); local matches them here.
    """
    runner = match_engine(engine, ray_address)
    try:
        with open_store(ctx.obj["db"], create=False) as con:
            summary = match_snapshot(con, snapshot, FloodPolicy(flood_urls, flood_factor), runner)
    finally:
        if runner is not None:
            runner.close()
    click.echo(summary.line())
    for line in summary.verdicts.lines():
        click.echo(line)
    exit_with(ExitCode.REVIEW_NEEDED if summary.verdicts.awaiting_review else ExitCode.OK)
