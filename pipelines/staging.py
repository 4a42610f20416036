"""Staged Parquet batches: how readers hand rows to the store in bulk, with bounded memory and no DuckDB lock."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.urls import host_of, registered_domain

# Columns of each staged table, by name; the store inserts them BY NAME into the table of the same name.
STAGED_SCHEMAS: dict[str, pa.Schema] = {
    "documents": pa.schema(
        [
            ("doc_id", pa.int64()),
            ("source_id", pa.int32()),
            ("snapshot", pa.string()),
            ("record_no", pa.int32()),
            ("record_id", pa.string()),
            ("record_type", pa.string()),
            ("target_uri", pa.string()),
            ("url", pa.string()),
            ("record_offset", pa.int64()),
            ("record_length", pa.int64()),
            ("http_status", pa.int16()),
            ("content_type", pa.string()),
            ("payload_digest", pa.string()),
            ("link_count", pa.int32()),
        ]
    ),
    "links": pa.schema([("doc_id", pa.int64()), ("kind", pa.string()), ("raw_url", pa.string()), ("url", pa.string())]),
    "urls": pa.schema([("url", pa.string()), ("host", pa.string()), ("registered_domain", pa.string())]),
}

# Rows held in memory before a batch is written out (bounds worker memory whatever the file size).
LINKS_PER_BATCH = 200_000
DOCUMENTS_PER_BATCH = 20_000


def doc_id_for(source_id: int, record_no: int) -> int:
    """Document ids are stable across runs: the source's id in the high bits, the record ordinal below."""
    return (source_id << 32) | record_no


class StagedSource:
    """Collects the rows one source file produces and writes them as Parquet files in `directory`."""

    def __init__(self, directory: Path, source_id: int, snapshot: str) -> None:
        self.directory = directory
        self.source_id = source_id
        self.snapshot = snapshot
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        self._columns: dict[str, dict[str, list]] = {
            table: {name: [] for name in schema.names} for table, schema in STAGED_SCHEMAS.items()
        }
        self._batch_urls: set[str] = set()
        self._writers: dict[str, pq.ParquetWriter] = {}
        self.documents = 0
        self.links = 0

    def add_url(self, url: str | None) -> None:
        if url is None or url in self._batch_urls:
            return
        self._batch_urls.add(url)
        host = host_of(url)
        columns = self._columns["urls"]
        columns["url"].append(url)
        columns["host"].append(host)
        columns["registered_domain"].append(registered_domain(host) if host else None)

    def add_document(
        self,
        record_no: int,
        *,
        record_id: str | None,
        record_type: str,
        target_uri: str | None,
        url: str | None,
        offset: int | None = None,
        length: int | None = None,
        http_status: int | None = None,
        content_type: str | None = None,
        payload_digest: str | None = None,
        links: list[tuple[str, str, str | None]] = (),
    ) -> None:
        doc_id = doc_id_for(self.source_id, record_no)
        row = self._columns["documents"]
        row["doc_id"].append(doc_id)
        row["source_id"].append(self.source_id)
        row["snapshot"].append(self.snapshot)
        row["record_no"].append(record_no)
        row["record_id"].append(record_id)
        row["record_type"].append(record_type)
        row["target_uri"].append(target_uri)
        row["url"].append(url)
        row["record_offset"].append(offset)
        row["record_length"].append(length)
        row["http_status"].append(http_status if http_status is None or 0 <= http_status < 32768 else None)
        row["content_type"].append(content_type)
        row["payload_digest"].append(payload_digest)
        row["link_count"].append(len(links))
        self.add_url(url)
        link_columns = self._columns["links"]
        doc_ids, kinds, raws, urls = (
            link_columns["doc_id"],
            link_columns["kind"],
            link_columns["raw_url"],
            link_columns["url"],
        )
        for kind, raw_url, link_url in links:
            doc_ids.append(doc_id)
            kinds.append(kind)
            raws.append(raw_url)
            urls.append(link_url)
            self.add_url(link_url)
        self.documents += 1
        self.links += len(links)
        if len(kinds) >= LINKS_PER_BATCH or len(row["doc_id"]) >= DOCUMENTS_PER_BATCH:
            self.flush()

    def flush(self) -> None:
        for table, columns in self._columns.items():
            schema = STAGED_SCHEMAS[table]
            if not columns[schema.names[0]]:
                continue
            batch = pa.table(columns, schema=schema)
            writer = self._writers.get(table)
            if writer is None:
                writer = self._writers[table] = pq.ParquetWriter(
                    self.directory / f"{table}.parquet", schema, compression="zstd"
                )
            writer.write_table(batch)
            for values in columns.values():
                values.clear()
        self._batch_urls.clear()

    def close(self) -> dict[str, Path]:
        """Write what is left; returns the staged file of each table that received rows."""
        self.flush()
        for writer in self._writers.values():
            writer.close()
        return {table: self.directory / f"{table}.parquet" for table in self._writers}

    def discard(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        shutil.rmtree(self.directory, ignore_errors=True)
