"""`linksweep blocklist ...`, `allowlist ...` and `watchlist ...`: load, update, inspect and remove versioned
lists of domains, URLs and addresses."""

from __future__ import annotations

import click

from crawler.cli.list_commands import (
    add_common_commands,
    print_load,
    print_report,
    with_download_options,
    with_review_options,
)
from pipelines.lists import FORMATS, add_list

EFFECTS = {
    "block": "flag what they match",
    "allow": "override every blocklist for what they match",
    "watch": "select links for `crawl --only-hosts-in`, and flag nothing",
}


def list_group(list_type: str) -> click.Group:
    """The command group for one kind of list (`block`, `allow` or `watch`)."""
    kind = f"{list_type}list"

    @click.group(name=kind, help=f"Load, update and inspect {kind}s (versioned; entries {EFFECTS[list_type]}).")
    def group() -> None:
        pass

    @group.command("add")
    @click.argument("name")
    @click.argument("source")
    @click.option(
        "--format",
        "list_format",
        type=click.Choice(FORMATS),
        default=None,
        help="List format; auto (the default for a new list) sniffs it, says what it decided, and the list keeps "
        "that format for its next versions. Default for an existing list: its recorded format.",
    )
    @click.option("--category", default=None, help="What the list holds (e.g. csam, malware); shown in removals.")
    @click.option("--subdomains", is_flag=True, help="hosts files: an entry also covers its subdomains.")
    @click.option("--column", default=None, help="csv format: the column holding the URL or domain.")
    @click.option("--auth-env", default=None, help="Environment variable holding an auth header for downloads.")
    @click.option(
        "--allow-public-suffix",
        is_flag=True,
        help="Load entries that are public suffixes or bare TLDs (com, co.uk, *.com), refused by default.",
    )
    @click.option("--allow-wide-networks", is_flag=True, help="Load IPv4 networks wider than /8, refused by default.")
    @with_download_options
    @(with_review_options if list_type == "block" else (lambda command: command))  # only blocklists flag
    @click.pass_context
    def add(
        ctx,
        name,
        source,
        list_format,
        category,
        subdomains,
        column,
        auth_env,
        allow_public_suffix,
        allow_wide_networks,
        force,
        max_bytes,
        allow_network,
        two_reviewers=None,
        reportable=None,
    ) -> None:
        """Load SOURCE (a file, a UT1 folder, or an https URL) as the next version of list NAME."""
        load = add_list(
            ctx.obj["db"],
            name,
            source,
            list_type=list_type,
            list_format=list_format,
            category=category,
            auth_env=auth_env,
            subdomains=subdomains,
            column=column,
            allow_public_suffix=allow_public_suffix,
            allow_wide_networks=allow_wide_networks,
            max_bytes=max_bytes,
            allow_network=allow_network,
            force=force,
            on_parsed=print_report,
            two_reviewers=two_reviewers,
            reportable=reportable,
        )
        print_load(load)

    add_common_commands(group, kind, FORMATS)
    return group
