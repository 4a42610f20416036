"""The `resolve` spider: follows each link of a snapshot to where it really leads, one judged hop at a time.

Redirects (HTTP 3xx, the Refresh header, `<meta http-equiv=refresh>`) are followed here rather than by
Scrapy's redirect middlewares, so that every hop is a new request the guard judges before it is fetched.
Bodies stay in memory: hashed when asked, then dropped with the response.

    scrapy crawl resolve -a snapshot=NAME [-a db=PATH] [-a limit=N] [-a recheck_after=DAYS]
                         [-a only_hosts_in=LIST] [-a allow_network=CIDR,CIDR] [-a hash_content=1]

`linksweep crawl` runs the same spider with the same arguments.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import scrapy
from scrapy.http import Response, TextResponse
from scrapy.utils.asyncio import sleep as scrapy_sleep
from selectolax.lexbor import LexborHTMLParser
from twisted.python.failure import Failure

from crawler.corpus import refresh_url
from crawler.crawl.middlewares import (
    CrawlGuard,
    FlaggedHop,
    RefusedAddress,
    RefusedName,
    RefusedResolution,
    active_guard,
    install_guard,
)
from pipelines.crawl import DEFAULT_RECHECK_DAYS, crawl_staging, evidence_json, merge_into_store, write_crawl_queue
from pipelines.matching import Hit, UrlMatcher
from pipelines.store import open_store, resolve_db_path
from pipelines.urls import InvalidURL, NetworkPolicy, header_url_text, request_url, resolve

MAX_HOPS = 10
_REFRESH_SELECTOR = "meta[http-equiv]"
_REFRESH_WORD = re.compile(r"refresh", re.IGNORECASE)  # in every page with a meta refresh


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def refresh_target(response: Response) -> str | None:
    """Where a Refresh header or a `<meta http-equiv=refresh>` of an HTML page sends the browser, if anywhere."""
    header = response.headers.get(b"Refresh")
    if header:
        target = refresh_url(header_url_text(header))
        if target:
            return target
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    if "html" not in content_type or not isinstance(response, TextResponse):
        return None
    text = response.text  # decoded as the page declares (UTF-16 too)
    if not _REFRESH_WORD.search(text):
        return None  # the common page: no parse
    # the whole body (at most --max-content-bytes): a browser honours a meta refresh after any amount of padding
    tree = LexborHTMLParser(text)
    for node in tree.css(_REFRESH_SELECTOR):
        if (node.attrs.get("http-equiv") or "").strip().lower() == "refresh":
            return refresh_url(node.attrs.get("content") or "")
    return None


def classify_failure(failure: Failure) -> tuple[str, str]:
    """(outcome, error class) of a failed hop."""
    error = failure.value
    if isinstance(error, FlaggedHop):
        return "flagged", "flagged-hop"
    if isinstance(error, RefusedResolution):
        return ("flagged", "flagged-address") if error.hits else ("refused", "refused-address")
    if isinstance(error, RefusedName):
        return "refused", "refused-name"
    if isinstance(error, RefusedAddress):
        return "refused", "refused-address"
    if isinstance(error, ValueError):  # a URL the HTTP client cannot request (InvalidURL catches most before)
        return "error", "bad-url"
    name = type(error).__name__
    text = str(error).lower()
    if "maxsize" in text or "max size" in text or "larger than download" in text:
        return "error", "too-large"
    if "timeout" in name.lower() or "timed out" in text:
        return "error", "timeout"
    if "dnslookup" in name.lower() or "cannotresolve" in name.lower():
        return "error", "dns"
    if "connectionrefused" in name.lower():
        return "error", "connection-refused"
    return "error", name


class RecordSpiderErrors:
    """Spider middleware: an exception raised while handling a response (a parser surprise, a hash service
    client bug) becomes the link's recorded `error` outcome (`spider-error`) instead of losing the link."""

    def __init__(self, spider: ResolveSpider | None = None) -> None:
        self.spider = spider

    @classmethod
    def from_crawler(cls, crawler: Any) -> RecordSpiderErrors:
        middleware = cls()
        middleware.crawler = crawler
        return middleware

    def process_spider_exception(self, response: Response, exception: Exception, spider: Any = None) -> Any:
        spider = self.spider or getattr(self, "crawler", None) and self.crawler.spider
        meta = response.meta
        if not isinstance(spider, ResolveSpider) or "origin" not in meta:
            return None  # not one of the resolver's hops: Scrapy's own handling
        spider.logger.error("error handling %s: %r", response.url, exception)
        hop = {
            "url": response.url,
            "status": response.status,
            "via": meta.get("via"),
            "peer_ip": str(response.ip_address) if response.ip_address is not None else None,
        }
        error = f"{type(exception).__name__}: {exception}"[:500]
        return [spider._result(meta, [*meta.get("hops", []), hop], response, "error", "spider-error", error)]


class ResolveSpider(scrapy.Spider):
    name = "resolve"
    custom_settings: dict[str, Any] = {}

    def __init__(
        self,
        snapshot: str | None = None,
        db: str | None = None,
        limit: str | int | None = None,
        recheck_after: str | float = DEFAULT_RECHECK_DAYS,
        only_hosts_in: str | None = None,
        allow_network: str | list[str] | None = None,
        hash_content: str | bool = False,
        max_hops: str | int = MAX_HOPS,
        queue: str | None = None,
        pdq_distance: str | int = 31,
        hash_services: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not snapshot:
            raise ValueError("the resolve spider needs -a snapshot=NAME")
        self.snapshot = snapshot
        self.db_path = resolve_db_path(db)
        self.limit = int(limit) if limit not in (None, "") else None
        self.recheck_after = float(recheck_after)
        self.only_hosts_in = only_hosts_in or None
        networks = allow_network.split(",") if isinstance(allow_network, str) else list(allow_network or [])
        self.policy = NetworkPolicy.allowing([n for n in networks if n.strip()])
        self.hash_content = str(hash_content).lower() in ("1", "true", "yes", "on")
        self.max_hops = int(max_hops)
        self.pdq_distance = int(pdq_distance)
        self.max_scheduled = 2_000  # requests waiting in the scheduler before start requests are held back
        self.hash_services_config = hash_services or None
        self.content_matcher = None
        self.content_rules: dict[tuple[str, int, str], tuple[str | None, int]] = {}
        self.services: list = []
        self.crawl_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
        self.staging = crawl_staging(self.db_path)
        # a queue prepared by `linksweep crawl` (one shard of it per process), else the spider writes its own
        self.prepared_queue = queue is not None
        self.queue_path = Path(queue) if queue else self.staging / f"queue-{self.crawl_id}.parquet"
        self.queued = 0
        self.close_reason: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> ResolveSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_scheduled = crawler.settings.getint("LINKSWEEP_MAX_SCHEDULED", spider.max_scheduled)
        spider.prepare(crawler)
        return spider

    def prepare(self, crawler: Any) -> None:
        """Merge what an interrupted run left staged, write the queue, load the lists: then the store is
        closed again for the whole crawl."""
        if self.prepared_queue:
            self.queued = pq.ParquetFile(self.queue_path).metadata.num_rows
            con = open_store(self.db_path, read_only=True, wait_seconds=60)
        else:
            merge_into_store(self.db_path, self.staging, wait_seconds=30)
            con = open_store(self.db_path, wait_seconds=30)
        try:
            if not self.prepared_queue:
                self.queued = write_crawl_queue(
                    con,
                    self.snapshot,
                    self.queue_path,
                    recheck_after_days=self.recheck_after,
                    only_hosts_in=self.only_hosts_in,
                    limit=self.limit,
                )
            matcher = UrlMatcher.from_store(con)
            if self.hash_content:
                self._load_content_lists(con)
        finally:
            con.close()
        if self.hash_services_config:
            from pipelines.hashing import services_from_config

            with open(self.hash_services_config, encoding="utf-8") as config:
                self.services = services_from_config(json.load(config))
        static_names = (crawler.settings.getdict("LINKSWEEP_STATIC_HOSTS") or {}).keys()
        install_guard(CrawlGuard(matcher, self.policy, static_names))
        self.logger.info(f"crawl {self.crawl_id}: {self.queued:,} URLs of snapshot {self.snapshot} to resolve")

    def _load_content_lists(self, con: Any) -> None:
        """The hash lists (entries of kind `content`) of the current list versions, for ContentHashMatcher."""
        from pipelines.hashing import ContentHashMatcher
        from pipelines.lists import CURRENT_VERSIONS_SQL

        rows = con.execute(
            f"""
            SELECT current.list_name, e.version_id, e.hash_algorithm, e.expression, e.entry, lists.category, e.line_no
            FROM list_entries AS e
            JOIN ({CURRENT_VERSIONS_SQL}) AS current USING (version_id)
            JOIN lists ON lists.name = current.list_name
            WHERE e.entry_kind = 'content' AND lists.list_type = 'block'
            """
        ).fetchall()
        self.content_matcher = ContentHashMatcher((row[0], row[1], row[2], row[3], row[4]) for row in rows)
        self.content_rules = {(row[0], row[1], row[3]): (row[5], row[6]) for row in rows}

    # --- requests ---------------------------------------------------------------------------------------

    async def start(self) -> Any:  # Scrapy >= 2.13
        # Scrapy takes start requests as fast as they come: hold them back while the scheduler has enough
        # work, so that a queue of millions stays in its Parquet file instead of in memory. Scrapy's sleep
        # works on every Twisted reactor (asyncio.sleep needs the asyncio one: on another, it raised, Scrapy
        # stopped reading start requests and the rest of the queue was dropped). The scheduler's length is a sum
        # over every host with requests waiting (DownloaderAwarePriorityQueue): asked for every request, it took
        # 5% of a crawl's CPU on 200 hosts, so it is asked every `every` requests (overshoot: under 64)
        every = max(1, min(64, self.max_scheduled // 16))
        for count, request in enumerate(self._queued_requests()):
            if count % every == 0:
                while self._scheduled() > self.max_scheduled:
                    await scrapy_sleep(0.02)
            yield request

    def _scheduled(self) -> int:
        scheduler = getattr(getattr(self, "crawler", None) and self.crawler.engine, "scheduler", None)
        try:
            return len(scheduler) if scheduler is not None else 0
        except TypeError:  # a scheduler without a length: no back-pressure
            return 0

    def start_requests(self) -> Iterator[scrapy.Request]:  # older Scrapy
        yield from self._queued_requests()

    def _queued_requests(self) -> Iterator[scrapy.Request | dict]:
        """A request per queued link; for a link no request can be made for, its result (an item)."""
        queue = pq.ParquetFile(self.queue_path)
        for batch in queue.iter_batches(batch_size=2_000, columns=["url"]):
            for url in batch.column(0).to_pylist():
                started = time.monotonic()
                try:
                    yield self._hop(url, url, [], "link", started)
                except ValueError as error:  # InvalidURL, or a URL Scrapy's Request refuses
                    meta = {"origin": url, "started": started}
                    yield self._result(meta, [], None, "error", "bad-url", str(error)[:500])
        if not self.prepared_queue:  # a prepared queue is its runner's: a bucket run again reads it again
            Path(self.queue_path).unlink(missing_ok=True)

    def _hop(self, url: str, origin: str, hops: list[dict], via: str, started: float) -> scrapy.Request:
        """The request for one hop: the URL as a browser requests it (no userinfo, no fragment)."""
        return scrapy.Request(
            request_url(url),
            callback=self.parse,
            errback=self.failed,
            dont_filter=True,
            meta={
                "origin": origin,
                "hops": hops,
                "via": via,
                "started": started,
                "dont_redirect": True,
                "handle_httpstatus_all": True,
                "dont_merge_cookies": True,
            },
        )

    def closed(self, reason: str) -> None:
        self.close_reason = reason  # "finished" unless something ended the crawl early

    # --- responses --------------------------------------------------------------------------------------

    async def parse(self, response: Response, **kwargs: Any) -> Any:
        meta = response.meta
        hop = {
            "url": response.url,
            "status": response.status,
            "via": meta["via"],
            "peer_ip": str(response.ip_address) if response.ip_address is not None else None,
        }
        hops = [*meta["hops"], hop]
        target, via = None, None
        locations = response.headers.getlist(b"Location") if 300 <= response.status < 400 else []
        targets = list(dict.fromkeys(header_url_text(value).strip() for value in locations if value.strip()))
        if len(targets) > 1:  # which one a client follows differs (Chrome follows none): neither is followed
            error = f"several different Location headers: {targets!r}"[:500]
            yield self._result(meta, hops, response, "error", "multiple-locations", error)
            return
        if targets:
            target, via = targets[0], "redirect"
        elif response.status == 200:
            refresh = refresh_target(response)
            if refresh:
                target, via = refresh, "meta-refresh"
        if target is not None:
            next_url = resolve(response.url, target.strip())
            try:
                next_url = request_url(next_url) if next_url is not None else None
            except InvalidURL:
                next_url = None
            if next_url is None:
                yield self._result(meta, hops, response, "error", "bad-location", f"unusable target {target!r}"[:500])
                return
            if next_url in {h["url"] for h in hops}:
                yield self._result(meta, hops, response, "error", "redirect-loop", f"loops back to {next_url}")
                return
            if len(hops) >= self.max_hops:
                yield self._result(meta, hops, response, "error", "too-many-hops", f"over {self.max_hops} hops")
                return
            yield self._hop(next_url, meta["origin"], hops, via, meta["started"])
            return
        item = self._result(meta, hops, response, "resolved", None, None)
        if self.hash_content and response.body:
            await self._judge_content(item, response)
        yield item

    async def _judge_content(self, item: dict, response: Response) -> None:
        """Hash the body (then it is dropped with the response), match hash lists, ask hash services."""
        from pipelines.hashing import hash_content, pdq_available

        result = item["result"]
        hashes = hash_content(response.body, result["content_type"], pdq=pdq_available())
        result.update(
            md5=hashes.md5, sha1=hashes.sha1, sha256=hashes.sha256, pdq=hashes.pdq, pdq_quality=hashes.pdq_quality
        )
        origin = result["url"]
        if self.content_matcher is not None:
            for hit in self.content_matcher.match(hashes, threshold=self.pdq_distance):
                category, line_no = self.content_rules.get((hit.list_name, hit.list_version, hit.hash), (None, None))
                content_hash = getattr(hashes, hit.algo)
                item["matches"].append(
                    {
                        "url": origin,
                        "version_id": hit.list_version,
                        "list_name": hit.list_name,
                        "category": category,
                        "matched_rule": hit.label or hit.hash,
                        "expression": f"{hit.algo}:{content_hash}",
                        "detected_via": "content-hash",
                        "effect": "block",
                        "entry_kind": "content",
                        "line_no": line_no,
                        "rule_expression": hit.hash,
                        "evidence": evidence_json(
                            algo=hit.algo,
                            content_hash=content_hash,
                            list_hash=hit.hash,
                            distance=hit.distance,
                            final_url=result["final_url"],
                        ),
                    }
                )
        if self.services:
            await self._ask_services(item, hashes)

    async def _ask_services(self, item: dict, hashes: Any) -> None:
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet import threads

        from pipelines.hashing import lookup_all
        from pipelines.lists import SERVICE_VERSION_ID

        signals = {name: getattr(hashes, name) for name in ("md5", "sha1", "sha256", "pdq") if getattr(hashes, name)}
        answers = await maybe_deferred_to_future(threads.deferToThread(lookup_all, self.services, signals))
        origin = item["result"]["url"]
        for service, answer in answers:
            signal_type = getattr(answer, "signal_type", None) or ""
            signal = getattr(answer, "signal", None) or signals.get(signal_type, "")
            found = answer.matches or ()
            if not found:
                item["checks"].append(
                    {"url": origin, "service": service, "signal_type": signal_type, "signal": signal,
                     "status": answer.status, "content_id": None, "bank": None, "distance": None,
                     "error": answer.error, "checked_at": _now()}
                )  # fmt: skip
            for match in found:
                item["checks"].append(
                    {"url": origin, "service": service, "signal_type": match.signal_type, "signal": match.signal,
                     "status": answer.status, "content_id": match.content_id, "bank": match.bank,
                     "distance": match.distance, "error": answer.error, "checked_at": _now()}
                )  # fmt: skip
                if answer.status == "match":
                    item["matches"].append(
                        {
                            "url": origin,
                            "version_id": SERVICE_VERSION_ID,
                            "list_name": service,
                            "category": match.bank,
                            "matched_rule": f"{service}:{match.content_id}",
                            "expression": f"{match.signal_type}:{match.signal}",
                            "detected_via": "hash-service",
                            "effect": "block",
                            "entry_kind": "content",
                            "line_no": None,
                            "rule_expression": match.content_id,
                            "evidence": evidence_json(
                                service=service,
                                signal_type=match.signal_type,
                                signal=match.signal,
                                content_id=match.content_id,
                                bank=match.bank,
                                distance=match.distance,
                            ),
                        }
                    )

    def failed(self, failure: Failure) -> Iterator[dict]:
        request = failure.request
        meta = request.meta
        error = failure.value
        refusal = active_guard().refusal_for(request.url) if "resolve" in type(error).__name__.lower() else None
        if refusal is not None:  # the download handler reports a refused name as "cannot resolve": say why
            error = refusal
            failure = Failure(refusal)
        outcome, error_class = classify_failure(failure)
        hops = list(meta["hops"])
        matches: list[dict] = []
        if outcome == "flagged":
            flagged_url = getattr(error, "url", request.url)
            hits: list[Hit] = getattr(error, "hits", [])
            chain = [h["url"] for h in hops] + [request.url]
            for hit in hits:
                matches.append(
                    {
                        "url": meta["origin"],
                        "version_id": hit.entry.version_id,
                        "list_name": hit.entry.list_name,
                        "category": hit.entry.category,
                        "matched_rule": hit.entry.entry,
                        "expression": hit.url_expression,
                        "detected_via": "redirect",
                        "effect": "block",
                        "entry_kind": hit.entry.entry_kind,
                        "line_no": hit.entry.line_no,
                        "rule_expression": hit.entry.expression,
                        "evidence": evidence_json(
                            chain=chain,
                            flagged_hop=flagged_url,
                            resolved_address=getattr(error, "address", None),
                        ),
                    }
                )
        yield self._result(meta, hops, None, outcome, error_class, str(error)[:500], matches=matches)

    def _result(
        self,
        meta: dict,
        hops: list[dict],
        response: Response | None,
        outcome: str,
        error_class: str | None,
        error: str | None,
        matches: list[dict] | None = None,
    ) -> dict:
        result = {
            "url": meta["origin"],
            "crawl_id": self.crawl_id,
            "outcome": outcome,
            "final_url": response.url if response is not None else (hops[-1]["url"] if hops else None),
            "hops": hops,
            "status": response.status if response is not None else None,
            "content_type": None,
            "content_length": None,
            "peer_ip": hops[-1]["peer_ip"] if hops else None,
            "error_class": error_class,
            "error": error,
            "fetched_at": _now(),
            "seconds": time.monotonic() - meta["started"],
        }
        if response is not None:
            result["content_type"] = (response.headers.get(b"Content-Type") or b"").decode("latin-1") or None
            result["content_length"] = len(response.body)
        return {"result": result, "matches": matches or [], "checks": []}
