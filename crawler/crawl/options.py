"""The Scrapy settings `linksweep crawl` asks for (its options, and any `--set NAME=VALUE`), checked before a
crawl starts: a setting Scrapy cannot use would otherwise fail inside the crawl, with a traceback.

Scrapy is imported only to check a setting that names a class: importing it takes most of a second, which
every other command would pay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class BadCrawlSetting(ValueError):
    """A crawl setting the crawl cannot use: a `--set` that is no NAME=VALUE, a reactor that cannot be
    loaded, a size cap that is no positive number of bytes."""


@dataclass(frozen=True)
class CrawlOptions:
    """What a crawl's options ask of Scrapy; `assignments` are `NAME=VALUE` settings that win over the rest."""

    concurrency: int = 64
    per_host: int = 2
    max_content_bytes: int = 10 * 1024 * 1024
    timeout: float = 20.0
    obey_robots: bool = False
    user_agent: str | None = None
    assignments: Sequence[str] = ()


def scrapy_settings(options: CrawlOptions) -> dict[str, Any]:
    """The Scrapy settings of a crawl: those its options name, then every `NAME=VALUE` of its assignments (any
    Scrapy setting, winning over the options). BadCrawlSetting names the first one the crawl cannot use."""
    settings: dict[str, Any] = {
        "CONCURRENT_REQUESTS": options.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": options.per_host,
        "DOWNLOAD_MAXSIZE": options.max_content_bytes,
        "DOWNLOAD_TIMEOUT": options.timeout,
        "ROBOTSTXT_OBEY": options.obey_robots,
    }
    if options.user_agent:
        settings["USER_AGENT"] = options.user_agent
    for assignment in options.assignments:
        name, equals, value = assignment.partition("=")
        if not equals:
            raise BadCrawlSetting(f"--set {assignment!r}: expected NAME=VALUE")
        settings[name.strip()] = value
    if settings.get("TWISTED_REACTOR"):
        from scrapy.utils.misc import load_object

        try:
            load_object(settings["TWISTED_REACTOR"])
        except (ImportError, NameError, ValueError) as error:
            raise BadCrawlSetting(
                f"--set TWISTED_REACTOR={settings['TWISTED_REACTOR']}: cannot load it ({error})"
            ) from None
    try:
        max_size = int(settings["DOWNLOAD_MAXSIZE"])
    except ValueError:
        raise BadCrawlSetting(f"DOWNLOAD_MAXSIZE {settings['DOWNLOAD_MAXSIZE']!r}: not a number of bytes") from None
    if max_size <= 0:
        raise BadCrawlSetting(
            "DOWNLOAD_MAXSIZE must be a positive number of bytes (0 would read and decode bodies uncapped)"
        )
    return settings
