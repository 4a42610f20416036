"""The report profiles: which hotline each prepares for, and the writer of its files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipelines.reports import generic_json, iwf_csv, ncmec_xml
from pipelines.reports.errors import ReportConfigError
from pipelines.reports.items import BundleContent


@dataclass(frozen=True)
class ReportProfile:
    name: str
    hotline: str  # the ledger's key: profiles of one hotline share what was reported
    write: Callable[[BundleContent], dict[str, bytes]]  # {file name in the bundle: bytes}, pure
    needs_email: bool  # the hotline requires the reporter's email address
    description: str


REPORT_PROFILES: dict[str, ReportProfile] = {
    "ncmec-xml": ReportProfile("ncmec-xml", "ncmec", ncmec_xml.write, True, "NCMEC CyberTipline report XML"),
    "iwf-csv": ReportProfile("iwf-csv", "iwf", iwf_csv.write, False, "a URL list for the IWF or INHOPE"),
    "generic-json": ReportProfile("generic-json", "generic", generic_json.write, False, "JSON with all evidence"),
}


def report_profile(name: str) -> ReportProfile:
    if name not in REPORT_PROFILES:
        raise ReportConfigError(f"no report profile {name!r} (use {', '.join(REPORT_PROFILES)})")
    return REPORT_PROFILES[name]
