"""The Scrapy project that resolves links: settings, spiders, middlewares, item pipelines and the runner."""

from crawler.crawl.runner import run_crawl

__all__ = [
    "run_crawl",
]
