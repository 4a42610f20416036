"""CSV for people who open it in a spreadsheet: formula-leading cells neutralized, list columns flattened.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel, LibreOffice and
Google Sheets, run when the file is opened (`=HYPERLINK(...)` written as a link in a crawled page, say). Such
cells get a leading `'` (the OWASP rule against CSV injection), so they show as text; Parquet and JSON lines
keep the exact values. Lists are written as their elements joined with "; ", structs and maps as JSON.
"""

from __future__ import annotations

import json
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

FORMULA_START = r"^[=+\-@\t\r]"
LIST_SEPARATOR = "; "


def _as_json(column: pa.Array) -> pa.Array:
    return pa.array(
        [None if value is None else json.dumps(value, ensure_ascii=False, default=str) for value in column.to_pylist()],
        pa.string(),
    )


def _as_text(column: pa.Array) -> pa.Array:
    """Strings (plain, large, view or dictionary-encoded) as plain strings; lists of values as their joined
    elements; other nested values (structs, maps, lists of them) as JSON."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _as_text(column.cast(kind.value_type))
    if (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and not pa.types.is_nested(kind.value_type):
        try:
            return pc.call_function("binary_join", [column.cast(pa.list_(pa.string())), LIST_SEPARATOR])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _as_json(column)
    if pa.types.is_nested(kind):
        return _as_json(column)
    if pa.types.is_large_string(kind) or getattr(pa.types, "is_string_view", lambda _: False)(kind):
        return column.cast(pa.string())
    return column


def neutralized(column: pa.Array) -> pa.Array:
    """The column with every formula-leading text cell prefixed by `'`; other types unchanged."""
    column = _as_text(column)
    if not pa.types.is_string(column.type):
        return column
    formula = pc.match_substring_regex(column, FORMULA_START)
    quoted = pc.call_function("binary_join_element_wise", ["'", column, ""])
    return pc.if_else(formula, quoted, column)


def spreadsheet_safe(batch: pa.RecordBatch) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([neutralized(column) for column in batch.columns], names=batch.schema.names)


def write_csv(batches: pa.RecordBatchReader, stream: BinaryIO) -> int:
    """Write the batches to `stream` as CSV with a header, spreadsheet-safe; returns the number of rows."""
    schema = spreadsheet_safe(pa.RecordBatch.from_pylist([], schema=batches.schema)).schema  # with no rows too
    rows = 0
    with pa_csv.CSVWriter(stream, schema) as writer:
        for batch in batches:
            writer.write_batch(spreadsheet_safe(batch))
            rows += batch.num_rows
    return rows
