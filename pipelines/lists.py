"""Blocklists in the store: every load of a list file is a new version with its entries and counts."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from pipelines.domain_list import EmptyList, ListParseReport

LIST_FORMATS = ("domains",)


@dataclass(frozen=True)
class LoadedVersion:
    list_name: str
    version_id: int
    unchanged: bool  # the same content was already the list's latest version


def add_list_version(
    con: duckdb.DuckDBPyConnection,
    name: str,
    report: ListParseReport,
    *,
    list_type: str = "block",
    category: str | None = None,
    list_format: str = "domains",
) -> LoadedVersion:
    """Record a parsed list file as the next version of list `name` (created on first load).

    Loading content identical to the latest version records nothing new.
    """
    if not report.entries:
        raise EmptyList(f"{report.path}: no usable entry ({len(report.rejected)} lines rejected)")
    con.execute("BEGIN TRANSACTION")
    try:
        existing = con.execute("SELECT list_type, category FROM lists WHERE name = ?", [name]).fetchone()
        if existing is None:
            con.execute(
                "INSERT INTO lists (name, list_type, category, format) VALUES (?, ?, ?, ?)",
                [name, list_type, category, list_format],
            )
        elif category is not None and category != existing[1]:
            con.execute("UPDATE lists SET category = ? WHERE name = ?", [category, name])
        latest = con.execute(
            "SELECT version_id, sha256 FROM list_versions WHERE list_name = ? ORDER BY version_id DESC LIMIT 1",
            [name],
        ).fetchone()
        if latest is not None and latest[1] == report.sha256:
            con.execute("COMMIT")
            return LoadedVersion(name, latest[0], unchanged=True)
        version_id = con.execute(
            "INSERT INTO list_versions (version_id, list_name, sha256, origin, accepted, duplicates, rejected)"
            " VALUES (nextval('list_version_id_seq'), ?, ?, ?, ?, ?, ?) RETURNING version_id",
            [name, report.sha256, report.path, len(report.entries), report.duplicates, len(report.rejected)],
        ).fetchone()[0]
        entries = pa.table(
            {
                "version_id": pa.array([version_id] * len(report.entries), pa.int32()),
                "entry": [entry.entry for entry in report.entries],
                "entry_kind": [entry.entry_kind for entry in report.entries],
                "line_no": pa.array([entry.line_no for entry in report.entries], pa.int32()),
            }
        )
        con.register("staged_entries", entries)
        con.execute("INSERT INTO list_entries BY NAME SELECT * FROM staged_entries")
        con.unregister("staged_entries")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return LoadedVersion(name, version_id, unchanged=False)


CURRENT_VERSIONS_SQL = """
    SELECT list_name, max(version_id) AS version_id FROM list_versions GROUP BY list_name
"""
