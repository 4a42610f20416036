"""The compiled inner loop of the bulk matcher (pipelines/matching/_fastmatch.c), driven over Arrow string arrays.

Optional: `available()` says whether the extension was built (it needs a C compiler at install time) and can
hash; pipelines/matching/driver.py uses its SQL kernel otherwise. Both give the same matches (tests compare them
with the in-memory reference, pipelines/matching/in_memory.py).

Entries are grouped by lookup key (one key several lists name is one group): the C tables map keys to
group ids, and `match_group_entries` maps groups back to entries in DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from pipelines.urls import canonicalize

try:
    from pipelines.matching import _fastmatch
except ImportError:  # pragma: no cover - built wherever a C compiler is present
    _fastmatch = None


def available(needs_hashes: bool = True) -> bool:
    return _fastmatch is not None and (bool(_fastmatch.HASHES_AVAILABLE) or not needs_hashes)


# Which C table an entry's key goes to, and the key's bytes (digests as raw bytes, prefixes included).
GROUPS_SQL = """
CREATE OR REPLACE TEMP TABLE match_groups AS
SELECT (row_number() OVER () - 1)::INTEGER AS group_id, target, key, ids,
       ip_low, ip_high
FROM (
    SELECT CASE WHEN entry_kind IN ('domain', 'ip') THEN CASE WHEN subdomains THEN 'hosts_any' ELSE 'hosts_exact' END
                WHEN entry_kind = 'url' THEN 'urls'
                WHEN entry_kind = 'hash' THEN hash_algorithm || '/' || (length(expression) // 2)
                ELSE 'cidr' END AS target,
           CASE WHEN entry_kind = 'hash' THEN unhex(expression) ELSE encode(expression) END AS key,
           list(entry_id) AS ids, min(ip_low) AS ip_low, max(ip_high) AS ip_high
    FROM match_entries
    GROUP BY ALL
);
CREATE OR REPLACE TEMP TABLE match_group_entries AS
SELECT group_id, unnest(ids) AS entry_id FROM match_groups;
"""


@dataclass
class ArrowHits:
    """Hits over one array of URLs, as parallel columns."""

    rows: pa.Array  # int64: index into the URL array
    groups: pa.Array  # int32: group id (see match_group_entries)
    url_expressions: pa.Array  # string: the part of the URL that hit


def _column(values: pa.Array | pa.ChunkedArray) -> tuple:
    """(offsets, data, count, wide) buffers of a string/binary column, as _fastmatch takes them."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.null_count:
        raise ValueError("columns handed to the compiled matcher must not hold nulls")
    wide = pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type)
    _validity, offsets, data = values.buffers()
    width = 8 if wide else 4
    offsets = offsets[values.offset * width : (values.offset + len(values) + 1) * width]
    return offsets, data if data is not None else b"", len(values), wide


def _fixed(values: pa.Array | pa.ChunkedArray, width: int) -> pa.Buffer:
    """The data buffer of a fixed-width column without nulls."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    data = values.buffers()[1]
    return data[values.offset * width : (values.offset + len(values)) * width]


class CompiledMatcher:
    """The C hash tables for the entries of the `match_entries` temp table of a connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, groups_ready: bool = False) -> None:
        """From the connection's `match_entries`; or, `groups_ready`, from its `match_groups` (GROUPS_SQL's
        table, as a match shard loads it: pipelines/matching/shards.py)."""
        if _fastmatch is None:
            raise RuntimeError("pipelines.matching._fastmatch is not built")
        if not groups_ready:
            con.execute(GROUPS_SQL)
        matcher = self._matcher = _fastmatch.Matcher()
        hosts = con.sql(
            """
            SELECT host,
                   coalesce(max(group_id) FILTER (WHERE target = 'hosts_any'), -1)::INTEGER AS any_group,
                   coalesce(max(group_id) FILTER (WHERE target = 'hosts_exact'), -1)::INTEGER AS exact_group,
                   bool_or(target = 'urls')::UTINYINT AS url_host
            FROM (
                SELECT target, group_id,
                       CASE WHEN target = 'urls' THEN split_part(decode(key), '/', 1)
                            ELSE left(decode(key), length(decode(key)) - 1) END AS host  -- host keys end in '/'
                FROM match_groups WHERE target IN ('hosts_any', 'hosts_exact', 'urls')
            )
            GROUP BY host
            """
        ).to_arrow_table()
        matcher.set_hosts(
            _column(hosts.column("host")),
            _fixed(hosts.column("any_group"), 4),
            _fixed(hosts.column("exact_group"), 4),
            _fixed(hosts.column("url_host"), 1),
        )
        urls = con.sql("SELECT key, group_id FROM match_groups WHERE target = 'urls'").to_arrow_table()
        matcher.set_urls(_column(urls.column("key")), _fixed(urls.column("group_id"), 4))
        targets = [row[0] for row in con.execute("SELECT DISTINCT target FROM match_groups").fetchall()]
        for target in targets:
            if "/" not in target:
                continue
            algorithm, prefix = target.split("/")
            table = con.sql(
                "SELECT key, group_id FROM match_groups WHERE target = $target", params={"target": target}
            ).to_arrow_table()
            matcher.add_hash_table(
                algorithm, int(prefix), _column(table.column("key")), _fixed(table.column("group_id"), 4)
            )
        matcher.set_ranges(
            [
                tuple(row)
                for row in con.execute(
                    "SELECT ip_low, ip_high, group_id FROM match_groups WHERE target = 'cidr'"
                ).fetchall()
            ]
        )

    def _run(self, chunk: pa.Array, base: int, canonical: bool) -> tuple[bytes, bytes, bytes, bytes, list[int]]:
        return self._matcher.match(_column(chunk), base, canonical)

    def match(self, urls: pa.Array | pa.ChunkedArray) -> ArrowHits:
        """Every (URL row, group, expression that hit) over a string array without nulls.

        URLs whose path the C loop does not canonicalize itself (percent escapes, empty segments) are
        canonicalized in Python and matched again in C.
        """
        chunks = urls.chunks if isinstance(urls, pa.ChunkedArray) else [urls]
        rows_parts: list[pa.Array] = []
        group_parts: list[pa.Array] = []
        expression_parts: list[pa.Array] = []

        def collect(result: tuple, row_map: pa.Array | None = None) -> list[int]:
            rows, groups, offsets, text, python_rows = result
            count = len(rows) // 8
            row_array = pa.Array.from_buffers(pa.int64(), count, [None, pa.py_buffer(rows)])
            rows_parts.append(row_array if row_map is None else row_map.take(row_array))
            group_parts.append(pa.Array.from_buffers(pa.int32(), count, [None, pa.py_buffer(groups)]))
            expression_parts.append(
                pa.Array.from_buffers(pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(text)])
            )
            return python_rows

        deferred_rows: list[int] = []
        deferred_urls: list[str] = []
        base = 0
        for chunk in chunks:
            for row in collect(self._run(chunk, base, canonical=False)):
                url = canonicalize(chunk[row - base].as_py())
                if url is not None:
                    deferred_rows.append(row)
                    query = f"?{url.query}" if url.query else ""
                    deferred_urls.append(f"{url.scheme}://{url.host}{url.path}{query}")
            base += len(chunk)
        if deferred_urls:
            collect(
                self._run(pa.array(deferred_urls, pa.string()), 0, canonical=True), pa.array(deferred_rows, pa.int64())
            )
        if not rows_parts:
            return ArrowHits(pa.array([], pa.int64()), pa.array([], pa.int32()), pa.array([], pa.string()))
        return ArrowHits(
            pa.concat_arrays(rows_parts), pa.concat_arrays(group_parts), pa.concat_arrays(expression_parts)
        )
