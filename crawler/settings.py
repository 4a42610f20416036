"""Scrapy settings of linksweep's resolver crawl (the spiders arrive with the resolver-crawl issue).

Safety defaults that must hold for every spider: bodies stay in memory (no HTTP cache, no files pipeline).
"""

BOT_NAME = "linksweep"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Fetched bodies live in memory only: hash, then drop.
HTTPCACHE_ENABLED = False
ITEM_PIPELINES: dict[str, int] = {}

ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
TELNETCONSOLE_ENABLED = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
