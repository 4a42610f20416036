"""`linksweep crawl`: prepare the queue, then run the resolve spider on its buckets, a process each.

Scrapy runs on one core; resolving is latency-bound but a crawl at hundreds of links per second is CPU-bound.
So the queue is split into buckets by registrable domain, balanced by link count (a host's links stay in one
bucket, so the per-host politeness limit holds across all of them), and each bucket is a unit of work an engine
runs in a fresh process: here (`local`) or on a Ray cluster (`ray`). A bucket merges its own staged batches
into the store as it goes, as one crawl process always did, and returns its summary; the driver merges only
what a bucket left staged. Workers on other machines need the store and its staging folder on a filesystem
they share with the driver (they read the lists from the store, their queue from the staging folder).
"""

from __future__ import annotations

import logging
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
from crawler.engines import Engine, UnitClock, engine_named
from pipelines.crawl import (
    DEFAULT_RECHECK_DAYS,
    complete_batches,
    crawl_staging,
    merge_into_store,
    split_queue,
    unchecked_count,
    write_crawl_queue,
)
from pipelines.store import open_store, require_snapshot
from pipelines.urls import NetworkPolicy
from pipelines.verdicts import VerdictSummary, refresh_verdicts

# How often a bucket is crawled again when its process died (killed, out of memory): once. A second crawl of
# the bucket asks its hosts again for what the first one had done; merging is idempotent, so nothing counts twice.
CRAWL_RETRIES = 1


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


@dataclass(frozen=True)
class CrawlBucket:
    """One bucket of a crawl: a queue file of the hosts of some registrable domains, crawled by one process."""

    db_path: str
    snapshot: str
    queue: str  # the bucket's queue file, under the crawl staging folder (shared with the workers)
    links: int
    settings: dict[str, Any]
    spider_args: dict[str, Any]


def _failed_summary(reason: str) -> dict:
    """The summary of a bucket that produced none: its links count as not crawled, `reason` says why."""
    return {"outcomes": {}, "merged": 0, "over_cap": 0, "seconds": 0.0, "left_staged": False, "ended": [reason]}


def crawl_bucket_unit(bucket: CrawlBucket) -> dict:
    """The unit of work of a crawl, run by an engine in a process of its own (Scrapy's reactor starts once per
    process): crawl the bucket's queue, merging results into the store as the crawl goes (staged batches the
    store was too busy for stay staged, for the driver's last merge). Returns the bucket's summary as its
    manifest, with the unit's wall and CPU time and peak memory: nothing bulky passes through the engine."""
    clock = UnitClock()
    spider_args = {**bucket.spider_args, "queue": bucket.queue}
    summary = _crawl_or_failure(Path(bucket.db_path), bucket.snapshot, bucket.settings, spider_args)
    return {
        "unit": "crawl",
        "queue": bucket.queue,
        "links": bucket.links,
        **summary,
        "crawl_seconds": summary.get("seconds", 0.0),
        **clock.facts(),  # its `seconds` are the unit's, start-up included
    }


def _crawl_buckets(runner: Engine, buckets: list[CrawlBucket], retries: int = CRAWL_RETRIES) -> list[dict]:
    """One summary per bucket, in bucket order; a bucket the engine could not run (its process died every
    time, an exception outside the crawl) is a summary saying why."""
    summaries: list[dict] = [_failed_summary("the engine returned no outcome")] * len(buckets)
    for outcome in runner.run(crawl_bucket_unit, buckets, retries=retries):
        if outcome.manifest is not None:
            summaries[outcome.index] = outcome.manifest
        else:
            summaries[outcome.index] = _failed_summary(
                f"crawler process of bucket {outcome.index} failed after {outcome.attempts} attempt(s): {outcome.error}"
            )
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
    engine: str = "local",
    ray_address: str | None = None,
    **spider_args: Any,
) -> CrawlSummary:
    """Resolve the snapshot's links (see ResolveSpider for the arguments); blocks until the crawl ends.

    The queue is split into `processes` buckets by registrable domain (pipelines.crawl.split_queue), each
    crawled by `crawl_bucket_unit` in a fresh process run by `engine` (crawler.engines: `local`, a process per
    bucket here; `ray`, a task per bucket on the cluster at `ray_address`, whose CPUs set the default number of
    buckets). A small crawl on the local engine runs in this process.

    `verbosity` -1 (quiet: no progress lines), 0 (progress lines, Scrapy's warnings and errors) or 1 (Scrapy's
    whole log, as `scrapy crawl` writes it)."""
    import time

    started = time.monotonic()
    settings = {**log_settings(verbosity), **(settings or {})}
    runner = None
    if engine == "local" and (processes or os.cpu_count() or 1) > 1:
        # the bucket processes are forked now, before this process opens the store: they start without
        # importing Scrapy and linksweep again (those not needed, for a small crawl, exit unused)
        runner = engine_named("local", workers=processes or os.cpu_count(), fresh_process=True, prefork=True)
    staging = crawl_staging(db_path)
    queue = staging / f"queue-{os.getpid()}-{int(time.time())}.parquet"
    try:
        merge_into_store(db_path, staging, wait_seconds=30)  # what an interrupted crawl left staged
        con = open_store(db_path, wait_seconds=30)
        try:
            queued = write_crawl_queue(
                con, snapshot, queue, recheck_after_days=recheck_after, only_hosts_in=only_hosts_in, limit=limit
            )
        finally:
            con.close()
        if engine == "local":
            wanted = max(1, processes or os.cpu_count() or 1)
        else:  # the cluster's CPUs, unless asked otherwise
            runner = engine_named(engine, workers=processes, ray_address=ray_address, fresh_process=True)
            wanted = processes or runner.workers
        processes = min(wanted, max(1, queued // 200))  # small crawls: one process
        _show_progress(verbosity)
        logging.getLogger(PROGRESS_LOGGER).info(
            "crawling %s queued links of snapshot %s in %s process%s",
            f"{queued:,}",
            snapshot,
            processes,
            "es" if processes > 1 else "",
        )
        if processes == 1 and engine == "local":
            if runner is not None:
                runner.close()  # the preforked processes exit unused
                runner = None
            summaries = [_crawl_or_failure(db_path, snapshot, settings, {**spider_args, "queue": str(queue)})]
        else:
            if runner is None:
                runner = engine_named(engine, workers=processes, fresh_process=True)
            buckets = [
                CrawlBucket(str(db_path), snapshot, str(bucket.path), bucket.links, settings, spider_args)
                for bucket in split_queue(queue, processes)
            ]
            try:
                summaries = _crawl_buckets(runner, buckets)
            finally:
                for bucket in buckets:
                    Path(bucket.queue).unlink(missing_ok=True)
    finally:
        queue.unlink(missing_ok=True)
        if runner is not None:
            runner.close()
    outcomes: dict[str, int] = {}
    for summary in summaries:
        for outcome, count in summary["outcomes"].items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
    merged = sum(summary["merged"] for summary in summaries)
    # what a bucket could not merge (the store busy at its end, its process killed) is merged here, once: the
    # buckets merged the rest as they went, so the driver's share stays small whatever the crawl's size
    left_staged = bool(complete_batches(staging))
    if left_staged:
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
