"""The unit of work of an ingest: one corpus file read into its parts, published with one rename.

`ingest_unit` is what every engine runs, in whatever process: it reads the file (crawler.corpus.read_source),
writes its documents, links, distinct URLs and hosts as Parquet parts in a private folder, then its manifest,
and renames the folder into place (pipelines/store/parts.py). It never touches the database: the driver
folds manifests into it (pipelines/store/folding.py). A unit killed at any point leaves no published folder
(its private one is removed by the next attempt); run again, it publishes the same parts.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from crawler.corpus import SourceTask, read_source
from crawler.engines import TransientUnitError, UnitClock, report_progress
from pipelines.store import (
    FOLDED_TABLES,
    PART_TABLES,
    file_sha256,
    new_unit_folder,
    publish_unit_folder,
    unit_attempt,
    write_manifest,
    write_part,
)

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class IngestUnit:
    task: SourceTask  # its staging_dir is chosen by the unit
    parts_root: str
    identity: dict  # what the source's registration says the file is (sha256; or URL, ETag, length)
    buckets: int  # of the store's URL index (pipelines/store/url_index.py)


def ingest_unit(unit: IngestUnit) -> dict:
    """Read one file and publish its parts; returns its manifest. A file that cannot be opened raises
    TransientUnitError (the engine tries again); bad content is a manifest with status failed or partial."""
    clock = UnitClock()
    root = Path(unit.parts_root)
    source_id = unit.task.source_id
    attempt = unit_attempt(root, source_id)
    folder = new_unit_folder(root, source_id)
    staging = folder / "staging"
    try:
        result = read_source(replace(unit.task, staging_dir=str(staging)), report_progress)
        if result.transient:
            raise TransientUnitError(f"{unit.task.path}: {result.error}")
        parts: dict[str, dict] = {}
        for table in (*PART_TABLES, *FOLDED_TABLES):
            if table in result.staged:
                out = folder / f"{table}.parquet"
                rows, size = write_part(result.staged[table], out, table, source_id=source_id, buckets=unit.buckets)
                parts[table] = {"rows": rows, "bytes": size, "sha256": file_sha256(out)}
        shutil.rmtree(staging, ignore_errors=True)
        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "unit": "ingest",
            "source_id": source_id,
            "snapshot": unit.task.snapshot,
            "path": result.path,
            "identity": unit.identity,
            "status": result.status,
            "format": result.format,
            "reader": result.reader,
            "records": result.records,
            "documents": result.documents,
            "links": result.links,
            "bad_records": result.bad_records,
            "warnings": result.warnings,
            "error": result.error,
            "bad_record_errors": result.bad_record_errors,
            "read_seconds": result.seconds,
            "sha256": result.sha256,
            "bytes": unit.task.file_size() if unit.task.remote is None else unit.task.size,
            "parts": parts,
            "attempts": attempt,
            "task": {"path": unit.task.path, "url_column": unit.task.url_column},
            **clock.facts(),
        }
        write_manifest(folder, manifest)
        publish_unit_folder(root, source_id, folder)
        return manifest
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def sha256_unit(path: str) -> dict:
    """The SHA-256 of a local corpus file, hashed where the engine runs it; a read error may pass (a flaky
    shared filesystem): the engine tries again."""
    try:
        return {"sha256": file_sha256(path)}
    except OSError as error:
        raise TransientUnitError(f"{path}: {error.strerror or error}") from None
