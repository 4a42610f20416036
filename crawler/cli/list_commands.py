"""What every kind of list has: `update`, `list`, `show` and `remove`, and how a load is reported."""

from __future__ import annotations

from collections import Counter

import click

from crawler.cli.output import data_command
from pipelines.lists import DEFAULT_MAX_BYTES, ListLoad, NormalizedList, list_details, remove_list, update_list
from pipelines.store import latest_list_versions, open_store

SHOWN_LINES = 20

FORCE_HELP = (
    "Load the new version even if it could not use many more lines than the current one "
    "(more than max(10, 1% of its entries))."
)
ALLOW_NETWORK_HELP = (
    "Allow downloading from this CIDR though it is private/loopback/... (repeatable; plain HTTP is allowed only "
    "to such a network); refused by default, as in the crawl."
)
MAX_BYTES_HELP = "Size limit of a download, in bytes: a larger list fails and the list keeps its current version."

# the options of every command that downloads a list: --force, --max-bytes, --allow-network
download_options = (
    click.option("--force", is_flag=True, help=FORCE_HELP),
    click.option(
        "--max-bytes", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES, show_default=True, help=MAX_BYTES_HELP
    ),
    click.option("--allow-network", multiple=True, help=ALLOW_NETWORK_HELP),
)


def with_download_options(command):
    """`command` with the options of every command that downloads a list (download_options)."""
    for option in reversed(download_options):
        command = option(command)
    return command


def print_report(parsed: NormalizedList, shown: int = SHOWN_LINES) -> None:
    """What a list file held: the counts, the format decision, and the first rejected/unsupported lines."""
    click.echo(parsed.summary())
    if parsed.decided_by:
        click.echo(f"  format auto: {parsed.format} ({parsed.decided_by})")
    for line_no, line, reason in parsed.rejected[:shown]:
        click.echo(f"  {parsed.path}:{line_no}: rejected ({reason}): {line.strip()[:100]}", err=True)
    if parsed.rejected_total > shown:
        click.echo(
            f"  ... and {parsed.rejected_total - min(shown, len(parsed.rejected)):,} more rejected lines", err=True
        )
    if parsed.unsupported:
        reasons = Counter(reason for _, _, reason in parsed.unsupported)
        kept = f" (reasons of the first {len(parsed.unsupported):,})" if parsed.more_unsupported else ""
        click.echo(f"  {parsed.unsupported_total:,} lines unsupported (not matched), by reason{kept}:", err=True)
        for reason, count in reasons.most_common(8):
            click.echo(f"    {count:>8,}  {reason}", err=True)
        if len(reasons) > 8:
            click.echo(f"    ... and {len(reasons) - 8} more reasons", err=True)


def print_load(load: ListLoad) -> None:
    """What became of the list: the version it has now, or that the server had nothing new."""
    if load.not_modified:
        click.echo(f"{load.kind} {load.name}: not modified on the server ({load.source}); version unchanged")
        return
    state = "unchanged, still" if load.unchanged else "loaded as"
    source = f" (from {load.source})" if load.downloaded else ""
    click.echo(f"{load.kind} {load.name}: {state} version {load.version}{source}")


def add_common_commands(group: click.Group, kind: str, formats: tuple[str, ...]) -> None:
    """`update`, `list`, `show` and `remove` for the lists of `kind` (blocklist, ..., hashlist)."""

    @group.command("update")
    @click.argument("name")
    @click.option("--from", "source", default=None, help="Load from here instead of the list's recorded source.")
    @click.option(
        "--format",
        "list_format",
        type=click.Choice(formats),
        default=None,
        help="Read it in this format from now on (default: the format the list was first loaded with).",
    )
    @with_download_options
    @click.pass_context
    def update(ctx, name, source, list_format, force, max_bytes, allow_network) -> None:
        """Fetch list NAME again from its URL (conditional GET) or re-read its file; a new version if it changed.

        The list is read in the format it was first loaded with (what auto decided then) unless --format is
        given. A failed or empty download, or a version that could not use many more lines than the current
        one, keeps the current version (exit 1).
        """
        load = update_list(
            ctx.obj["db"],
            name,
            kind=kind,
            source=source,
            list_format=list_format,
            max_bytes=max_bytes,
            allow_network=allow_network,
            force=force,
            on_parsed=print_report,
        )
        print_load(load)

    @group.command("list")
    @click.pass_context
    def list_(ctx) -> None:
        """Every list of this kind with its latest version and counts."""
        with open_store(ctx.obj["db"], read_only=True) as con:
            latest_list_versions(con, kind).show(max_width=200)

    @group.command("show")
    @click.argument("name")
    @click.option("--lines", type=int, default=SHOWN_LINES, show_default=True, help="Rejected lines shown.")
    @click.pass_context
    def show(ctx, name, lines) -> None:
        """Versions of list NAME, what its latest version holds, and lines it could not use."""
        with open_store(ctx.obj["db"], read_only=True) as con:
            details = list_details(con, name, kind=kind, rejected_lines=lines)
            settings = details.settings
            click.echo(
                f"{kind} {name}: category {settings.category or '-'}, format {settings.list_format}"
                f", source {settings.source_url or 'file'}"
            )
            details.versions.show(max_width=200)
            details.entry_kinds.show()
        for line_no, line, reason, outcome in details.rejects:
            click.echo(f"  line {line_no}: {outcome} ({reason}): {line.strip()[:100]}")

    @group.command("remove")
    @click.argument("name")
    @click.pass_context
    def remove(ctx, name) -> None:
        """Forget list NAME: its versions, entries and the matches it made."""
        with open_store(ctx.obj["db"], create=False) as con:
            versions = remove_list(con, name, kind=kind)
        click.echo(f"{kind} {name}: removed ({versions} versions and their matches)")

    data_command(list_)
    data_command(show)


TWO_REVIEWERS_HELP = (
    "A rejection of this list's verdicts takes effect only when a second, different reviewer rejects too (meant for"
    " hotline-sourced lists); --one-reviewer undoes it. Default: as the list was."
)
REPORTABLE_HELP = (
    "Its auto verdicts may go into hotline reports (`report prepare --include-auto`); --not-reportable undoes it."
    " Default: as the list was."
)


def with_review_options(command):
    """--two-reviewers/--one-reviewer and --reportable/--not-reportable of every `add`."""
    command = click.option("--two-reviewers/--one-reviewer", default=None, help=TWO_REVIEWERS_HELP)(command)
    return click.option("--reportable/--not-reportable", default=None, help=REPORTABLE_HELP)(command)
