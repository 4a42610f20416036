"""`linksweep sql`: a read-only query on the store, its rows written to stdout as DuckDB's table, as
spreadsheet-safe CSV (as in the removal list) or as JSON lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

from pipelines.export.csv_safety import write_csv
from pipelines.store import open_store

QUERY_FORMATS = ("table", "csv", "jsonl")


class QueryFailed(ValueError):
    """DuckDB refused or failed the query."""


# Statements `linksweep sql` refuses before DuckDB sees them: a read-only connection may read the parts'
# folder (the views documents and links read it), and DuckDB would let these write files there. The rest is
# refused by the connection itself (pipelines/store/database.py).
_WRITING_STATEMENTS = frozenset({"COPY", "EXPORT", "ATTACH"})


def _refuse_writes(query: str) -> None:
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as error:
        raise QueryFailed(f"query failed: {error}") from None
    for statement in statements:
        kind = statement.type.name
        if kind in _WRITING_STATEMENTS:
            raise QueryFailed(f"query failed: {kind} statements are refused: `linksweep sql` only reads the store")


def print_query(db_path: Path, query: str, output_format: str = "table", *, max_rows: int = 40) -> None:
    """Run `query` on a read-only connection to the store and write its rows to stdout in `output_format` (one
    of QUERY_FORMATS; `max_rows` rows at most in a table). A read-only connection sees the database only: no
    file or URL, no extension (pipelines/store/database.py). DuckDB's errors raise QueryFailed."""
    # a crawl merges its results in short transactions: opening waits for one to end rather than fail
    _refuse_writes(query)
    con = open_store(db_path, read_only=True)
    try:
        relation = con.sql(query)
        if relation is None:
            return
        if output_format == "table":
            relation.show(max_rows=max_rows, max_width=200)
        elif output_format == "csv":
            sys.stdout.flush()
            write_csv(relation.to_arrow_reader(), sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            columns = relation.columns
            for row in relation.fetchall():
                sys.stdout.write(json.dumps(dict(zip(columns, row, strict=True)), default=str) + "\n")
            sys.stdout.flush()
    except duckdb.Error as error:
        raise QueryFailed(f"query failed: {error}") from None
    finally:
        con.close()
