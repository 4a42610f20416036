"""`linksweep export`: write a snapshot's removal list."""

from __future__ import annotations

import os
from pathlib import Path

import click

from crawler.cli.errors import ExitCode, exit_with
from pipelines.export import Redaction, export_snapshot, manifest_path

HMAC_HELP = "Also HMAC-SHA-256 hashes under the key in environment variable VAR (implies --redact)."


@click.command()
@click.option("--snapshot", required=True, help="Snapshot whose removals are written.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file: .csv, .parquet or .jsonl.",
)
@click.option("--redact", is_flag=True, help="No URL in clear: SHA-256 hashes of their lookup expressions instead.")
@click.option("--hmac-key-env", metavar="VAR", help=HMAC_HELP)
@click.option("--include-review", is_flag=True, help="Also the verdicts that wait for review (needs_review).")
@click.pass_context
def export(ctx, snapshot, out, redact, hmac_key_env, include_review) -> None:
    """Write the removal list (drop_document / strip_link rows with their evidence).

    CSV cells that a spreadsheet would run as a formula get a leading ' (docs/cli.md); Parquet and JSON lines
    keep the exact values. FILE.manifest.json beside it says what the list was made from and holds its sha256
    (`linksweep verify-export FILE`). The list holds the auto and confirmed verdicts (docs/review.md); exits
    10 when verdicts that wait for review were left out.
    """
    redaction = Redaction.asked_for(redact, hmac_key_env, dict(os.environ))
    result = export_snapshot(ctx.obj["db"], snapshot, out, redaction, include_review)
    click.echo(f"wrote {result.rows:,} removals of snapshot {snapshot} to {out} (manifest: {manifest_path(out)})")
    if result.awaiting_review:
        click.echo(
            f"{result.awaiting_review:,} verdicts wait for review and are not in the list: `linksweep review list"
            f" --snapshot {snapshot} --state needs_review` (or export --include-review)"
        )
    exit_with(ExitCode.REVIEW_NEEDED if result.awaiting_review else ExitCode.OK)
