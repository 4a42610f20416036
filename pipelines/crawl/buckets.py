"""Crawl buckets: the crawl queue split for several processes (or machines) by registrable domain, so that every
host is crawled by exactly one process and its politeness limit holds across all of them, and balanced by link
count (not host count): the domains, largest first, each go to the bucket with the fewest links so far (the
longest-processing-time rule: no bucket holds more than 4/3 of the best split's largest, plus one domain).
The same queue gives the same buckets on every machine."""

from __future__ import annotations

import heapq
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.crawl.queue import TAKE_TURNS
from pipelines.store import sql_string


@dataclass(frozen=True)
class Bucket:
    path: Path
    links: int
    domains: int


def assign_domains(counts: dict[str, int], buckets: int) -> list[list[str]]:
    """The domains of each bucket: largest domain first (ties by name), each to the bucket with the fewest links
    so far (ties: the lowest bucket)."""
    heap = [(0, index) for index in range(buckets)]
    assigned: list[list[str]] = [[] for _ in range(buckets)]
    for domain, links in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        load, index = heapq.heappop(heap)
        assigned[index].append(domain)
        heapq.heappush(heap, (load + links, index))
    return assigned


def split_queue(queue: Path, buckets: int) -> list[Bucket]:
    """Write `buckets` queue files beside `queue` (columns of the queue, its domains taking turns as in the
    queue: TAKE_TURNS), each published whole
    (written to a temporary name, then renamed); empty buckets are left out."""
    con = duckdb.connect()
    try:
        source = f"read_parquet({sql_string(queue)})"
        counts = dict(con.execute(f"SELECT domain, count(*) FROM {source} GROUP BY domain").fetchall())
        plan = assign_domains(counts, buckets)
        con.register(
            "bucket_of",
            pa.table(
                {
                    "domain": pa.array([domain for domains in plan for domain in domains], pa.string()),
                    "bucket": pa.array([index for index, domains in enumerate(plan) for _ in domains], pa.int32()),
                }
            ),
        )
        written = []
        for index, domains in enumerate(plan):
            if not domains:
                continue
            path = queue.with_name(f"{queue.stem}-bucket{index}.parquet")
            partial = path.with_name(f".{path.name}.partial")
            con.execute(
                f"""
                COPY (SELECT q.* FROM {source} AS q JOIN bucket_of USING (domain) WHERE bucket = {index}
                      ORDER BY {TAKE_TURNS})
                TO {sql_string(partial)} (FORMAT parquet)
                """
            )
            os.replace(partial, path)
            written.append(Bucket(path, sum(counts[domain] for domain in domains), len(domains)))
        return written
    finally:
        con.close()
