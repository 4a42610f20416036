"""`linksweep crawl`: prepare the queue, then run the resolve spider in one process per core.

Scrapy runs on one core; resolving is latency-bound but a crawl at hundreds of links per second is CPU-bound.
So the queue is split by host into one shard per process (a host's links stay in one process, so the per-host
politeness limit holds), each process crawls its shard and merges its own staged batches into the store.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

import crawler.crawl.settings as default_settings
from crawler.crawl.options import BadCrawlSetting, CrawlOptions, scrapy_settings
from crawler.crawl.pipelines import PROGRESS_LOGGER
from crawler.crawl.spiders.resolve import ResolveSpider
from pipelines.crawl import (
    DEFAULT_RECHECK_DAYS,
    crawl_staging,
    merge_into_store,
    split_queue,
    unchecked_count,
    write_crawl_queue,
)
from pipelines.store import open_store, require_snapshot
from pipelines.urls import NetworkPolicy
from pipelines.verdicts import VerdictSummary, refresh_verdicts


@dataclass(frozen=True)
class CrawlSummary:
    queued: int
    outcomes: dict[str, int]
    merged: int
    seconds: float
    left_staged: bool
    processes: int = 1
    ended: tuple[str, ...] = ()  # why a process ended its crawl early ("shutdown", "start_error", ...), if one did
    over_cap: int = 0  # responses whose body (compressed, or once decoded) passed --max-content-bytes
    verdicts: VerdictSummary | None = None  # the snapshot's verdicts after the crawl's matches
    unchecked: int = 0  # links whose content hash a hash service could not check (retried by the next crawl)

    @property
    def not_crawled(self) -> int:
        """Queued links that got no outcome at all (not resolved, not recorded as an error): the next crawl
        queues them again."""
        return max(0, self.queued - sum(self.outcomes.values()))

    def warnings(self) -> list[str]:
        """The `warning:` lines of the crawl: links left without an outcome (the crawl fails), bodies cut at
        the cap (each recorded as its link's `too-large` outcome)."""
        lines = []
        if self.over_cap:
            lines.append(
                f"warning: {self.over_cap:,} responses over the --max-content-bytes cap (compressed or once "
                f"decoded) were dropped unread; their links are recorded as error_class 'too-large'"
            )
        if self.unchecked:
            lines.append(
                f"warning: {self.unchecked:,} links have content hashes no hash service could check (service"
                " down); they count as unchecked, never clean, and the next crawl asks again"
            )
        if self.not_crawled:
            why = f"the crawl ended early: {', '.join(self.ended)}" if self.ended else "see the log (-v)"
            lines.append(
                f"warning: {self.not_crawled:,} of {self.queued:,} queued links were not crawled (neither resolved "
                f"nor recorded as errors; {why}); the next crawl queues them again"
            )
        return lines

    def line(self) -> str:
        done = sum(self.outcomes.values())
        rate = done / self.seconds if self.seconds else 0.0
        staged = "; some results stay staged (store busy): the next crawl merges them" if self.left_staged else ""
        return (
            f"crawled {done:,} of {self.queued:,} queued links in {self.seconds:.1f} s ({rate:,.0f}/s, "
            f"{self.processes} process{'es' if self.processes > 1 else ''}): "
            f"{self.outcomes.get('resolved', 0):,} resolved, {self.outcomes.get('flagged', 0):,} flagged via "
            f"redirect, {self.outcomes.get('refused', 0):,} refused (address or name), "
            f"{self.outcomes.get('error', 0):,} errors; {self.merged:,} results merged into the store{staged}"
        )


def crawl_settings(overrides: dict[str, Any] | None = None) -> Settings:
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def log_settings(verbosity: int) -> dict[str, Any]:
    """Scrapy's log for a verbosity (-1 quiet, 0 default, 1 verbose): by default only its warnings and errors,
    no banner, settings dump or stats; linksweep prints its own progress and summary."""
    if verbosity > 0:
        return {"LOG_LEVEL": "DEBUG" if verbosity > 1 else "INFO", "LINKSWEEP_VERBOSITY": verbosity}
    return {"LOG_LEVEL": "WARNING", "STATS_DUMP": False, "LINKSWEEP_VERBOSITY": verbosity}


def _show_progress(verbosity: int) -> None:
    """Progress lines on stderr, unless quiet; with -v they go through Scrapy's log like everything else."""
    logger = logging.getLogger(PROGRESS_LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    if verbosity > 0:
        logger.propagate = True
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbosity == 0 else logging.WARNING)
    logger.propagate = False


def _crawl_in_this_process(db_path: Path, snapshot: str, settings: dict[str, Any], spider_args: dict) -> dict:
    _show_progress(int(settings.get("LINKSWEEP_VERBOSITY", 1)))
    process = CrawlerProcess(crawl_settings(settings))
    crawler = process.create_crawler(ResolveSpider)
    process.crawl(crawler, snapshot=snapshot, db=str(db_path), **spider_args)
    process.start()
    spider = crawler.spider
    summary = getattr(spider, "crawl_summary", None) or {
        "outcomes": {},
        "over_cap": 0,
        "merged": 0,
        "seconds": 0.0,
        "left_staged": False,
    }
    reason = getattr(spider, "close_reason", None) if spider is not None else "not started"
    ended = [] if reason == "finished" else [reason or "stopped before the spider closed"]
    return {**summary, "queued": spider.queued if spider is not None else 0, "ended": ended}


def _crawl_or_failure(db_path: Path, snapshot: str, settings: dict, spider_args: dict) -> dict:
    """The crawl's summary; a crawl that could not run (a bad --set value, say) is a summary saying why, whose
    links count as not crawled. The traceback is logged with -v."""
    try:
        return _crawl_in_this_process(db_path, snapshot, settings, spider_args)
    except Exception as error:
        if int(settings.get("LINKSWEEP_VERBOSITY", 1)) > 0:
            logging.getLogger(PROGRESS_LOGGER).exception("the crawl failed")
        reason = f"failed: {type(error).__name__}: {error}"
        return {"outcomes": {}, "merged": 0, "seconds": 0.0, "left_staged": False, "ended": [reason]}


def _shard_worker(db_path: Path, snapshot: str, settings: dict, spider_args: dict, results: Any) -> None:
    results.put(_crawl_or_failure(db_path, snapshot, settings, spider_args))


def _collect(workers: list, results: Any) -> list[dict]:
    """One summary per worker; a worker that died without one (killed, out of memory) is reported as such
    instead of being waited for forever."""
    import queue

    summaries: list[dict] = []
    while len(summaries) < len(workers):
        try:
            summaries.append(results.get(timeout=1.0))
            continue
        except queue.Empty:
            pass
        if all(not worker.is_alive() for worker in workers):
            try:  # a summary put just before its process ended
                while len(summaries) < len(workers):
                    summaries.append(results.get(timeout=1.0))
            except queue.Empty:
                break
    for worker in workers:
        if worker.exitcode not in (0, None):
            summaries.append(
                {"outcomes": {}, "merged": 0, "seconds": 0.0, "left_staged": False,
                 "ended": [f"crawler process {worker.pid} exited with code {worker.exitcode}"]}
            )  # fmt: skip
    return summaries


def run_crawl(
    db_path: Path,
    snapshot: str,
    *,
    settings: dict[str, Any] | None = None,
    processes: int | None = None,
    limit: int | None = None,
    recheck_after: float = DEFAULT_RECHECK_DAYS,
    only_hosts_in: str | None = None,
    verbosity: int = 1,
    **spider_args: Any,
) -> CrawlSummary:
    """Resolve the snapshot's links (see ResolveSpider for the arguments); blocks until the crawl ends.

    `verbosity` -1 (quiet: no progress lines), 0 (progress lines, Scrapy's warnings and errors) or 1 (Scrapy's
    whole log, as `scrapy crawl` writes it)."""
    import time

    started = time.monotonic()
    settings = {**log_settings(verbosity), **(settings or {})}
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
    _show_progress(verbosity)
    logging.getLogger(PROGRESS_LOGGER).info(
        "crawling %s queued links of snapshot %s in %s process%s",
        f"{queued:,}",
        snapshot,
        processes,
        "es" if processes > 1 else "",
    )
    try:
        if processes == 1:
            summaries = [_crawl_or_failure(db_path, snapshot, settings, {**spider_args, "queue": str(queue)})]
        else:
            shards = [bucket.path for bucket in split_queue(queue, processes)]
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
            summaries = _collect(workers, results)
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
    ended = tuple(dict.fromkeys(reason for summary in summaries for reason in summary.get("ended", ())))
    over_cap = sum(summary.get("over_cap", 0) for summary in summaries)
    return CrawlSummary(queued, outcomes, merged, time.monotonic() - started, left_staged, processes, ended, over_cap)


def crawl_snapshot(
    db_path: Path,
    snapshot: str,
    options: CrawlOptions,
    *,
    hash_content: bool = False,
    hash_services: str | None = None,
    **crawl_args: Any,
) -> CrawlSummary:
    """`linksweep crawl`: run_crawl (with `crawl_args`), once the store is known to hold the snapshot
    (StoreMissing, UnknownSnapshot) and the settings to be usable (BadCrawlSetting, see scrapy_settings).
    Hash services are asked about content hashes: `hash_services` implies `hash_content`."""
    con = open_store(db_path, wait_seconds=30, create=False)
    try:
        require_snapshot(con, snapshot)
    finally:
        con.close()
    try:  # checked here: inside the crawl process a bad network would end in a traceback
        NetworkPolicy.allowing(crawl_args.get("allow_network") or ())
    except ValueError as error:
        raise BadCrawlSetting(str(error)) from None
    settings = scrapy_settings(options)
    summary = run_crawl(
        db_path,
        snapshot,
        settings=settings,
        hash_content=hash_content or bool(hash_services),
        hash_services=hash_services,
        **crawl_args,
    )
    con = open_store(db_path, wait_seconds=30)
    try:
        verdicts = refresh_verdicts(con, snapshot)
        return replace(summary, verdicts=verdicts, unchecked=unchecked_count(con, snapshot))
    finally:
        con.close()
