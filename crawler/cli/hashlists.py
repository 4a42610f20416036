"""`linksweep hashlist ...`: versioned lists of content hashes, matched by `crawl --hash-content`."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.list_commands import FORCE_HELP, add_common_commands, print_load, print_report, with_review_options
from pipelines.lists import HASH_ALGOS, add_list

KIND = "hashlist"


def hashlist_group() -> click.Group:
    """The `hashlist` command group."""

    @click.group(
        name=KIND,
        help="Load, update and inspect hashlists of content hashes (MD5, SHA-1, SHA-256, PDQ; versioned; "
        "entries flag fetched bodies with `crawl --hash-content`).",
    )
    def group() -> None:
        pass

    @group.command("add")
    @click.argument("name")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--algo", type=click.Choice(HASH_ALGOS), required=True, help="The hash algorithm of the entries.")
    @click.option("--category", default=None, help="What the list holds; shown in removals.")
    @click.option("--force", is_flag=True, help=FORCE_HELP)
    @with_review_options
    @click.pass_context
    def add(ctx, name, path, algo, category, force, two_reviewers, reportable) -> None:
        """Load the hash list PATH (one hash a line, md5sum output, or CSV) as the next version of NAME."""
        load = add_list(
            ctx.obj["db"],
            name,
            str(path),
            list_format=f"hashes-{algo}",
            category=category,
            force=force,
            on_parsed=print_report,
            two_reviewers=two_reviewers,
            reportable=reportable,
        )
        print_load(load)

    add_common_commands(group, KIND, tuple(f"hashes-{algo}" for algo in HASH_ALGOS))
    return group
