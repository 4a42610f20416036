"""Hotline report bundles, prepared and never sent: a snapshot's reportable verdicts per canonical URL, written
in a hotline's profile (NCMEC CyberTipline XML, an IWF URL list, generic JSON), and the report-once ledger that
keeps a URL from being reported to a hotline twice (docs/reports.md); and the HTML report of a snapshot."""

from pipelines.reports.bundle import BundleSummary, prepare_bundle
from pipelines.reports.errors import (
    BundleNotWritable,
    InvalidReportDocument,
    LedgerConflict,
    ReportConfigError,
    ReportNotWritable,
    UnknownBundle,
)
from pipelines.reports.html.page import write_html_report
from pipelines.reports.ledger import LEDGER_STATES, BundleState, LedgerRow, ledger_rows, mark_bundle
from pipelines.reports.profiles import REPORT_PROFILES, ReportProfile
from pipelines.reports.reporter import REPORTER_KEYS, Reporter, load_reporter

__all__ = [
    "LEDGER_STATES",
    "REPORTER_KEYS",
    "REPORT_PROFILES",
    "BundleNotWritable",
    "BundleState",
    "BundleSummary",
    "InvalidReportDocument",
    "LedgerConflict",
    "LedgerRow",
    "ReportConfigError",
    "ReportNotWritable",
    "ReportProfile",
    "Reporter",
    "UnknownBundle",
    "ledger_rows",
    "load_reporter",
    "mark_bundle",
    "prepare_bundle",
    "write_html_report",
]
