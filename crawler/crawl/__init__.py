"""The Scrapy project that resolves links: settings, spiders, middlewares, item pipelines and the runner.

The runner's names import Scrapy, which takes most of a second: they are imported when first asked for, so
that the command line pays for it only when it crawls.
"""

from crawler.crawl.options import BadCrawlSetting, CrawlOptions, scrapy_settings

__all__ = [
    "BadCrawlSetting",
    "CrawlOptions",
    "crawl_snapshot",
    "run_crawl",
    "scrapy_settings",
]

_RUNNER_NAMES = ("crawl_snapshot", "run_crawl")


def __getattr__(name: str):
    if name in _RUNNER_NAMES:
        from crawler.crawl import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
