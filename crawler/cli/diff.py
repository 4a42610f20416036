"""`linksweep diff`: the flagged URLs and hosts new, persisting and gone between two snapshots."""

from __future__ import annotations

import json

import click

from pipelines.store import open_store
from pipelines.verdicts import CHANGES, diff_snapshots


@click.command("diff")
@click.option("--from", "from_snapshot", required=True, help="The earlier snapshot.")
@click.option("--to", "to_snapshot", required=True, help="The later snapshot.")
@click.option("--json", "as_json", is_flag=True, help="Print the diff as one JSON object.")
@click.option(
    "--limit", type=click.IntRange(min=0), default=20, show_default=True, help="URLs and hosts shown of each set."
)
@click.pass_context
def diff(ctx, from_snapshot, to_snapshot, as_json, limit) -> None:
    """Flagged URLs and hosts (verdicts in exported states: auto, confirmed) new in --to, persisting, and gone
    since --from: counts over all lists and per list and category, and the first URLs and hosts of each set."""
    with open_store(ctx.obj["db"], read_only=True) as con:
        found = diff_snapshots(con, from_snapshot, to_snapshot, limit=limit)
    if as_json:
        click.echo(json.dumps(found.as_dict(), sort_keys=True))
        return
    totals = found.totals
    click.echo(
        f"{from_snapshot} -> {to_snapshot}: URLs {totals.new_urls:,} new, {totals.persisting_urls:,} persisting, "
        f"{totals.gone_urls:,} gone; hosts {totals.new_hosts:,} new, {totals.persisting_hosts:,} persisting, "
        f"{totals.gone_hosts:,} gone"
    )
    click.echo("list\tcategory\tnew urls\tpersisting urls\tgone urls\tnew hosts\tpersisting hosts\tgone hosts")
    for changed in found.lists:
        counts = changed.counts
        numbers = (
            counts.new_urls,
            counts.persisting_urls,
            counts.gone_urls,
            counts.new_hosts,
            counts.persisting_hosts,
            counts.gone_hosts,
        )
        click.echo("\t".join([changed.list_name, changed.category or "-", *(f"{n}" for n in numbers)]))
    for kind, sets in (("URLs", found.urls), ("hosts", found.hosts)):
        for change in CHANGES:
            total = getattr(totals, f"{change}_{kind.lower()}")
            if sets[change]:
                shown = f" (first {len(sets[change]):,})" if len(sets[change]) < total else ""
                click.echo(f"{change} {kind}{shown}:")
                for item in sets[change]:
                    click.echo(f"  {item}")
