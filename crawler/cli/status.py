"""`linksweep status`: what the database holds, and what is left to do."""

from __future__ import annotations

import click

from crawler.cli.output import verbosity
from pipelines.crawl import complete_batches, crawl_staging
from pipelines.store import open_store, store_status


@click.command()
@click.option("--snapshot", default=None, help="Only this snapshot (default: all).")
@click.pass_context
def status(ctx, snapshot) -> None:
    """What each snapshot holds, and every file that failed or stopped early, with its error (-v: every file)."""
    db = ctx.obj["db"]
    with open_store(db, read_only=True) as con:
        report = store_status(con, snapshot, every_file=verbosity(ctx) > 0)
        print(report.snapshots)  # a relation: read while the store is open
    for source in report.sources:
        if source.status == "done":
            click.echo(f"{source.snapshot}: {source.path}: done")
        else:
            click.echo(
                f"{source.snapshot}: {source.path}: {source.status}: {source.error or 'not finished (rerun ingest)'}"
            )
    for listed in report.lists:
        click.echo(
            f"{listed.kind} {listed.name}: version {listed.version}, {listed.accepted:,} entries, "
            f"{listed.list_format}: {listed.state}"
        )
    for name, states in report.verdicts.items():
        counts = ", ".join(f"{count:,} {state}" for state, count in states.items())
        waiting = (
            f"; review them: `linksweep review list --snapshot {name} --state needs_review`"
            if states.get("needs_review")
            else ""
        )
        click.echo(f"verdicts of {name}: {counts}{waiting}")
    if report.crawl is not None:
        outcomes = ", ".join(f"{count:,} {outcome}" for outcome, count in report.crawl.outcomes)
        click.echo(
            f"crawl results: {outcomes} (last {report.crawl.last:%Y-%m-%d %H:%M}); "
            f"{report.crawl.unchecked:,} links with unchecked content"
        )
    staged = complete_batches(crawl_staging(db))
    if staged:
        click.echo(f"{len(staged)} crawl result batches staged, merged by the next crawl or merge")
