"""The yardstick of bench/crawl.py: a bare Scrapy spider resolving links (redirects followed, nothing else: no
other middleware, no item pipeline, no store), for one process's share of the bench's web.

    python bench/bare_spider.py URLS.txt HOSTS.json [--keep-limit]

URLS.txt holds one URL a line; HOSTS.json maps the bench's host names to 127.0.0.1 (a resolver answering only
those: loopback only). Settings match the crawl's defaults: 64 concurrent requests, 2 per host, no AutoThrottle.

Stock Scrapy (2.19) on its default asyncio reactor lets bursts of requests past the per-host limit (up to 9 in
flight for one host with 2 allowed: crawler/crawl/downloader.py). `--keep-limit` runs the same spider with the
crawl's downloader, which keeps the limit exact: the fair yardstick for `linksweep crawl`, which keeps it too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # --keep-limit loads the crawl's downloader
    sys.path.insert(0, str(ROOT))

import scrapy  # noqa: E402
from scrapy.crawler import CrawlerProcess  # noqa: E402
from scrapy.resolver import CachingThreadedResolver  # noqa: E402
from twisted.internet import defer  # noqa: E402
from twisted.internet.error import DNSLookupError  # noqa: E402

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
    arguments = [argument for argument in sys.argv[1:] if argument != "--keep-limit"]
    keep_limit = len(arguments) < len(sys.argv) - 1
    urls = Path(arguments[0]).read_text().split()
    HOSTS.update(json.loads(Path(arguments[1]).read_text()))
    # the crawl's downloader (a request counts against its host's limit as it leaves the slot's queue)
    downloader = {"DOWNLOADER": "crawler.crawl.downloader.PerHostLimitDownloader"} if keep_limit else {}
    process = CrawlerProcess(
        {
            **downloader,
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
