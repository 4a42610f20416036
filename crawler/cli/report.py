"""`linksweep report ...`: prepare hotline report bundles for a person to file by hand (nothing is ever sent), and
record in the report-once ledger what became of them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from crawler.cli.output import data_command
from pipelines.reports import (
    LEDGER_STATES,
    REPORT_PROFILES,
    BundleState,
    ledger_rows,
    load_reporter,
    mark_bundle,
    prepare_bundle,
    write_html_report,
)
from pipelines.store import open_store

HOTLINES = sorted({profile.hotline for profile in REPORT_PROFILES.values()})


@click.group(
    "report",
    help="Prepare hotline report bundles of confirmed verdicts for a person to file by hand (linksweep sends "
    "nothing), and keep the report-once ledger: filed, declined, retracted.",
)
def report_group() -> None:
    pass


@report_group.command("html")
@click.option("--snapshot", required=True, help="Snapshot the report is about.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The HTML file to write.")
@click.option("--redact", is_flag=True, help="Show hosts and URLs only as SHA-256 hashes (as redacted exports).")
@click.option("--previous", help="Snapshot to diff against (default: the one created before --snapshot).")
@click.pass_context
def html(ctx, snapshot, out, redact, previous) -> None:
    """Write one self-contained HTML page (inline SVG plots, no script, nothing loaded from the network) on the
    snapshot: verdicts by list, category and state, the trend across snapshots, the diff against the previous
    snapshot, flagged hosts, crawl outcomes, the review queue, failed files and the latest run's timings."""
    with open_store(ctx.obj["db"], read_only=True) as con:
        written = write_html_report(con, snapshot, out, redact=redact, previous=previous)
    click.echo(f"HTML report of {snapshot}: {written.resolve()}")


@report_group.command("prepare")
@click.option("--snapshot", required=True, help="Snapshot whose verdicts are reported.")
@click.option(
    "--profile",
    required=True,
    type=click.Choice(list(REPORT_PROFILES)),
    help="ncmec-xml (CyberTipline report XML), iwf-csv (a URL list) or generic-json (all evidence).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder in which the bundle's own folder (named by its id) is written.",
)
@click.option("--include-auto", is_flag=True, help="Also auto verdicts of lists marked reportable (--reportable).")
@click.option(
    "--reporter",
    "reporter_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file with a [reporter] table (email, first_name, ...); ncmec-xml needs its email.",
)
@click.option(
    "--xsd",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The hotline's XML schema: every ncmec-xml document is validated against it before anything is written.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_context
def prepare(ctx, snapshot, profile, out, include_auto, reporter_file, xsd, as_json) -> None:
    """Write a bundle of the snapshot's confirmed verdicts not yet reported to the profile's hotline (new
    evidence about a reported URL: an amendment), and record it in the ledger as prepared. Nothing is sent."""
    reporter = load_reporter(reporter_file) if reporter_file else None
    with open_store(ctx.obj["db"], create=False) as con:
        summary = prepare_bundle(
            con, snapshot, profile, out, include_auto=include_auto, reporter=reporter, xsd=xsd
        )  # fmt: skip
    click.echo(json.dumps(summary.as_dict(), sort_keys=True) if as_json else summary.line())


def _print_state(state: BundleState) -> None:
    filed_as = f" as {state.external_id}" if state.external_id else ""
    click.echo(f"bundle {state.bundle_id} ({state.hotline}, {state.items:,} items): {state.status}{filed_as}")


@report_group.command("filed")
@click.argument("bundle")
@click.option("--external-id", required=True, help="The id the hotline gave the report (e.g. a CyberTipline id).")
@click.pass_context
def filed(ctx, bundle, external_id) -> None:
    """Record that a person filed BUNDLE (its folder or its id) with its hotline: its URLs are not prepared again,
    and new evidence about them goes into an amendment."""
    with open_store(ctx.obj["db"], create=False) as con:
        _print_state(mark_bundle(con, bundle, "filed", external_id=external_id))


@report_group.command("declined")
@click.argument("bundle")
@click.option("--note", help="Why (kept with the bundle).")
@click.pass_context
def declined(ctx, bundle, note) -> None:
    """Record that BUNDLE was not filed, or that the hotline declined it: its URLs are not prepared again, new
    evidence included."""
    with open_store(ctx.obj["db"], create=False) as con:
        _print_state(mark_bundle(con, bundle, "declined", note=note))


@report_group.command("retracted")
@click.argument("bundle")
@click.option("--note", help="Why (kept with the bundle).")
@click.pass_context
def retracted(ctx, bundle, note) -> None:
    """Record that a filed BUNDLE was retracted: its URLs may be prepared again."""
    with open_store(ctx.obj["db"], create=False) as con:
        _print_state(mark_bundle(con, bundle, "retracted", note=note))


@data_command
@report_group.command("list")
@click.option("--hotline", type=click.Choice(HOTLINES), help="Only this hotline's rows.")
@click.option("--status", type=click.Choice(LEDGER_STATES), help="Only rows in this state.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as one JSON array.")
@click.pass_context
def list_ledger(ctx, hotline, status, as_json) -> None:
    """The report-once ledger, oldest first: a row per (hotline, URL, bundle) with its kind and state."""
    with open_store(ctx.obj["db"], read_only=True) as con:
        rows = ledger_rows(con, hotline=hotline, status=status)
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows], sort_keys=True))
        return
    for row in rows:
        external = row.external_id or "-"
        click.echo(f"{row.hotline}\t{row.status}\t{row.kind}\t{row.bundle_id}\t{external}\t{row.url}")
    if not rows:
        click.echo("no ledger rows", err=True)
