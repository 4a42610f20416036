"""Exit codes: what a command or a run ends with, the same in every command (docs/cli.md), and which wins
when several conditions hold."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    # the command ran to its end, but some of its inputs failed (files that failed or stopped early, a list
    # download that failed or held no usable entry, ...)
    INPUTS_FAILED = 1
    # nothing was done: an option, path, snapshot, list, database or query the command cannot use
    USAGE = 2
    # the database stayed in use by another process for longer than the wait ($LINKSWEEP_LOCK_WAIT)
    STORE_IN_USE = 3
    # a file could not be written or opened: an output folder without write permission, a full disk, a
    # database path that is not a DuckDB file, or a database of a newer linksweep
    FILE_ERROR = 4
    # done, and new verdicts wait for a person (flood quarantine: `linksweep review list --state needs_review`)
    REVIEW_NEEDED = 10
    # done, but some items are unchecked (a hash service was down): the next run retries them
    UNCHECKED = 20


# When several conditions hold, the first of this order is the exit code.
PRECEDENCE = (
    ExitCode.STORE_IN_USE,
    ExitCode.USAGE,
    ExitCode.FILE_ERROR,
    ExitCode.INPUTS_FAILED,
    ExitCode.REVIEW_NEEDED,
    ExitCode.UNCHECKED,
    ExitCode.OK,
)


def outcome(*codes: ExitCode) -> ExitCode:
    """The exit code of a command that met every condition of `codes` (PRECEDENCE decides)."""
    return min((*codes, ExitCode.OK), key=PRECEDENCE.index)


def crawl_outcome(summary) -> ExitCode:
    """The exit code of a crawl (`crawler.crawl.CrawlSummary`): links left without an outcome, verdicts
    waiting for review, content a hash service could not check."""
    return outcome(
        ExitCode.INPUTS_FAILED if summary.not_crawled else ExitCode.OK,
        ExitCode.REVIEW_NEEDED if summary.verdicts.awaiting_review else ExitCode.OK,
        ExitCode.UNCHECKED if summary.unchecked else ExitCode.OK,
    )
