"""Write a snapshot's removal list to CSV, Parquet or JSON lines, chosen by the file extension."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.export.csv_safety import write_csv
from pipelines.export.manifest import build_manifest, manifest_path, tool_version, write_manifest
from pipelines.export.redaction import Redaction
from pipelines.export.removals import REMOVAL_COLUMNS, ordered_removal_query
from pipelines.store import open_store, require_snapshot
from pipelines.verdicts import EXPORTED_STATES, REVIEW_STATES

# Rows per Parquet row group. Row groups are cut from the rows, whatever batches DuckDB hands over, so that
# the same data always gives the same bytes.
PARQUET_ROW_GROUP_ROWS = 65_536
BATCH_ROWS = 8_192


class UnsupportedExportFormat(ValueError):
    pass


class VerdictsNotDerived(LookupError):
    """A snapshot whose verdicts were never derived (no `match` since it was ingested, or since the store was
    made by a linksweep without verdicts): its removal list would be empty, not clean."""


def export_states(include_review: bool) -> tuple[str, ...]:
    """The verdict states an export holds: auto and confirmed, and needs_review when asked for."""
    return EXPORTED_STATES + (REVIEW_STATES if include_review else ())


def require_verdicts(con: duckdb.DuckDBPyConnection, snapshot: str) -> None:
    if not con.execute("SELECT count(*) FROM verdict_refreshes WHERE snapshot = ?", [snapshot]).fetchall()[0][0]:
        raise VerdictsNotDerived(
            f"snapshot {snapshot!r} has no verdicts yet: run `linksweep match --snapshot {snapshot}` first"
        )


class ExportNotWritable(OSError):
    """The removal list cannot be written where it was asked to go."""


def _write_parquet(batches: pa.RecordBatchReader, stream: BinaryIO) -> int:
    rows = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    with pq.ParquetWriter(stream, batches.schema) as writer:
        for batch in batches:
            pending.append(batch)
            pending_rows += batch.num_rows
            rows += batch.num_rows
            while pending_rows >= PARQUET_ROW_GROUP_ROWS:
                table = pa.Table.from_batches(pending, schema=batches.schema)
                writer.write_table(table.slice(0, PARQUET_ROW_GROUP_ROWS), row_group_size=PARQUET_ROW_GROUP_ROWS)
                rest = table.slice(PARQUET_ROW_GROUP_ROWS)
                pending, pending_rows = rest.to_batches(), rest.num_rows
        if pending_rows:
            writer.write_table(pa.Table.from_batches(pending, schema=batches.schema))
    return rows


def _write_lines(batches: pa.RecordBatchReader, stream: BinaryIO) -> int:
    """The one text column of `batches`, a line per row (JSON lines built by DuckDB: JSON_LINE)."""
    rows = 0
    for batch in batches:
        text = "\n".join(batch.column(0).to_pylist())
        stream.write(f"{text}\n".encode() if batch.num_rows else b"")
        rows += batch.num_rows
    return rows


# extension: (whether the query gives JSON lines, built by DuckDB rather than json.dumps per row; the writer
# of its batches)
EXPORT_FORMATS: dict[str, tuple[bool, Callable[[pa.RecordBatchReader, BinaryIO], int]]] = {
    ".csv": (False, write_csv),  # formula-leading cells neutralized, lists joined (pipelines/export/csv_safety.py)
    ".parquet": (False, _write_parquet),
    ".jsonl": (True, _write_lines),
}


def _select(columns: list[tuple[str, str]], json_lines: bool) -> str:
    """The select list of an export: each (name, SQL expression), or one JSON object of them a row."""
    if json_lines:
        return f"to_json(struct_pack({', '.join(f'{name} := {expression}' for name, expression in columns)})) AS line"
    return ", ".join(f"{expression} AS {name}" for name, expression in columns)


def export_format_for(out: Path) -> str:
    """The export format of `out` (its extension), or UnsupportedExportFormat."""
    suffix = out.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise UnsupportedExportFormat(
            f"{out}: cannot tell the format from the extension {out.suffix!r} (use {', '.join(EXPORT_FORMATS)})"
        )
    return suffix


def export_removals(
    con: duckdb.DuckDBPyConnection,
    snapshot: str,
    out: Path,
    redaction: Redaction | None = None,
    states: tuple[str, ...] = EXPORTED_STATES,
) -> int:
    """Write the removal list of `snapshot` (its verdicts in `states`) to `out`, redacted when `redaction` is
    given (redaction.py); returns the number of rows.

    The file is written beside its destination and renamed into place, so a reader never sees half a list.
    The writing is done here, not by DuckDB: a read-only connection reads and writes no
    file (pipelines/store/database.py).
    """
    json_lines, write = EXPORT_FORMATS[export_format_for(out)]
    require_snapshot(con, snapshot)
    require_verdicts(con, snapshot)
    partial = out.with_name(f".{out.name}.partial")
    cursor = con.cursor()  # a query of its own: `con` may hold an unfinished result
    columns = redaction.columns(cursor) if redaction else [(name, name) for name in REMOVAL_COLUMNS]
    batches = None
    try:
        query = ordered_removal_query(_select(columns, json_lines), states)
        batches = cursor.sql(query, params={"snapshot": snapshot}).to_arrow_reader(BATCH_ROWS)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as stream:
            rows = write(batches, stream)
        os.replace(partial, out)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise ExportNotWritable(
            f"{out}: cannot write the removal list ({error.strerror or error}); give --out a file in a folder you"
            " can write to"
        ) from None
    finally:
        # the reader holds the database open: an error's traceback (kept by a caller) must not keep it alive
        if batches is not None:
            batches.close()
        batches = None
        cursor.close()
    return rows


@dataclass(frozen=True)
class ExportResult:
    rows: int
    awaiting_review: int  # verdicts of the snapshot left out because they wait for review
    manifest: dict


def export_snapshot(
    db_path: Path, snapshot: str, out: Path, redaction: Redaction | None = None, include_review: bool = False
) -> ExportResult:
    """`linksweep export`: export_removals on a read-only connection to the store at `db_path`, then the
    manifest beside it (manifest.py); an extension that names no export format is refused before the store is
    opened."""
    export_format_for(out)
    con = open_store(db_path, read_only=True)
    try:
        states = export_states(include_review)
        rows = export_removals(con, snapshot, out, redaction, states)
        scheme = redaction.scheme() if redaction else None
        try:
            manifest = build_manifest(con, snapshot, out, rows, tool_version(), scheme, states)
            write_manifest(manifest, out)
        except OSError as error:
            raise ExportNotWritable(
                f"{manifest_path(out)}: cannot write the manifest ({error.strerror or error})"
            ) from None
        awaiting = con.execute(
            "SELECT count(*) FROM verdicts WHERE snapshot = ? AND state = 'needs_review'", [snapshot]
        ).fetchall()[0][0]
        return ExportResult(rows, 0 if include_review else awaiting, manifest)
    finally:
        con.close()
