"""`linksweep ingest`: record the documents and links of corpus files."""

from __future__ import annotations

import json
import sys

import click

from crawler.cli.engine_options import engine_options
from crawler.cli.errors import ExitCode
from crawler.cli.output import verbosity
from crawler.ingest import DEFAULT_CC_BASE_URL, RemoteOptions
from crawler.ingest import ingest as ingest_files
from pipelines.store import open_store, sources_finished_since, store_time


@click.command()
@click.option("--snapshot", required=True, help="Snapshot name the files belong to (e.g. CC-MAIN-2024-22).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Parallel processes (default: all cores).")
@click.option("--force", is_flag=True, help="Re-read files already ingested for this snapshot.")
@click.option("--url-column", default=None, help="URL column of Parquet/CSV/JSONL tables (default: url, URL, ...).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option(
    "--include", multiple=True, metavar="PATTERN", help="Only files of folders whose path matches (repeatable)."
)
@click.option("--exclude", multiple=True, metavar="PATTERN", help="Leave out files of folders that match (repeatable).")
@click.option("--sample", type=click.IntRange(min=1), default=None, help="cc: sources: this many files, sampled.")
@click.option("--seed", type=int, default=0, show_default=True, help="cc: sources: the sample's seed.")
@click.option(
    "--cc-base-url", default=DEFAULT_CC_BASE_URL, show_default=True, help="Where cc: sources' crawl-data/ lives."
)
@click.option("--allow-http", is_flag=True, help="Accept plain http:// sources beyond loopback addresses.")
@click.option(
    "--allow-network",
    multiple=True,
    metavar="CIDR",
    help="Open a network the address policy refuses (loopback, private) to sources (repeatable).",
)
@click.option(
    "--s3-endpoint-url",
    default=None,
    metavar="URL",
    help="s3:// sources: the S3 endpoint (default: AWS_ENDPOINT_URL, else AWS).",
)
@click.option(
    "--rate", type=click.FloatRange(min=0, min_open=True), default=2.0, show_default=True, help="Requests/s per host."
)
@click.option(
    "--url-buckets",
    type=click.IntRange(min=1, max=4096),
    default=None,
    help="Buckets of a new store's URL index: its fold's units (default 16; fixed once it holds URLs).",
)
@click.option("--json", "as_json", is_flag=True, help="The summary as one JSON object (no progress bar).")
@engine_options
@click.argument("paths", nargs=-1, required=True, metavar="SOURCES...")
@click.pass_context
def ingest(
    ctx,
    snapshot,
    workers,
    force,
    url_column,
    progress,
    include,
    exclude,
    sample,
    seed,
    cc_base_url,
    allow_http,
    allow_network,
    s3_endpoint_url,
    rate,
    url_buckets,
    as_json,
    engine,
    ray_address,
    paths,
) -> None:
    """Record every document and outgoing link of WARC/ARC/WAT files and URL tables.

    SOURCES are files, folders or globs; https:// URLs of corpus files; s3://BUCKET/KEY objects or
    s3://BUCKET/PREFIX/ (every object under it; needs the s3 extra, credentials from the environment); @FILE, a
    file listing URLs or paths one a line; or cc:CRAWL/SUBSET (warc, wat, wet), the files of a Common Crawl
    crawl's SUBSET.paths.gz under --cc-base-url (https:// or s3://; all, or --sample N of them with --seed S).
    Remote files are streamed, never stored on disk.

    PATTERNs are shell patterns matched against a file's path within its folder or its name (`*.warc.gz`,
    `sub/*`). Files of folders that are clearly no corpus files (README, LICENSE, SOURCE.txt, *.md with no
    corpus content) are listed as skipped.

    Each file is a unit of work, run by --engine: a pool of --workers processes here, or tasks on a Ray cluster
    (docs/scale.md). Its documents and links are kept as Parquet parts beside the database, read through the
    views `documents` and `links`."""
    db = ctx.obj["db"]
    if (verbosity(ctx) < 0 or as_json) and progress is None:
        progress = False
    started = store_time() if verbosity(ctx) > 0 else None
    try:
        remote = RemoteOptions(
            allow_http=allow_http, allow_network=tuple(allow_network), rate=rate, s3_endpoint_url=s3_endpoint_url
        )
        remote.policy  # noqa: B018 - a bad CIDR is a usage error before anything is read
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--allow-network") from None
    summary = ingest_files(
        db,
        snapshot,
        paths,
        remote=remote,
        sample=sample,
        seed=seed,
        cc_base_url=cc_base_url,
        workers=workers,
        force=force,
        url_column=url_column,
        show_progress=progress,
        include=include,
        exclude=exclude,
        engine=engine,
        ray_address=ray_address,
        url_buckets_count=url_buckets,
    )
    if started is not None:  # -v: one line per file this run read, on stderr
        with open_store(db, read_only=True) as con:
            runs = sources_finished_since(con, snapshot, started)
        for run in runs:
            click.echo(
                f"{run.path}: {run.status}: {run.records:,} records, {run.documents:,} documents, {run.links:,} "
                f"links, {run.bad_records:,} bad records in {run.seconds or 0:.2f} s",
                err=True,
            )
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
    else:
        if verbosity(ctx) >= 0:
            for path, reason in summary.not_corpus:
                click.echo(f"{path}: skipped: {reason}")
        click.echo(summary.line())
    if summary.failed:
        sys.exit(ExitCode.INPUTS_FAILED)
