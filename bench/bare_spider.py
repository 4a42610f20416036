"""The yardstick of bench/crawl.py: a bare Scrapy spider resolving links (redirects followed, nothing else: no
other middleware, no item pipeline, no store), for one process's share of the bench's web.

    python bench/bare_spider.py URLS.txt HOSTS.json

URLS.txt holds one URL a line; HOSTS.json maps the bench's host names to 127.0.0.1 (a resolver answering only
those: loopback only). Settings match the crawl's defaults: 64 concurrent requests, 2 per host, no AutoThrottle.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

HOSTS: dict[str, str] = {}


class StaticResolver(CachingThreadedResolver):
    """Answers the bench's names from HOSTS, and nothing else."""

    def getHostByName(self, name: str, timeout=()) -> defer.Deferred:  # noqa: N802 - Twisted's API
        address = HOSTS.get(name.lower())
        return defer.succeed(address) if address else defer.fail(DNSLookupError(name))


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, urls: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.urls = urls
        self.resolved = 0

    async def start(self):
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response):
        self.resolved += 1


def main() -> None:
    urls = Path(sys.argv[1]).read_text().split()
    HOSTS.update(json.loads(Path(sys.argv[2]).read_text()))
    process = CrawlerProcess(
        {
            "LOG_LEVEL": "ERROR",
            "TELNETCONSOLE_ENABLED": False,
            "ROBOTSTXT_OBEY": False,
            "COOKIES_ENABLED": False,
            "CONCURRENT_REQUESTS": 64,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
            "AUTOTHROTTLE_ENABLED": False,
            "DNS_RESOLVER": f"{__name__}.StaticResolver",
            "DOWNLOADER_MIDDLEWARES_BASE": {"scrapy.downloadermiddlewares.redirect.RedirectMiddleware": 600},
            "SPIDER_MIDDLEWARES_BASE": {},
            "EXTENSIONS_BASE": {"scrapy.extensions.corestats.CoreStats": 0},
            "ITEM_PIPELINES_BASE": {},
        }
    )
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, urls=urls)
    process.start()
    print(json.dumps({"resolved": crawler.spider.resolved, "urls": len(urls)}))


if __name__ == "__main__":
    main()
