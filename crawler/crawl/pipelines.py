"""Item pipeline of the resolve spider: results go to staged Parquet batches, merged into the store every few
seconds in short transactions (see pipelines/crawl/results.py), with a progress line on the way."""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from typing import Any

from twisted.internet import task, threads

from pipelines.crawl import CrawlBatches, crawl_staging, merge_into_store

PROGRESS_LOGGER = "linksweep.crawl"
logger = logging.getLogger(PROGRESS_LOGGER)


class StoreResultsPipeline:
    def __init__(self, merge_every: float, progress_every: float, batch_rows: int) -> None:
        self.merge_every = merge_every
        self.progress_every = progress_every
        self.batch_rows = batch_rows
        self.outcomes: Counter[str] = Counter()
        self.over_cap = 0  # responses over DOWNLOAD_MAXSIZE (--max-content-bytes), compressed or decoded
        self.started = time.monotonic()
        self.merged = 0
        self._merging = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> StoreResultsPipeline:
        settings = crawler.settings
        pipeline = cls(
            settings.getfloat("LINKSWEEP_MERGE_EVERY", 5.0),
            settings.getfloat("LINKSWEEP_PROGRESS_EVERY", 10.0),
            settings.getint("LINKSWEEP_BATCH_ROWS", 500),
        )
        pipeline.crawler = crawler
        return pipeline

    def open_spider(self, spider: Any = None) -> None:
        spider = spider or self.crawler.spider
        self.spider = spider
        self.batches = CrawlBatches(crawl_staging(spider.db_path), rows_per_batch=self.batch_rows)
        self._merge_loop = task.LoopingCall(self._merge_soon)
        self._merge_loop.start(self.merge_every, now=False)
        self._progress_loop = task.LoopingCall(self._progress)
        self._progress_loop.start(self.progress_every, now=False)

    def process_item(self, item: dict, spider: Any = None) -> dict:
        self.batches.add(item["result"], item["matches"], item["checks"])
        self.outcomes[item["result"]["outcome"]] += 1
        self.over_cap += item["result"]["error_class"] == "too-large"
        return item

    def _merge_soon(self) -> Any:
        """Flush and merge in a thread (DuckDB work off the reactor); skip if the last merge still runs."""
        if self._merging is not None:
            return None
        self.batches.flush()
        self._merging = threads.deferToThread(merge_into_store, self.spider.db_path, self.batches.folder)

        def done(merged: int | None) -> None:
            self._merging = None
            if merged:
                self.merged += merged

        def failed(failure: Any) -> None:
            self._merging = None
            logger.error("merging crawl results failed (they stay staged): %s", failure.getErrorMessage())

        self._merging.addCallbacks(done, failed)
        return None

    def _progress(self) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        total = sum(self.outcomes.values())
        logger.info(
            "resolved %s links (%.0f/s): %s flagged, %s refused, %s errors; %s merged into the store",
            f"{total:,}",
            total / elapsed,
            f"{self.outcomes['flagged']:,}",
            f"{self.outcomes['refused']:,}",
            f"{self.outcomes['error']:,}",
            f"{self.merged:,}",
        )

    async def close_spider(self, spider: Any = None) -> None:
        """Flush what is left and merge it (waiting up to a minute for a busy store); record the summary."""
        from scrapy.utils.defer import maybe_deferred_to_future

        for loop in (self._merge_loop, self._progress_loop):
            if loop.running:
                loop.stop()
        if self._merging is not None:  # let a merge in flight finish first
            with contextlib.suppress(Exception):
                await maybe_deferred_to_future(self._merging)
        self.batches.flush()
        merged = await maybe_deferred_to_future(
            threads.deferToThread(merge_into_store, self.spider.db_path, self.batches.folder, wait_seconds=60)
        )
        self.merged += merged or 0
        self._progress()
        self.spider.crawl_summary = {
            "outcomes": dict(self.outcomes),
            "over_cap": self.over_cap,
            "merged": self.merged,
            "seconds": time.monotonic() - self.started,
            "left_staged": merged is None,
        }
