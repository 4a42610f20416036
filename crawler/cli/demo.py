"""`linksweep demo`: the whole job on the bundled sample, as the commands themselves run it."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.errors import ExitCode, fail
from crawler.cli.export import export
from crawler.cli.ingest import ingest
from crawler.cli.match import match
from pipelines.lists import DEFAULT_MAX_BYTES

SAMPLE_DIR = Path("data/sample")
SAMPLE_SNAPSHOT = "SAMPLE-2026-01"


@click.command()
@click.option(
    "--sample-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=SAMPLE_DIR,
    show_default=True,
    help="The sample: corpus/ and lists/sample-blocklist.txt.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("data/out/sample-removals.csv"),
    show_default=True,
    help="Where the removal list goes.",
)
@click.pass_context
def demo(ctx, sample_dir, out) -> None:
    """Run the whole job on the bundled sample: ingest, load the sample list, match, export."""
    corpus, sample_list = sample_dir / "corpus", sample_dir / "lists" / "sample-blocklist.txt"
    if not corpus.is_dir() or not sample_list.is_file():
        fail(f"sample data not found under {sample_dir} (run from the repository root)", ExitCode.USAGE)
    root = ctx.find_root()
    blocklist_add = root.command.get_command(root, "blocklist").commands["add"]
    ctx.invoke(
        ingest, snapshot=SAMPLE_SNAPSHOT, workers=None, force=False, url_column=None, progress=None, paths=(corpus,)
    )
    ctx.invoke(
        blocklist_add,
        name="sample-blocklist",
        source=str(sample_list),
        list_format="domains",
        category="sample-harm",
        subdomains=False,
        column=None,
        auth_env=None,
        max_bytes=DEFAULT_MAX_BYTES,
    )
    ctx.invoke(match, snapshot=SAMPLE_SNAPSHOT)
    ctx.invoke(export, snapshot=SAMPLE_SNAPSHOT, out=out)
    click.echo(f"removal list: {out.resolve()}")
