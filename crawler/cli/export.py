"""`linksweep export`: write a snapshot's removal list."""

from __future__ import annotations

import os
from pathlib import Path

import click

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
@click.pass_context
def export(ctx, snapshot, out, redact, hmac_key_env) -> None:
    """Write the removal list (drop_document / strip_link rows with their evidence).

    CSV cells that a spreadsheet would run as a formula get a leading ' (docs/cli.md); Parquet and JSON lines
    keep the exact values. FILE.manifest.json beside it says what the list was made from and holds its sha256
    (`linksweep verify-export FILE`).
    """
    redaction = Redaction.from_environment(dict(os.environ), hmac_key_env) if redact or hmac_key_env else None
    rows = export_snapshot(ctx.obj["db"], snapshot, out, redaction)
    click.echo(f"wrote {rows:,} removals of snapshot {snapshot} to {out} (manifest: {manifest_path(out)})")
