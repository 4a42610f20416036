"""What `... show` tells of one list: how it is loaded, its versions, what its latest version holds, and the
lines that version could not use."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.lists.versions import ListSettings, list_settings, require_kind
from pipelines.store import latest_entry_kinds, latest_rejects, list_version_history


@dataclass(frozen=True)
class ListDetails:
    settings: ListSettings
    versions: duckdb.DuckDBPyRelation  # read when shown: the connection stays open until then
    entry_kinds: duckdb.DuckDBPyRelation
    rejects: list[tuple[int, str, str, str]]  # (line_no, line, reason, outcome), the first ones by line


def list_details(con: duckdb.DuckDBPyConnection, name: str, *, kind: str, rejected_lines: int) -> ListDetails:
    """List `name` (UnknownList if there is none, WrongListKind unless it is of `kind`), with its first
    `rejected_lines` rejected or unsupported lines."""
    settings = list_settings(con, name)
    require_kind(name, settings, kind)
    return ListDetails(
        settings,
        list_version_history(con, name),
        latest_entry_kinds(con, name),
        latest_rejects(con, name, rejected_lines),
    )
