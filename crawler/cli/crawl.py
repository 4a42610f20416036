"""`linksweep crawl`: resolve a snapshot's links, judging every hop before it is fetched."""

from __future__ import annotations

import click

from crawler.cli.engine_options import engine_options
from crawler.cli.errors import exit_with
from crawler.run import crawl_outcome


@click.command()
@click.option("--snapshot", required=True, help="Snapshot whose links are resolved.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Resolve at most N links.")
@click.option(
    "--recheck-after",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Days before a resolved link is resolved again.",
)
@click.option("--only-hosts-in", default=None, help="Only links on hosts a list names (e.g. a shortener watchlist).")
@click.option(
    "--allow-network",
    multiple=True,
    help="Allow connecting to this CIDR though it is private/loopback/... (repeatable); refused by default.",
)
@click.option("--hash-content", is_flag=True, help="Hash fetched bodies (MD5, SHA-1, SHA-256, PDQ for images).")
@click.option(
    "--max-content-bytes",
    type=click.IntRange(min=1),
    default=10 * 1024 * 1024,
    show_default=True,
    help="Bytes of a body read at most, compressed or once decoded; a longer one is recorded as too-large.",
)
@click.option("--pdq-distance", type=click.IntRange(0, 256), default=31, show_default=True, help="PDQ match threshold.")
@click.option(
    "--hash-services",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="JSON file configuring hash services (HMA, generic JSON) asked about content hashes; see docs/crawl.md.",
)
@click.option("--concurrency", type=click.IntRange(min=1), default=64, show_default=True, help="Per process.")
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=None,
    help="Crawl buckets, a process each (default: all cores; --engine ray: the cluster's CPUs).",
)
@click.option(
    "--per-host", type=click.IntRange(min=1), default=2, show_default=True, help="Concurrent requests per host."
)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=20.0, show_default=True, help="Seconds per request.")
@click.option("--obey-robots", is_flag=True, help="Obey robots.txt (see docs/crawl.md for the trade-off).")
@click.option("--user-agent", default=None, help="User-Agent with a contact URL (default: linksweep's).")
@click.option("--set", "extra", multiple=True, help="Any Scrapy setting, NAME=VALUE (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines: only the summary, warnings and errors.")
@click.option(
    "-v", "--verbose", count=True, help="Scrapy's own log (banner, settings, stats) as well; -vv for its debug log."
)
@engine_options
@click.pass_context
def crawl(
    ctx,
    snapshot,
    limit,
    recheck_after,
    only_hosts_in,
    allow_network,
    hash_content,
    max_content_bytes,
    pdq_distance,
    hash_services,
    concurrency,
    processes,
    per_host,
    timeout,
    obey_robots,
    user_agent,
    extra,
    quiet,
    verbose,
    engine,
    ray_address,
) -> None:
    """Resolve the snapshot's unflagged links (redirects, meta refresh), judging every hop before fetching it."""
    from crawler.crawl import CrawlOptions, crawl_snapshot  # imports Scrapy: only when crawling

    options = CrawlOptions(
        concurrency=concurrency,
        per_host=per_host,
        max_content_bytes=max_content_bytes,
        timeout=timeout,
        obey_robots=obey_robots,
        user_agent=user_agent,
        assignments=extra,
    )
    summary = crawl_snapshot(
        ctx.obj["db"],
        snapshot,
        options,
        processes=processes,
        limit=limit,
        recheck_after=recheck_after,
        only_hosts_in=only_hosts_in,
        verbosity=-1 if quiet else verbose,
        allow_network=list(allow_network),
        hash_content=hash_content,
        pdq_distance=pdq_distance,
        hash_services=hash_services,
        engine=engine,
        ray_address=ray_address,
    )
    click.echo(summary.line())
    for line in summary.verdicts.lines():
        click.echo(line)
    for warning in summary.warnings():
        click.echo(warning, err=True)
    exit_with(crawl_outcome(summary))
