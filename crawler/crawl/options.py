"""The Scrapy settings `linksweep crawl` asks for (its options, and any `--set NAME=VALUE`), checked before a
crawl starts: a setting Scrapy cannot use would otherwise fail inside the crawl, with a traceback.

Scrapy is imported only to check a setting that names a class: importing it takes most of a second, which
every other command would pay.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class BadCrawlSetting(ValueError):
    """A crawl setting the crawl cannot use: a `--set` that is no NAME=VALUE, a reactor that cannot be
    loaded, a size cap that is no positive number of bytes."""


def scrapy_settings(
    *,
    concurrency: int,
    per_host: int,
    max_content_bytes: int,
    timeout: float,
    obey_robots: bool,
    user_agent: str | None,
    assignments: Sequence[str] = (),
) -> dict[str, Any]:
    """The settings of a crawl: those its options name, then every `NAME=VALUE` of `assignments` (any Scrapy
    setting, winning over the options). BadCrawlSetting names the first one the crawl cannot use."""
    settings: dict[str, Any] = {
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_host,
        "DOWNLOAD_MAXSIZE": max_content_bytes,
        "DOWNLOAD_TIMEOUT": timeout,
        "ROBOTSTXT_OBEY": obey_robots,
    }
    if user_agent:
        settings["USER_AGENT"] = user_agent
    for assignment in assignments:
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
