"""`linksweep crawl`: run the resolve spider in this process with the CLI's options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

import crawler.settings as default_settings
from crawler.spiders.resolve import ResolveSpider


@dataclass(frozen=True)
class CrawlSummary:
    queued: int
    outcomes: dict[str, int]
    merged: int
    seconds: float
    left_staged: bool

    def line(self) -> str:
        done = sum(self.outcomes.values())
        rate = done / self.seconds if self.seconds else 0.0
        staged = "; some results stay staged (store busy): the next crawl merges them" if self.left_staged else ""
        return (
            f"crawled {done:,} of {self.queued:,} queued links in {self.seconds:.1f} s ({rate:,.0f}/s): "
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


def run_crawl(
    db_path: Path, snapshot: str, *, settings: dict[str, Any] | None = None, **spider_args: Any
) -> CrawlSummary:
    """Resolve the snapshot's links (see ResolveSpider for the arguments); blocks until the crawl ends."""
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
    return CrawlSummary(
        spider.queued, summary["outcomes"], summary["merged"], summary["seconds"], summary["left_staged"]
    )
