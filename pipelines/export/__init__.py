"""Exports: the removal list's query and contract, and the file formats it is written in."""

from pipelines.export.csv_safety import write_csv
from pipelines.export.removals import removal_query
from pipelines.export.writer import ExportNotWritable, UnsupportedExportFormat, export_format_for, export_removals

__all__ = [
    "ExportNotWritable",
    "UnsupportedExportFormat",
    "export_format_for",
    "export_removals",
    "removal_query",
    "write_csv",
]
