"""Every hop judged before it is fetched: the downloader middleware checks each request's URL against the
lists and refuses IP-literal hosts outside the address policy; the DNS resolver refuses names that resolve to
such addresses, or to a listed IP. A refused or flagged hop is never requested."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

from pipelines.matching import Hit, UrlMatcher
from pipelines.urls import NetworkPolicy, canonicalize, special_use_name

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler


class FlaggedHop(IgnoreRequest):
    """A hop a list flags: the chain stops here and the hop is never requested."""

    def __init__(self, url: str, hits: list[Hit], expression: str | None = None) -> None:
        super().__init__(f"listed: {url}")
        self.url = url
        self.hits = hits
        self.expression = expression


class RefusedAddress(IgnoreRequest):
    """A hop whose address the policy refuses (loopback, private, metadata, ...)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"refused address for {url}: {reason}")
        self.url = url
        self.reason = reason


class RefusedName(RefusedAddress):
    """A hop to a special-use or single-label name: refused before any lookup (it names nothing on the Internet,
    or whatever the local resolver, mDNS or a search domain makes of it)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(url, reason)
        self.args = (f"refused name in {url}: {reason}, not looked up",)


class RefusedResolution(DNSLookupError):
    """A name that resolves to a refused or listed address: raised in the resolver, before any connection."""

    def __init__(self, name: str, address: str, reason: str, hits: list[Hit] | None = None) -> None:
        super().__init__(f"{name} resolves to {address}: {reason}")
        self.name = name
        self.address = address
        self.reason = reason
        self.hits = hits or []


class CrawlGuard:
    """The list matcher and address policy of one crawl, shared by the middleware and the resolver."""

    def __init__(self, matcher: UrlMatcher, policy: NetworkPolicy, static_names: Iterable[str] = ()) -> None:
        self.matcher = matcher
        self.policy = policy
        # names the crawl's static host table answers (tests, local mirrors): never looked up, so not refused
        self.static_names = frozenset(name.lower().rstrip(".") for name in static_names)
        # names refused at resolution, by name: the download handler reports only "cannot resolve"
        self.refused_names: dict[str, RefusedResolution] = {}

    def judge_url(self, url: str) -> None:
        """Raise FlaggedHop or RefusedAddress for a URL that must not be requested."""
        verdict, hits = self.matcher.verdict(url)
        if verdict == "block":
            raise FlaggedHop(url, [hit for hit in hits if hit.entry.effect == "block"])
        canonical = canonicalize(url)
        if canonical is None:
            raise RefusedAddress(url, "no host")
        if canonical.is_ip:
            reason = self.policy.refusal(canonical.host)
            if reason is not None:
                raise RefusedAddress(url, reason)
        elif canonical.host not in self.static_names:
            reason = special_use_name(canonical.host)
            if reason is not None:
                raise RefusedName(url, reason)

    def judge_address(self, name: str, address: str) -> None:
        """Raise RefusedResolution when `name` resolved to an address the policy refuses or a list flags."""
        reason = self.policy.refusal(address)
        refusal = None
        if reason is not None:
            refusal = RefusedResolution(name, address, reason)
        else:
            verdict, hits = self.matcher.verdict(f"http://{address}/")
            if verdict == "block":
                refusal = RefusedResolution(
                    name, address, "listed address", [h for h in hits if h.entry.effect == "block"]
                )
        if refusal is not None:
            self.refused_names[name.lower().rstrip(".")] = refusal
            raise refusal

    def refusal_for(self, url: str) -> RefusedResolution | None:
        """The resolution refusal behind a request that failed with "cannot resolve", if it was one."""
        canonical = canonicalize(url)
        return self.refused_names.get(canonical.host) if canonical is not None else None


# The guard of the crawl running in this process. Scrapy builds the DNS resolver once per process (from the
# process settings, not from a crawler), so the resolver finds the guard here rather than on a crawler.
_ACTIVE_GUARD: CrawlGuard | None = None


def install_guard(guard: CrawlGuard) -> None:
    global _ACTIVE_GUARD
    _ACTIVE_GUARD = guard


def active_guard() -> CrawlGuard:
    if _ACTIVE_GUARD is None:  # nothing may be fetched before the spider has set the guard up
        raise IgnoreRequest("crawl guard not ready")
    return _ACTIVE_GUARD


class GuardMiddleware:
    """Downloader middleware, first in line: every request (first hop, redirect hop, robots.txt) is judged."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        active_guard().judge_url(request.url)


class RefusalMiddleware:
    """Downloader middleware placed after the retry middleware's exception handling (a higher number than
    RetryMiddleware's 550): a name the resolver refused fails as that refusal, which is final, instead of as a
    "cannot resolve" error that would be retried."""

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        if "resolve" in type(exception).__name__.lower():
            refusal = active_guard().refusal_for(request.url)
            if refusal is not None:
                raise refusal


class GuardedResolver(CachingThreadedResolver):
    """The DNS resolver of the crawl: the address a name resolves to is judged before any connection.

    `LINKSWEEP_STATIC_HOSTS` (a dict name -> IP) answers for names first: tests map reserved `.test` names to
    loopback addresses with it.
    """

    def __init__(self, reactor: Any, cache_size: int, timeout: float, crawler: Crawler) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.crawler = crawler
        self.static_hosts = {
            name.lower(): address
            for name, address in (crawler.settings.getdict("LINKSWEEP_STATIC_HOSTS") or {}).items()
        }

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> GuardedResolver:
        cache_size = crawler.settings.getint("DNSCACHE_SIZE") if crawler.settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, crawler.settings.getfloat("DNS_TIMEOUT"), crawler)

    def getHostByName(self, name: str, timeout: Any = ()) -> defer.Deferred:  # noqa: N802 - Twisted's API
        static = self.static_hosts.get(name.lower().rstrip("."))
        special = special_use_name(name) if static is None else None
        if special is not None:  # the guard refuses these first; never sent to DNS whoever asks
            return defer.fail(DNSLookupError(f"{name}: {special}, not looked up"))
        resolved = defer.succeed(static) if static is not None else super().getHostByName(name, timeout)

        def judge(address: str) -> str:
            active_guard().judge_address(name, address)
            return address

        return resolved.addCallback(judge)
