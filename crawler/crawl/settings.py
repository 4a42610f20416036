"""Scrapy settings of linksweep's resolver crawl (`scrapy crawl resolve` and `linksweep crawl`).

Safety defaults that must hold for every spider:
- bodies stay in memory: no HTTP cache, no files/images pipeline, nothing of a body in logs;
- every request passes the guard first (pipelines/ lists + address policy), redirects included: Scrapy's own
  redirect middlewares are off so that each hop is a request the guard sees;
- names are resolved by the guarded resolver, which refuses private, loopback, link-local, metadata and other
  special addresses (and listed IPs) before any connection.
"""

BOT_NAME = "linksweep"
SPIDER_MODULES = ["crawler.crawl.spiders"]
NEWSPIDER_MODULE = "crawler.crawl.spiders"

# Fetched bodies live in memory only: hash, then drop.
HTTPCACHE_ENABLED = False
ITEM_PIPELINES = {"crawler.crawl.pipelines.StoreResultsPipeline": 100}

# Scrapy's downloader, but a request counts against its host's limit as soon as it leaves the queue (see
# crawler/crawl/downloader.py: on the asyncio reactor Scrapy let bursts past CONCURRENT_REQUESTS_PER_DOMAIN)
DOWNLOADER = "crawler.crawl.downloader.PerHostLimitDownloader"
# Scrapy's HTTP/1.1 handler, but a connection that fails (refused, unreachable) is reported at once, not up to
# 300 ms later (crawler/crawl/connect.py): with the per-host limit, a refusing host held its places that long
DOWNLOAD_HANDLERS = {
    "http": "crawler.crawl.connect.FailFastHTTP11DownloadHandler",
    "https": "crawler.crawl.connect.FailFastHTTP11DownloadHandler",
}
DOWNLOADER_MIDDLEWARES = {
    "crawler.crawl.middlewares.GuardMiddleware": 1,  # before anything else sees the request
    # a refused resolution is final: not retried (RetryMiddleware: 550)
    "crawler.crawl.middlewares.RefusalMiddleware": 590,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,  # the spider follows redirects hop by hop
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": None,  # no proxy from the environment
    "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware": None,
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    "scrapy.downloadermiddlewares.stats.DownloaderStats": None,
}
# spider middlewares that do nothing for a resolver (its requests are not page links to filter or rank)
SPIDER_MIDDLEWARES = {
    "crawler.crawl.spiders.resolve.RecordSpiderErrors": 1000,  # first to see a callback's exception: a recorded outcome
    "scrapy.spidermiddlewares.referer.RefererMiddleware": None,
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
}
TWISTED_DNS_RESOLVER = "crawler.crawl.middlewares.GuardedResolver"
DNSCACHE_ENABLED = True
DNSCACHE_SIZE = 100_000
DNS_TIMEOUT = 10

# robots.txt: off by default. Resolving a link fetches what a browser following it would fetch, once; obeying
# robots.txt would leave disallowed redirectors and shorteners unresolved (their targets unchecked) and costs an
# extra request per host. Turn it on (-s ROBOTSTXT_OBEY=True / --obey-robots) where policy asks for it.
ROBOTSTXT_OBEY = False

# Politeness and scale
CONCURRENT_REQUESTS = 64
CONCURRENT_REQUESTS_PER_DOMAIN = 2
CONCURRENT_ITEMS = 1  # one result per response: no task per item, which raises requests/s
# AutoThrottle is off: CONCURRENT_REQUESTS_PER_DOMAIN already bounds what one host sees (a resolver crawl asks a
# host for a few redirects), and its latency-driven delays cost more than they protect (docs/crawl.md).
# `--set AUTOTHROTTLE_ENABLED=True` turns it on with the settings below.
AUTOTHROTTLE_ENABLED = False
AUTOTHROTTLE_START_DELAY = 0.1
AUTOTHROTTLE_MAX_DELAY = 10
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 20
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024  # --max-content-bytes; a larger body is cancelled, never read whole
DOWNLOAD_WARNSIZE = 0
RETRY_ENABLED = True
RETRY_TIMES = 1
RETRY_HTTP_CODES = [502, 503, 504, 522, 524, 408, 429]  # transient only
COOKIES_ENABLED = False
REACTOR_THREADPOOL_MAXSIZE = 20
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.DownloaderAwarePriorityQueue"
USER_AGENT = "linksweep-resolver/0.1 (+https://example.org/linksweep; link-safety checks for dataset cleaning)"

TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # no control port either
RETRY_GIVE_UP_LOG_LEVEL = "INFO"  # a link that failed every try is an outcome in crawl_results, not a run error
# Scrapy re-reads the source of generator callbacks to warn about `return value` in them, on every response
WARN_ON_GENERATOR_RETURN_VALUE = False
LOGSTATS_INTERVAL = 0  # linksweep prints its own progress line
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"

# linksweep's own settings
LINKSWEEP_STATIC_HOSTS: dict[str, str] = {}  # name -> IP answered before DNS (tests, local mirrors)
LINKSWEEP_MERGE_EVERY = 5.0  # seconds between merges of staged results into the store
LINKSWEEP_PROGRESS_EVERY = 10.0
LINKSWEEP_BATCH_ROWS = 500
LINKSWEEP_MAX_SCHEDULED = 2_000  # requests waiting in the scheduler before the queue file is read further
