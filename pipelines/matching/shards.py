"""Matching on an engine: the URLs to match split into shards, each matched by the compiled kernel in a unit of
work (`match_shard`) wherever the engine runs it; the driver inserts the hits as the in-process kernel does.

The driver writes the entries' hash tables (`match_groups`, what pipelines/matching/compiled.py builds the C
matcher from) once and each shard's distinct URLs (a hash of the URL modulo the shards) as Parquet files under
the store's parts folder (a filesystem the engine's workers share); a unit builds the matcher from the groups,
matches its shard and publishes its hits (URL row, group, expression) with one rename. The hits are the same
as the in-process kernel's: the kernel matches each URL by itself.

The engine is any object with `workers` (an int) and `run(function, items)` yielding outcomes that have a
`manifest` (a dict, or None) and an `error` (crawler/engines is one).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.matching import compiled as compiled_matcher
from pipelines.store import parts_root_of, sql_string, sql_string_list


class MatchShardFailed(RuntimeError):
    """A shard of the match failed on every try: nothing of the match was recorded."""


@dataclass(frozen=True)
class MatchShard:
    groups: str  # the match_groups Parquet file
    urls: str  # the shard's URLs
    hits: str  # where the unit publishes its hits


def match_shard(shard: MatchShard) -> dict:
    """Match one shard's URLs with the compiled kernel; publish its hits; returns the counts."""
    started, cpu = time.perf_counter(), time.process_time()
    con = duckdb.connect(config={"threads": 1})
    try:
        con.execute(f"CREATE TEMP TABLE match_groups AS SELECT * FROM read_parquet({sql_string(shard.groups)})")
        matcher = compiled_matcher.CompiledMatcher(con, groups_ready=True)
        urls = pq.read_table(shard.urls).column("url")
        urls = urls.combine_chunks() if urls.num_chunks != 1 else urls.chunk(0)
        hits = matcher.match(urls) if len(urls) else None
    finally:
        con.close()
    table = pa.table(
        {
            "url": urls.take(hits.rows) if hits is not None else pa.array([], pa.string()),
            "group_id": hits.groups if hits is not None else pa.array([], pa.int32()),
            "url_expression": hits.url_expressions if hits is not None else pa.array([], pa.string()),
        }
    )
    written = f"{shard.hits}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    pq.write_table(table, written)
    os.replace(written, shard.hits)
    return {
        "urls": len(urls),
        "hits": table.num_rows,
        "seconds": round(time.perf_counter() - started, 6),
        "cpu_seconds": round(time.process_time() - cpu, 6),
    }


def run_sharded_kernel(con: duckdb.DuckDBPyConnection, engine: Any, insert_hits) -> None:
    """Match `match_urls` against `match_entries` in shards on `engine`, then `insert_hits(con)` with the hits
    registered as `compiled_hits` (what the in-process compiled kernel registers)."""
    con.execute(compiled_matcher.GROUPS_SQL)
    folder = parts_root_of(con) / "tmp" / f"match-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    try:
        groups = folder / "groups.parquet"
        con.execute(f"COPY match_groups TO {sql_string(str(groups))} (FORMAT parquet)")
        count = max(1, int(engine.workers))
        shards = []
        for index in range(count):
            urls = folder / f"urls-{index:04d}.parquet"
            con.execute(
                f"COPY (SELECT url FROM match_urls WHERE url IS NOT NULL AND hash(url) % {count} = {index})"
                f" TO {sql_string(str(urls))} (FORMAT parquet)"
            )
            shards.append(MatchShard(str(groups), str(urls), str(folder / f"hits-{index:04d}.parquet")))
        for outcome in engine.run(match_shard, shards):
            if outcome.manifest is None:
                raise MatchShardFailed(f"a shard of the match failed: {outcome.error}")
        hits = [shard.hits for shard in shards]
        con.execute(
            "CREATE OR REPLACE TEMP TABLE compiled_hits AS"
            f" SELECT url, group_id, url_expression FROM read_parquet({sql_string_list(hits)})"
        )
        insert_hits(con)
        con.execute("DROP TABLE compiled_hits")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
