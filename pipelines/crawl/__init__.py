"""The crawl's data, without Scrapy: the queue of URLs to resolve and the store of what each resolved to."""

from pipelines.crawl.buckets import Bucket, assign_domains, split_queue
from pipelines.crawl.queue import DEFAULT_RECHECK_DAYS, UnknownWatchList, write_crawl_queue
from pipelines.crawl.results import (
    CrawlBatches,
    complete_batches,
    crawl_staging,
    evidence_json,
    merge_batches,
    merge_into_store,
    unchecked_count,
)

__all__ = [
    "Bucket",
    "assign_domains",
    "split_queue",
    "CrawlBatches",
    "DEFAULT_RECHECK_DAYS",
    "UnknownWatchList",
    "complete_batches",
    "crawl_staging",
    "evidence_json",
    "merge_batches",
    "merge_into_store",
    "unchecked_count",
    "write_crawl_queue",
]
