"""Write a snapshot's removal list to CSV, Parquet or JSON lines, chosen by the file extension."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from pipelines.matching import require_snapshot
from pipelines.removals import REMOVAL_COLUMNS, removal_query
from pipelines.sql_text import sql_string

EXPORT_FORMATS = {".csv": "FORMAT csv, HEADER true", ".parquet": "FORMAT parquet", ".jsonl": "FORMAT json"}


class UnsupportedExportFormat(ValueError):
    pass


def export_format_for(out: Path) -> str:
    options = EXPORT_FORMATS.get(out.suffix.lower())
    if options is None:
        raise UnsupportedExportFormat(
            f"{out}: cannot tell the format from the extension {out.suffix!r} (use {', '.join(EXPORT_FORMATS)})"
        )
    return options


def export_removals(con: duckdb.DuckDBPyConnection, snapshot: str, out: Path) -> int:
    """Write the removal list of `snapshot` to `out`; returns the number of rows.

    The file is written beside its destination and renamed into place, so a reader never sees half a list.
    """
    copy_options = export_format_for(out)
    require_snapshot(con, snapshot)
    out.parent.mkdir(parents=True, exist_ok=True)
    columns = ", ".join(REMOVAL_COLUMNS)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE removal_list AS SELECT {columns} FROM ({removal_query()}) "
        "ORDER BY source_file, record_no, action, link_url",
        {"snapshot": snapshot},
    )
    partial = out.with_name(f".{out.name}.partial")
    con.execute(f"COPY removal_list TO {sql_string(partial)} ({copy_options})")
    os.replace(partial, out)
    rows = con.execute("SELECT count(*) FROM removal_list").fetchone()[0]
    con.execute("DROP TABLE removal_list")
    return rows
