"""The `linksweep` command line: each command parses its options and calls one library function."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click
import duckdb

from crawler.cli.errors import USER_ERRORS, QueryFailed, RemoteSourceUnsupported, exit_code_for
from crawler.cli.lists import hashlist_group, list_group
from crawler.cli.output import add_verbosity_options, data_command, verbosity, version_text
from pipelines.export import export_format_for, export_removals
from pipelines.lists import DEFAULT_MAX_BYTES
from pipelines.matching import UnknownSnapshot, match_snapshot
from pipelines.store import DB_ENVIRONMENT_VARIABLE, open_store, resolve_db_path

SAMPLE_DIR = Path("data/sample")
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _db(ctx: click.Context) -> Path:
    return ctx.obj["db"]


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"linksweep: {message}", err=True)
    sys.exit(code)


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit()


class LinksweepGroup(click.Group):
    """The `linksweep` group: a user error raised by any command (crawler/cli/errors.py) ends as one line on
    stderr and the exit code of its condition, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as error:
            click.echo(f"linksweep: {error}", err=True)
            ctx.exit(exit_code_for(error))


@click.group(cls=LinksweepGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    "-V",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the versions of linksweep, DuckDB and Python, and exit.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"DuckDB database (default: ${DB_ENVIRONMENT_VARIABLE} or data/linksweep.duckdb).",
)
@click.pass_context
def main(ctx: click.Context, db: Path | None) -> None:
    """Find links to harmful sites in web corpora, and list what to strip."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = resolve_db_path(db)


@main.command()
@click.option("--snapshot", required=True, help="Snapshot name the files belong to (e.g. CC-MAIN-2024-22).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Parallel processes (default: all cores).")
@click.option("--force", is_flag=True, help="Re-read files already ingested for this snapshot.")
@click.option("--url-column", default=None, help="URL column of Parquet/CSV/JSONL tables (default: url, URL, ...).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option(
    "--include", multiple=True, metavar="PATTERN", help="Only files of folders whose path matches (repeatable)."
)
@click.option("--exclude", multiple=True, metavar="PATTERN", help="Leave out files of folders that match (repeatable).")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.pass_context
def ingest(ctx, snapshot, workers, force, url_column, progress, include, exclude, paths) -> None:
    """Record every document and outgoing link of WARC/ARC/WAT files and URL tables (files or folders).

    PATTERNs are shell patterns matched against a file's path within its folder or its name (`*.warc.gz`,
    `sub/*`). Files of folders that are clearly no corpus files (README, LICENSE, SOURCE.txt, *.md with no
    corpus content) are listed as skipped."""
    from crawler.ingest import ingest as run_ingest

    for path in paths:
        if URL_SCHEME.match(str(path)):
            raise RemoteSourceUnsupported(
                f"{path}: remote sources are not supported yet; download the file and give its local path"
            )
    if verbosity(ctx) < 0 and progress is None:
        progress = False
    started = _store_clock() if verbosity(ctx) > 0 else None
    summary = run_ingest(
        _db(ctx),
        snapshot,
        [Path(path) for path in paths],
        workers=workers,
        force=force,
        url_column=url_column,
        show_progress=progress,
        include=include,
        exclude=exclude,
    )
    if verbosity(ctx) > 0:
        _report_files(_db(ctx), snapshot, started)
    if verbosity(ctx) >= 0:
        for path, reason in summary.not_corpus:
            click.echo(f"{path}: skipped: {reason}")
    click.echo(summary.line())
    if summary.failed:
        sys.exit(1)


def _store_clock():
    """DuckDB's `current_timestamp` as the store records it (`sources.finished_at`, in the session's time zone)."""
    with duckdb.connect() as clock:
        return clock.execute("SELECT current_timestamp::TIMESTAMP").fetchone()[0]


def _report_files(db_path: Path, snapshot: str, since) -> None:
    """-v: one line per file this run read (finished since `since`), on stderr."""
    con = open_store(db_path, read_only=True)
    try:
        rows = con.execute(
            "SELECT path, status, records, documents, links, bad_records, seconds FROM sources"
            " WHERE snapshot = ? AND finished_at >= ? ORDER BY source_id",
            [snapshot, since],
        ).fetchall()
    finally:
        con.close()
    for path, status, records, documents, links, bad_records, seconds in rows:
        click.echo(
            f"{path}: {status}: {records:,} records, {documents:,} documents, {links:,} links, "
            f"{bad_records:,} bad records in {seconds or 0:.2f} s",
            err=True,
        )


BLOCKLIST = list_group("block")
ALLOWLIST = list_group("allow")
WATCHLIST = list_group("watch")  # lists that select links (e.g. URL shorteners for --only-hosts-in), never flag
main.add_command(BLOCKLIST)
main.add_command(ALLOWLIST)
main.add_command(WATCHLIST)
main.add_command(hashlist_group())


@main.command()
@click.option("--snapshot", required=True)
@click.pass_context
def match(ctx, snapshot) -> None:
    """Flag the snapshot's documents and links that a blocklist entry matches (and no allowlist entry).

    Each unique URL is matched once; a rerun matches only files not matched yet and the changes of lists
    that have a new version.
    """
    con = open_store(_db(ctx), create=False)
    try:
        summary = match_snapshot(con, snapshot)
    finally:
        con.close()
    click.echo(summary.line())


@main.command()
@click.option("--snapshot", required=True)
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
@click.option("--max-content-bytes", type=click.IntRange(min=1), default=10 * 1024 * 1024, show_default=True)
@click.option("--pdq-distance", type=click.IntRange(0, 256), default=31, show_default=True, help="PDQ match threshold.")
@click.option(
    "--hash-services",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="JSON file configuring hash services (HMA, generic JSON) asked about content hashes; see docs/crawl.md.",
)
@click.option("--concurrency", type=click.IntRange(min=1), default=64, show_default=True, help="Per process.")
@click.option("--processes", type=click.IntRange(min=1), default=None, help="Crawler processes (default: all cores).")
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
) -> None:
    """Resolve the snapshot's unflagged links (redirects, meta refresh), judging every hop before fetching it."""
    from crawler.crawl import run_crawl
    from pipelines.crawl import UnknownWatchList
    from pipelines.matching import require_snapshot

    db_path = _db(ctx)
    con = open_store(db_path, wait_seconds=30, create=False)
    try:
        require_snapshot(con, snapshot)
    except UnknownSnapshot as error:
        _fail(str(error), 2)
    finally:
        con.close()
    settings = {
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_host,
        "DOWNLOAD_MAXSIZE": max_content_bytes,
        "DOWNLOAD_TIMEOUT": timeout,
        "ROBOTSTXT_OBEY": obey_robots,
    }
    if user_agent:
        settings["USER_AGENT"] = user_agent
    for assignment in extra:
        name, equals, value = assignment.partition("=")
        if not equals:
            _fail(f"--set {assignment!r}: expected NAME=VALUE", 2)
        settings[name.strip()] = value
    if settings.get("TWISTED_REACTOR"):  # Scrapy would fail inside the crawl, with a traceback
        from scrapy.utils.misc import load_object

        try:
            load_object(settings["TWISTED_REACTOR"])
        except (ImportError, NameError, ValueError) as error:
            _fail(f"--set TWISTED_REACTOR={settings['TWISTED_REACTOR']}: cannot load it ({error})", 2)
    try:
        if int(settings["DOWNLOAD_MAXSIZE"]) <= 0:
            _fail("DOWNLOAD_MAXSIZE must be a positive number of bytes (0 would read and decode bodies uncapped)", 2)
    except ValueError:
        _fail(f"DOWNLOAD_MAXSIZE {settings['DOWNLOAD_MAXSIZE']!r}: not a number of bytes", 2)
    try:
        summary = run_crawl(
            db_path,
            snapshot,
            settings=settings,
            processes=processes,
            limit=limit,
            recheck_after=recheck_after,
            only_hosts_in=only_hosts_in,
            verbosity=-1 if quiet else verbose,
            allow_network=list(allow_network),
            hash_content=hash_content or bool(hash_services),
            pdq_distance=pdq_distance,
            hash_services=hash_services,
        )
    except (UnknownWatchList, ValueError) as error:
        _fail(str(error), 2)
    click.echo(summary.line())
    for warning in summary.warnings():
        click.echo(warning, err=True)
    if summary.not_crawled:
        sys.exit(1)


@main.command()
@click.option("--snapshot", required=True)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file: .csv, .parquet or .jsonl.",
)
@click.pass_context
def export(ctx, snapshot, out) -> None:
    """Write the removal list (drop_document / strip_link rows with their evidence).

    CSV cells that a spreadsheet would run as a formula get a leading ' (docs/cli.md); Parquet and JSON lines
    keep the exact values.
    """
    export_format_for(out)
    con = open_store(_db(ctx), read_only=True)
    try:
        rows = export_removals(con, snapshot, out)
    finally:
        con.close()
    click.echo(f"wrote {rows:,} removals of snapshot {snapshot} to {out}")


@main.command()
@click.option("--snapshot", default=None, help="Only this snapshot (default: all).")
@click.pass_context
def status(ctx, snapshot) -> None:
    """What each snapshot holds, and every file that failed or stopped early, with its error (-v: every file)."""
    con = open_store(_db(ctx), read_only=True)
    where, params = ("WHERE snapshot = ?", [snapshot]) if snapshot else ("", [])
    print(
        con.sql(
            f"""
        SELECT snapshot, count(*) AS files, count(*) FILTER (WHERE status = 'done') AS done,
               count(*) FILTER (WHERE status = 'partial') AS partial,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               count(*) FILTER (WHERE status = 'pending') AS pending,
               sum(documents) AS documents, sum(links) AS links, sum(bad_records) AS bad_records
        FROM sources {where} GROUP BY snapshot ORDER BY snapshot
        """,
            params=params,
        )
    )
    shown = "" if verbosity(ctx) > 0 else f"{'AND' if where else 'WHERE'} status IN ('partial', 'failed', 'pending')"
    problems = con.execute(
        f"SELECT snapshot, path, status, error FROM sources {where} {shown} ORDER BY snapshot, path", params
    ).fetchall()
    for problem_snapshot, path, problem_status, error in problems:
        if problem_status == "done":
            click.echo(f"{problem_snapshot}: {path}: done")
        else:
            click.echo(f"{problem_snapshot}: {path}: {problem_status}: {error or 'not finished (rerun ingest)'}")
    lists = con.execute(
        """
        SELECT l.name, l.list_type, coalesce(v.format, l.format), v.version_id, v.version, v.accepted,
               (SELECT version_id FROM match_state WHERE match_state.list_name = l.name) AS matched_version
        FROM lists AS l JOIN list_versions AS v ON v.list_name = l.name
        WHERE v.version_id = (SELECT max(version_id) FROM list_versions WHERE list_name = l.name)
        ORDER BY l.list_type, l.name
        """
    ).fetchall()
    for name, list_type, list_format, version_id, version, accepted, matched in lists:
        if list_type == "watch" or list_format.startswith("hashes-"):
            state = "used by crawls"
        elif matched == version_id:
            state = "matched"
        else:
            state = "not matched yet (run `linksweep match`)"
        noun = "hashlist" if list_format.startswith("hashes-") else f"{list_type}list"
        click.echo(f"{noun} {name}: version {version}, {accepted:,} entries, {list_format}: {state}")
    crawled = con.execute(
        "SELECT outcome, count(*), max(fetched_at) FROM crawl_results GROUP BY outcome ORDER BY outcome"
    ).fetchall()
    if crawled:
        last = max(row[2] for row in crawled)
        outcomes = ", ".join(f"{count:,} {outcome}" for outcome, count, _ in crawled)
        unchecked = con.execute("SELECT count(DISTINCT url) FROM hash_checks WHERE status = 'unchecked'").fetchone()[0]
        click.echo(
            f"crawl results: {outcomes} (last {last:%Y-%m-%d %H:%M}); {unchecked:,} links with unchecked content"
        )
    con.close()
    from pipelines.crawl import complete_batches, crawl_staging

    staged = complete_batches(crawl_staging(_db(ctx)))
    if staged:
        click.echo(f"{len(staged)} crawl result batches staged, merged by the next crawl or merge")


@main.command()
@click.argument("query")
@click.option(
    "--format", "output_format", type=click.Choice(["table", "csv", "jsonl"]), default="table", show_default=True
)
@click.option("--max-rows", type=int, default=40, show_default=True, help="Rows shown in table format.")
@click.pass_context
def sql(ctx, query, output_format, max_rows) -> None:
    """Run a read-only SQL query on the database (see docs/schema.md for the tables).

    The query sees the database only: no file or URL can be read or written, no extension installed or loaded
    (docs/cli.md). CSV output is spreadsheet-safe, as in `export`.
    """
    # a crawl merges its results in short transactions: opening waits for one to end rather than fail
    con = open_store(_db(ctx), read_only=True)
    try:
        relation = con.sql(query)
        if relation is None:
            return
        if output_format == "table":
            relation.show(max_rows=max_rows, max_width=200)
        elif output_format == "csv":
            from pipelines.export import write_csv

            sys.stdout.flush()
            write_csv(relation.to_arrow_reader(), sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            columns = relation.columns
            for row in relation.fetchall():
                click.echo(json.dumps(dict(zip(columns, row, strict=True)), default=str))
    except duckdb.Error as error:
        raise QueryFailed(f"query failed: {error}") from None
    finally:
        con.close()


@main.command()
@click.option("--sample-dir", type=click.Path(file_okay=False, path_type=Path), default=SAMPLE_DIR, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("data/out/sample-removals.csv"),
    show_default=True,
)
@click.pass_context
def demo(ctx, sample_dir, out) -> None:
    """Run the whole job on the bundled sample: ingest, load the sample list, match, export."""
    corpus, sample_list = sample_dir / "corpus", sample_dir / "lists" / "sample-blocklist.txt"
    if not corpus.is_dir() or not sample_list.is_file():
        _fail(f"sample data not found under {sample_dir} (run from the repository root)", 2)
    snapshot = "SAMPLE-2026-01"
    ctx.invoke(ingest, snapshot=snapshot, workers=None, force=False, url_column=None, progress=None, paths=(corpus,))
    ctx.invoke(
        BLOCKLIST.commands["add"],
        name="sample-blocklist",
        source=str(sample_list),
        list_format="domains",
        category="sample-harm",
        subdomains=False,
        column=None,
        auth_env=None,
        max_bytes=DEFAULT_MAX_BYTES,
    )
    ctx.invoke(match, snapshot=snapshot)
    ctx.invoke(export, snapshot=snapshot, out=out)
    click.echo(f"removal list: {out.resolve()}")


for command in (status, sql):
    data_command(command)
for group in main.commands.values():
    if isinstance(group, click.Group):
        for name in ("list", "show"):
            if name in group.commands:
                data_command(group.commands[name])
add_verbosity_options(main)


def run() -> None:
    """Entry point (the `linksweep` script)."""
    main()
