"""SQL literals for the statements DuckDB cannot take parameters in (COPY TO, SET, read_parquet file lists)."""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike


def sql_string(value: str | PathLike) -> str:
    """`value` as a single-quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_string_list(values: Iterable[str | PathLike]) -> str:
    """`values` as a SQL list of string literals, e.g. for read_parquet([...])."""
    return "[" + ", ".join(sql_string(value) for value in values) + "]"


def sql_identifier(name: str) -> str:
    """`name` as a double-quoted SQL identifier (a database, table or column name)."""
    return '"' + name.replace('"', '""') + '"'
