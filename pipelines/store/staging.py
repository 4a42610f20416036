"""Staged batches: how readers hand rows to the store in bulk, with bounded memory and no DuckDB lock."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.urls import registrable_domains_array

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
}

# Staged files are Arrow IPC streams, uncompressed: they live for seconds and are read once, by the store,
# batch by batch with no decoding. That is cheaper than uncompressed Parquet, whose writing encodes every
# column and whose reading DuckDB decodes and validates; lz4 cost several times the write itself.
STAGED_SUFFIX = ".arrow"


def read_staged(path: str | Path) -> pa.Table:
    """A staged file's rows, all in memory (for tests and small files; the store streams them)."""
    with stream_staged(path) as batches:
        return batches.read_all()


def stream_staged(path: str | Path) -> pa.RecordBatchReader:
    """A staged file's rows, one batch in memory at a time, read by Arrow's own reader (DuckDB pulls them
    without the GIL). Not memory-mapped: a mapped file's pages count in the process's resident memory until
    it is unmapped, which grew with the file's size."""
    return pa.ipc.open_stream(pa.OSFile(str(path)))


def _staged_writer(path: Path, schema: pa.Schema) -> pa.ipc.RecordBatchStreamWriter:
    return pa.ipc.new_stream(str(path), schema)


# Rows held in memory before a batch is written out (bounds worker memory whatever the file size). Small
# batches recycle the same memory: the rows wait as Python objects (a tuple and two or three strings per link),
# and a 50 MB WARC file's 114k links, held whole, made the first file of an ingest fault in fresh pages for
# them and for their Arrow copy. Batches of 16,384 links made ingests faster than batches of 200,000.
LINKS_PER_BATCH = 16_384
DOCUMENTS_PER_BATCH = 2_048
# The distinct URLs of this many rows' batches at a time are collected (Arrow's hash kernel) as they are
# written: a URL is counted once per group it is in, against DISTINCT_URLS_IN_MEMORY.
URLS_PER_DISTINCT_GROUP = 200_000
# Distinct URLs of a file collected in memory as rows arrive; past this many, the file's distinct URLs are
# computed by DuckDB from the staged batches instead (bounded memory, spilling to disk).
DISTINCT_URLS_IN_MEMORY = 250_000  # ~30 MB of strings at most


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
        self._writers: dict[str, pa.ipc.RecordBatchStreamWriter] = {}
        # the distinct URLs of each group of flushed batches (Arrow's hash kernel: far cheaper than a Python set
        # per row); None once there are too many to hold, and DuckDB derives them at close instead
        self._distinct_urls: list[pa.Array] | None = []
        self._distinct_count = 0
        self._group_urls: list[pa.Array] = []  # the URL columns of batches written since the last group
        self._group_rows = 0
        self.documents = 0
        self.links = 0

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
        links: Sequence[tuple[str, str, str | None]] = (),
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
        if links:
            kinds, raw_urls, link_urls = zip(*links, strict=True)
            link_columns = self._columns["links"]
            link_columns["doc_id"].extend([doc_id] * len(links))
            link_columns["kind"].extend(kinds)
            link_columns["raw_url"].extend(raw_urls)
            link_columns["url"].extend(link_urls)
        self.documents += 1
        self.links += len(links)
        if len(self._columns["links"]["doc_id"]) >= LINKS_PER_BATCH or len(row["doc_id"]) >= DOCUMENTS_PER_BATCH:
            self.flush()

    def flush(self) -> None:
        for table, columns in self._columns.items():
            schema = STAGED_SCHEMAS[table]
            if not columns[schema.names[0]]:
                continue
            batch = pa.table(columns, schema=schema)
            if self._distinct_urls is not None:
                self._group_urls.extend(batch.column("url").chunks)
                self._group_rows += batch.num_rows
                if self._group_rows >= URLS_PER_DISTINCT_GROUP:
                    self._collect_distinct_urls()
            writer = self._writers.get(table)
            if writer is None:
                writer = self._writers[table] = _staged_writer(self.directory / f"{table}{STAGED_SUFFIX}", schema)
            writer.write_table(batch)
            for values in columns.values():
                values.clear()

    def _collect_distinct_urls(self) -> None:
        urls, self._group_urls, self._group_rows = self._group_urls, [], 0
        if self._distinct_urls is None or not urls:
            return
        # the hash kernel takes the batches' chunks as they are: combining them first held a second copy of the
        # group's URLs at the peak of the kernel's memo table (more fresh pages to fault in)
        unique = pc.drop_null(pc.unique(pa.chunked_array(urls, pa.string())))
        self._distinct_urls.append(unique)
        self._distinct_count += len(unique)  # counts a URL once per group it is in: an upper bound
        if self._distinct_count > DISTINCT_URLS_IN_MEMORY:
            self._distinct_urls = None  # too many to hold: DuckDB derives them at close

    def close(self) -> dict[str, Path]:
        """Write what is left, then the file's distinct URLs with host and registered domain; returns the
        staged file of each table that received rows.

        The URL table, and the table of its distinct hosts, are derived here, in the worker, so that the
        process committing to the store only has to insert rows: Public Suffix List lookups (once per
        distinct host) run in parallel.
        """
        self.flush()
        self._collect_distinct_urls()
        for writer in self._writers.values():
            writer.close()
        staged = {table: self.directory / f"{table}{STAGED_SUFFIX}" for table in self._writers}
        with_urls = [str(staged[table]) for table in ("documents", "links") if table in staged]
        if with_urls:
            staged["urls"] = self.directory / f"urls{STAGED_SUFFIX}"
            staged["hosts"] = self.directory / f"hosts{STAGED_SUFFIX}"
            if self._distinct_urls is not None:
                if len(self._distinct_urls) == 1:  # one group (files up to ~200k rows): distinct already
                    urls = self._distinct_urls[0]
                else:
                    urls = pc.unique(pa.chunked_array(self._distinct_urls, pa.string()))
                _write_url_table(urls, staged["urls"], staged["hosts"])  # unordered, like the table
            else:
                _write_distinct_urls(with_urls, staged["urls"], staged["hosts"])
        self._distinct_urls = None
        return staged

    def discard(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        shutil.rmtree(self.directory, ignore_errors=True)


# The host of a URL normalized by pipelines.urls.whatwg (WHATWG serialization: userinfo percent-encoded, so the
# last "@" of the authority ends it; IPv6 in brackets), extracted in bulk by DuckDB.
HOST_OF_URL_SQL = r"regexp_extract(url, '^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)', 1)"


# DuckDB memory of the per-file URL pass: a bound, so a worker stays small whatever the file size; beyond
# it the distinct-URL aggregation spills to the staging folder.
STAGING_DUCKDB_MEMORY = "192MB"


URL_TABLE_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("host", pa.string()),
        ("registered_domain", pa.string()),
        ("registered_domain_private", pa.string()),
    ]
)
# A file's distinct hosts, none NULL or empty, with their registrable domains (as in URL_TABLE_SCHEMA)
HOST_TABLE_SCHEMA = pa.schema(list(URL_TABLE_SCHEMA)[1:])
# Rows of each batch the DuckDB pass hands back
_URL_ROWS_PER_BATCH = 65_536
# HOST_OF_URL_SQL's pattern, for Arrow's RE2
_HOST_OF_URL_RE2 = r"^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/?#]*@)?(?P<host>\[[^\]]*\]|[^:/?#]*)"


# An authority that is all host: no userinfo, port or IPv6 brackets, nor "?" or "#" (which end it early)
_NOT_ONLY_HOST = r"[@:\[?#]"


def hosts_of_urls(urls: pa.Array) -> pa.Array:
    """The host of each URL as HOST_OF_URL_SQL extracts it ("" where a URL has none).

    Most URLs are `http(s)://host/...` with nothing else in the authority: their host is the third part of a
    split on "/", which costs a third of the regex; the regex takes the rest.
    """
    plain = pc.or_(pc.starts_with(urls, "http://"), pc.starts_with(urls, "https://"))
    if len(urls) == 0 or not pc.all(plain).as_py():
        return pc.struct_field(pc.extract_regex(urls, _HOST_OF_URL_RE2), [0])
    authority = pc.list_element(pc.split_pattern(urls, "/", max_splits=3), 2)
    other = pc.match_substring_regex(authority, _NOT_ONLY_HOST)
    if pc.any(other).as_py():
        from_regex = pc.struct_field(pc.extract_regex(pc.filter(urls, other), _HOST_OF_URL_RE2), [0])
        authority = pc.replace_with_mask(authority, other, from_regex)
    return authority


def _write_host_table(hosts: pa.Array, out: Path) -> pa.Table:
    """Write the file's distinct hosts with their registrable domains; returns that table."""
    icann, private = registrable_domains_array(hosts)
    table = pa.table([hosts, icann, private], schema=HOST_TABLE_SCHEMA)
    with _staged_writer(out, HOST_TABLE_SCHEMA) as writer:
        writer.write_table(table)
    return table


def _write_url_table(url_array: pa.Array, out: Path, hosts_out: Path) -> None:
    """The file's distinct URLs with host and registrable domains, and its distinct hosts, from URLs
    collected in memory (the same rows `_write_distinct_urls` derives with DuckDB)."""
    hosts = hosts_of_urls(url_array)
    hosts = pc.if_else(pc.equal(hosts, ""), pa.scalar(None, pa.string()), hosts)
    distinct_hosts = pc.unique(pc.drop_null(hosts))
    host_table = _write_host_table(distinct_hosts, hosts_out)
    positions = pc.index_in(hosts, value_set=distinct_hosts)
    icann = pc.take(host_table.column("registered_domain"), positions)
    private = pc.take(host_table.column("registered_domain_private"), positions)
    table = pa.table([url_array, hosts, icann, private], schema=URL_TABLE_SCHEMA)
    with _staged_writer(out, URL_TABLE_SCHEMA) as writer:
        writer.write_table(table)


def _write_distinct_urls(staged_files: list[str], out: Path, hosts_out: Path) -> None:
    spill_dir = out.parent / "spill"
    con = duckdb.connect(  # in memory, private to this process
        config={"memory_limit": STAGING_DUCKDB_MEMORY, "temp_directory": str(spill_dir)}
    )
    try:
        for index, path in enumerate(staged_files):
            con.register(f"staged_{index}", stream_staged(path))  # scanned once, below
        every_url = " UNION ALL ".join(f"SELECT url FROM staged_{index}" for index in range(len(staged_files)))
        con.execute(
            f"""
            CREATE TABLE distinct_urls AS
            SELECT url, nullif({HOST_OF_URL_SQL}, '') AS host
            FROM (SELECT DISTINCT url FROM ({every_url}) WHERE url IS NOT NULL)
            """
        )
        hosts = con.sql("SELECT DISTINCT host FROM distinct_urls WHERE host IS NOT NULL").to_arrow_table().column(0)
        hosts = hosts.combine_chunks() if hosts.num_chunks else pa.array([], pa.string())
        con.register("host_domains", _write_host_table(hosts, hosts_out))
        batches = con.sql(
            "SELECT url, host, registered_domain, registered_domain_private"
            " FROM distinct_urls LEFT JOIN host_domains USING (host)"
        ).to_arrow_reader(_URL_ROWS_PER_BATCH)
        with _staged_writer(out, URL_TABLE_SCHEMA) as writer:
            for batch in batches:
                writer.write_batch(batch.cast(URL_TABLE_SCHEMA) if batch.schema != URL_TABLE_SCHEMA else batch)
    finally:
        con.close()
