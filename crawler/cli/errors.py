"""Errors a user can meet, and the one place that turns each into one line and its exit code (docs/cli.md).

Each condition has one error class, raised wherever it happens (in the library or the application);
`exit_code_for` is the table every command shares, so the same condition ends with the same code whichever
command met it. Anything not in the table is a bug and keeps its traceback. `fail` ends a command on a
condition that no error class stands for, in the same one line.
"""

from __future__ import annotations

import functools
import sys
from typing import NoReturn

import click

from crawler.run import PRECEDENCE, ExitCode, outcome

__all__ = ["PRECEDENCE", "ExitCode", "exit_code_for", "exit_with", "fail", "outcome"]


def exit_with(*codes: ExitCode) -> None:
    """End a command that ran to its end with outcome(codes), when that is not OK."""
    code = outcome(*codes)
    if code != ExitCode.OK:
        sys.exit(code)


@functools.cache
def _exit_codes() -> tuple[tuple[type[Exception], ExitCode], ...]:
    """(error class, exit code): the first class the error is an instance of decides. Built at the first error:
    the classes come from every part of linksweep, and a command imports only the parts it uses."""
    from crawler.crawl import BadCrawlSetting
    from crawler.engines import EngineUnavailable
    from crawler.ingest import MissingInput, RemoteReadError, SourceSpecError
    from crawler.run import ConfigError, UnknownStage
    from pipelines.crawl import UnknownWatchList
    from pipelines.export import (
        ExportNotWritable,
        QueryFailed,
        RedactionKeyMissing,
        UnsupportedExportFormat,
        VerdictsNotDerived,
    )
    from pipelines.lists import (
        EmptyList,
        FetchError,
        ListFormatError,
        ListSourceError,
        ListTypeMismatch,
        SuspiciousVersion,
        UnknownList,
        WrongListKind,
    )
    from pipelines.reports import (
        BundleNotWritable,
        InvalidReportDocument,
        LedgerConflict,
        ReportConfigError,
        ReportNotWritable,
        UnknownBundle,
    )
    from pipelines.store import (
        SchemaTooNew,
        StoreLocked,
        StoreMissing,
        StoreUnusable,
        UnknownSnapshot,
        UrlBucketsFixed,
    )
    from pipelines.verdicts import ReviewRefused, UnknownState, UnknownVerdict

    return (
        (StoreLocked, ExitCode.STORE_IN_USE),
        (StoreMissing, ExitCode.USAGE),
        (StoreUnusable, ExitCode.FILE_ERROR),
        (SchemaTooNew, ExitCode.FILE_ERROR),
        (ExportNotWritable, ExitCode.FILE_ERROR),
        (UnknownSnapshot, ExitCode.USAGE),
        (UnknownList, ExitCode.USAGE),
        (UnknownWatchList, ExitCode.USAGE),
        (ListTypeMismatch, ExitCode.USAGE),
        (WrongListKind, ExitCode.USAGE),
        (ListSourceError, ExitCode.USAGE),
        (ListFormatError, ExitCode.USAGE),
        (FetchError, ExitCode.INPUTS_FAILED),
        (EmptyList, ExitCode.INPUTS_FAILED),
        (SuspiciousVersion, ExitCode.INPUTS_FAILED),
        (UnsupportedExportFormat, ExitCode.USAGE),
        (RedactionKeyMissing, ExitCode.USAGE),
        (ReportConfigError, ExitCode.USAGE),
        (UnknownBundle, ExitCode.USAGE),
        (LedgerConflict, ExitCode.USAGE),
        (InvalidReportDocument, ExitCode.INPUTS_FAILED),
        (BundleNotWritable, ExitCode.FILE_ERROR),
        (ReportNotWritable, ExitCode.FILE_ERROR),
        (MissingInput, ExitCode.USAGE),
        (SourceSpecError, ExitCode.USAGE),
        (RemoteReadError, ExitCode.INPUTS_FAILED),
        (QueryFailed, ExitCode.USAGE),
        (BadCrawlSetting, ExitCode.USAGE),
        (VerdictsNotDerived, ExitCode.USAGE),
        (UnknownVerdict, ExitCode.USAGE),
        (UnknownState, ExitCode.USAGE),
        (ReviewRefused, ExitCode.USAGE),
        (ConfigError, ExitCode.USAGE),
        (UnknownStage, ExitCode.USAGE),
        (EngineUnavailable, ExitCode.USAGE),
        (UrlBucketsFixed, ExitCode.USAGE),
    )


def exit_code_for(error: BaseException) -> ExitCode | None:
    """The exit code of a user error, or None for anything else (a bug: it keeps its traceback)."""
    for error_class, code in _exit_codes():
        if isinstance(error, error_class):
            return code
    return None


def fail(message: str, code: ExitCode) -> NoReturn:
    """End the command: `linksweep: MESSAGE` on stderr, and exit `code`."""
    click.echo(f"linksweep: {message}", err=True)
    sys.exit(code)
