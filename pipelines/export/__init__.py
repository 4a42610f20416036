"""Exports: the removal list's query and contract, the file formats it is written in, and the rows of a
read-only query (`linksweep sql`)."""

from pipelines.export.csv_safety import write_csv
from pipelines.export.manifest import MANIFEST_SUFFIX, manifest_path, tool_version, verify_export
from pipelines.export.query import QUERY_FORMATS, QueryFailed, print_query
from pipelines.export.redaction import Redaction, RedactionKeyMissing, host_sha256, url_sha256
from pipelines.export.removals import removal_query
from pipelines.export.writer import (
    ExportNotWritable,
    ExportResult,
    UnsupportedExportFormat,
    VerdictsNotDerived,
    export_format_for,
    export_removals,
    export_snapshot,
)

__all__ = [
    "ExportNotWritable",
    "ExportResult",
    "MANIFEST_SUFFIX",
    "QUERY_FORMATS",
    "QueryFailed",
    "Redaction",
    "RedactionKeyMissing",
    "UnsupportedExportFormat",
    "VerdictsNotDerived",
    "export_format_for",
    "export_removals",
    "export_snapshot",
    "host_sha256",
    "manifest_path",
    "print_query",
    "removal_query",
    "tool_version",
    "url_sha256",
    "verify_export",
    "write_csv",
]
