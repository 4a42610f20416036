"""`linksweep crawl`: prepare the queue, then run the resolve spider in one process per core.

Scrapy runs on one core; resolving is latency-bound but a crawl at hundreds of links per second is CPU-bound.
So the queue is split by host into one shard per process (a host's links stay in one process, so the per-host
politeness limit holds), each process crawls its shard and merges its own staged batches into the store.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

import crawler.settings as default_settings
from crawler.spiders.resolve import ResolveSpider
from pipelines.crawl_queue import DEFAULT_RECHECK_DAYS, write_crawl_queue
from pipelines.crawl_store import crawl_staging, merge_into_store
from pipelines.sql_text import sql_string
from pipelines.store import open_store


@dataclass(frozen=True)
class CrawlSummary:
    queued: int
    outcomes: dict[str, int]
    merged: int
    seconds: float
    left_staged: bool
    processes: int = 1

    def line(self) -> str:
        done = sum(self.outcomes.values())
        rate = done / self.seconds if self.seconds else 0.0
        staged = "; some results stay staged (store busy): the next crawl merges them" if self.left_staged else ""
        return (
            f"crawled {done:,} of {self.queued:,} queued links in {self.seconds:.1f} s ({rate:,.0f}/s, "
            f"{self.processes} process{'es' if self.processes > 1 else ''}): "
            f"{self.outcomes.get('resolved', 0):,} resolved, {self.outcomes.get('flagged', 0):,} flagged via "
            f"redirect, {self.outcomes.get('refused', 0):,} refused addresses, {self.outcomes.get('error', 0):,} "
            f"errors; {self.merged:,} results merged into the store{staged}"
        )


def crawl_settings(overrides: dict[str, Any] | None = None) -> Settings:
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def _crawl_in_this_process(db_path: Path, snapshot: str, settings: dict[str, Any], spider_args: dict) -> dict:
    process = CrawlerProcess(crawl_settings(settings), install_root_handler=True)
    crawler = process.create_crawler(ResolveSpider)
    process.crawl(crawler, snapshot=snapshot, db=str(db_path), **spider_args)
    process.start()
    spider = crawler.spider
    summary = getattr(spider, "crawl_summary", None) or {
        "outcomes": {},
        "merged": 0,
        "seconds": 0.0,
        "left_staged": False,
    }
    return {**summary, "queued": spider.queued}


def _shard_worker(db_path: Path, snapshot: str, settings: dict, spider_args: dict, results: Any) -> None:
    results.put(_crawl_in_this_process(db_path, snapshot, settings, spider_args))


def _split_queue(queue: Path, processes: int) -> list[Path]:
    """One queue file per process, by host: every link of a host lands in the same shard."""
    import duckdb

    con = duckdb.connect()
    try:
        shards = []
        for index in range(processes):
            shard = queue.with_name(f"{queue.stem}-shard{index}.parquet")
            con.execute(
                f"""
                COPY (SELECT url FROM read_parquet({sql_string(queue)})
                      WHERE hash(regexp_extract(url, '^[a-z]+://(?:[^@/]*@)?([^/:?#]*)', 1)) % {processes} = {index})
                TO {sql_string(shard)} (FORMAT parquet)
                """
            )
            shards.append(shard)
    finally:
        con.close()
    return shards


def run_crawl(
    db_path: Path,
    snapshot: str,
    *,
    settings: dict[str, Any] | None = None,
    processes: int | None = None,
    limit: int | None = None,
    recheck_after: float = DEFAULT_RECHECK_DAYS,
    only_hosts_in: str | None = None,
    **spider_args: Any,
) -> CrawlSummary:
    """Resolve the snapshot's links (see ResolveSpider for the arguments); blocks until the crawl ends."""
    import time

    started = time.monotonic()
    settings = dict(settings or {})
    processes = max(1, processes or os.cpu_count() or 1)
    staging = crawl_staging(db_path)
    merge_into_store(db_path, staging, wait_seconds=30)  # what an interrupted crawl left staged
    queue = staging / f"queue-{os.getpid()}-{int(time.time())}.parquet"
    con = open_store(db_path, wait_seconds=30)
    try:
        queued = write_crawl_queue(
            con, snapshot, queue, recheck_after_days=recheck_after, only_hosts_in=only_hosts_in, limit=limit
        )
    finally:
        con.close()
    processes = min(processes, max(1, queued // 200))  # small crawls: one process
    try:
        if processes == 1:
            summaries = [_crawl_in_this_process(db_path, snapshot, settings, {**spider_args, "queue": str(queue)})]
        else:
            shards = _split_queue(queue, processes)
            context = multiprocessing.get_context("spawn")  # a fresh reactor per process
            results = context.Queue()
            workers = [
                context.Process(
                    target=_shard_worker,
                    args=(db_path, snapshot, settings, {**spider_args, "queue": str(shard)}, results),
                )
                for shard in shards
            ]
            for worker in workers:
                worker.start()
            summaries = [results.get() for _ in workers]
            for worker in workers:
                worker.join()
            for shard in shards:
                shard.unlink(missing_ok=True)
    finally:
        queue.unlink(missing_ok=True)
    outcomes: dict[str, int] = {}
    for summary in summaries:
        for outcome, count in summary["outcomes"].items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
    merged = sum(summary["merged"] for summary in summaries)
    left_staged = any(summary["left_staged"] for summary in summaries)
    if left_staged:  # a shard's final merge met another shard's: try once more now that all are done
        late = merge_into_store(db_path, staging, wait_seconds=30)
        left_staged = late is None
        merged += late or 0
    return CrawlSummary(
        queued,
        outcomes,
        merged,
        time.monotonic() - started,
        left_staged,
        processes,
    )
