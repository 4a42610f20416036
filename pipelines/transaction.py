"""One DuckDB transaction as a `with` block: committed at the end, rolled back if anything in it raises."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT on `con`; ROLLBACK and re-raise on an exception (a `return` inside commits)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except Exception:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
