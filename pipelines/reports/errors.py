"""The errors a report command can meet, one class per condition (their exit codes: crawler/cli/errors.py)."""

from __future__ import annotations


class ReportConfigError(ValueError):
    """A reporter file, profile, XSD or option the command cannot use: nothing was prepared."""


class InvalidReportDocument(ValueError):
    """A report document does not validate against the XSD given: nothing was written."""


class UnknownBundle(LookupError):
    """A bundle id or folder the ledger does not know."""


class LedgerConflict(ValueError):
    """A ledger change that contradicts what the ledger says (filing twice under another id, retracting what was
    never filed, ...)."""


class BundleNotWritable(OSError):
    """The bundle folder cannot be written where it was asked to go."""


class ReportNotWritable(OSError):
    """The HTML report cannot be written where it was asked to go."""
