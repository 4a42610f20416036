"""The manifest written beside every removal list, and the check that a list and its manifest still agree.

`FILE.manifest.json` says what the list was made from (the tool, the snapshot, every list consulted with its
version and content sha256), what it holds (rows by action and by category), and the sha256 and row count of
the file itself. A row missing from the list means "not on these lists, as of these versions", never "safe".
The manifest carries a checksum of its own content, so an edit of either file is found by `verify_export`;
it guards against accidents and mistaken copies, not against someone who recomputes both checksums.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.export.removals import removal_query
from pipelines.lists import CURRENT_VERSIONS_SQL
from pipelines.store import file_sha256
from pipelines.verdicts import EXPORTED_STATES

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = "linksweep-export-manifest/1"
MEANING = (
    "A document or link that is not in this file is not on these lists, as of these versions; it is not a "
    "statement that it is safe."
)
_CHECK_KEY = "manifest_sha256"


def tool_version() -> str:
    try:
        return metadata.version("linksweep")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + MANIFEST_SUFFIX)


def _content_check(manifest: dict[str, Any]) -> str:
    body = {key: value for key, value in manifest.items() if key != _CHECK_KEY}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def build_manifest(
    con: duckdb.DuckDBPyConnection,
    snapshot: str,
    out: Path,
    rows: int,
    tool_version: str,
    hash_scheme: dict[str, Any] | None = None,
    states: tuple[str, ...] = EXPORTED_STATES,
) -> dict[str, Any]:
    """The manifest of the removal list of `snapshot` just written to `out` (`rows` rows; `hash_scheme`: how
    its URLs were redacted, None when they are in clear)."""
    lists = con.execute(
        f"""
        SELECT l.name, l.list_type, l.category, v.version_id, v.sha256
        FROM lists AS l JOIN ({CURRENT_VERSIONS_SQL}) AS current ON current.list_name = l.name
        JOIN list_versions AS v ON v.version_id = current.version_id
        ORDER BY l.name
        """
    ).fetchall()
    # both counts in one query: the removal list is worked out once more, not once a count
    counts = con.execute(
        f"""
        WITH removals AS MATERIALIZED (SELECT action, categories, state FROM ({removal_query(states)}))
        SELECT 'action', action, count(*) FROM removals GROUP BY action
        UNION ALL
        SELECT 'state', state, count(*) FROM removals GROUP BY state
        UNION ALL
        SELECT 'category', coalesce(category, '(none)'), count(*) FROM (
            SELECT unnest(CASE WHEN len(coalesce(categories, [])) = 0 THEN [NULL] ELSE categories END) AS category
            FROM removals
        ) GROUP BY 2
        ORDER BY 1, 2
        """,
        {"snapshot": snapshot},
    ).fetchall()
    by_action = {value: count for counted, value, count in counts if counted == "action"}
    by_category = {value: count for counted, value, count in counts if counted == "category"}
    by_state = {value: count for counted, value, count in counts if counted == "state"}
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "tool": {"name": "linksweep", "version": tool_version},
        "snapshot": snapshot,
        "lists": [
            {"name": name, "type": list_type, "category": category, "version": version, "sha256": sha256}
            for name, list_type, category, version, sha256 in lists
        ],
        "verdict_states": list(states),
        "counts": {"rows": rows, "by_action": by_action, "by_category": by_category, "by_state": by_state},
        "hash_scheme": hash_scheme,
        "file": {"name": out.name, "format": out.suffix.lower().lstrip("."), "sha256": file_sha256(out), "rows": rows},
        "meaning": MEANING,
    }
    manifest[_CHECK_KEY] = _content_check(manifest)
    return manifest


def write_manifest(manifest: dict[str, Any], out: Path) -> Path:
    """Write `manifest` beside the export `out` (renamed into place); returns its path."""
    path = manifest_path(out)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    os.replace(partial, path)
    return path


def count_rows(path: Path) -> int:
    """Rows of an export file, read in its format (CSV records may span lines)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    if suffix == ".jsonl":
        with open(path, "rb") as stream:
            return sum(1 for line in stream if line.strip())
    reader = pa_csv.open_csv(path)
    return sum(batch.num_rows for batch in reader)


def verify_export(path: Path) -> list[str]:
    """What differs between the export `path` and its manifest; empty when they agree."""
    manifest_file = manifest_path(path)
    if not manifest_file.is_file():
        return [f"{manifest_file}: no manifest beside the export"]
    try:
        manifest = json.loads(manifest_file.read_text())
        recorded = manifest["file"]
        check = manifest[_CHECK_KEY]
    except (ValueError, KeyError, TypeError) as error:
        return [f"{manifest_file}: not a linksweep export manifest ({error})"]
    problems = []
    if check != _content_check(manifest):
        problems.append(f"{manifest_file}: the manifest was changed after it was written (its checksum differs)")
    if recorded.get("name") != path.name:
        problems.append(f"{manifest_file}: describes {recorded.get('name')!r}, not {path.name!r}")
    actual = file_sha256(path)
    if actual != recorded.get("sha256"):
        problems.append(f"{path}: sha256 {actual}, the manifest says {recorded.get('sha256')}")
        try:
            rows = count_rows(path)
        except (OSError, ValueError) as error:
            problems.append(f"{path}: cannot be read as {path.suffix} ({error})")
        else:
            if rows != recorded.get("rows"):
                problems.append(f"{path}: {rows:,} rows, the manifest says {recorded.get('rows')}")
    return problems
