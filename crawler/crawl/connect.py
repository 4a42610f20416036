"""Connections that fail as soon as every address of a name has failed, not up to 300 ms later.

Twisted's HostnameEndpoint (what Scrapy's HTTP/1.1 handler connects through) tries a name's addresses one every
300 ms, and notices that none is left only on the next tick: a refused or unreachable connection is reported
up to 300 ms after it failed (twisted/twisted#8202, open). The crawl's resolver answers one address per name, so
every failed connection paid the whole 300 ms; with the per-host limit, a host that refuses connections holds
its two places that long per attempt (measured: 0.30 s per refused connection on loopback; the bench web's
60 pages on a refusing host, tried twice each, kept one crawl process busy for ~18 s after the rest was done).

FailFastHostnameEndpoint starts the next address at once when an attempt fails (and every 300 ms otherwise,
as Twisted does), and fails as soon as the last attempt has failed. The crawl's download handler makes Twisted's
web client (Scrapy's agents) connect through it.
"""

from __future__ import annotations

from typing import Any

import twisted.web.client
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from twisted.internet import defer, error
from twisted.internet.address import HostnameAddress, IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import HostnameEndpoint, TCP4ClientEndpoint, TCP6ClientEndpoint
from twisted.internet.interfaces import IResolutionReceiver
from twisted.python.failure import Failure
from zope.interface import implementer


@implementer(IResolutionReceiver)
class _Addresses:
    def __init__(self) -> None:
        self.found: list[Any] = []
        self.resolved: Deferred[list[Any]] = Deferred()

    def resolutionBegan(self, resolution: Any) -> None:  # noqa: N802 - Twisted's API
        pass

    def addressResolved(self, address: Any) -> None:  # noqa: N802 - Twisted's API
        self.found.append(address)

    def resolutionComplete(self) -> None:  # noqa: N802 - Twisted's API
        self.resolved.callback(self.found)


class _Attempts:
    """Connection attempts to `endpoints` in order, the next one `delay` seconds after the last or as soon as it
    failed; `winner` fires with the first connection, or fails with the last error once every attempt failed."""

    def __init__(self, reactor: Any, endpoints: list[Any], factory: Any, delay: float, address: Any) -> None:
        self.reactor = reactor
        self.left = list(endpoints)
        self.factory = factory
        self.delay = delay
        self.pending: list[Deferred] = []
        self.failures: list[Failure] = []
        self.timer: Any = None
        self.done = False
        self.winner: Deferred = Deferred(lambda d: d.errback(error.ConnectingCancelledError(address)))
        self.winner.addBoth(self._finish)
        self._next()

    def _next(self) -> None:
        self.timer = None
        if self.done or not self.left:
            return
        attempt = self.left.pop(0).connect(self.factory)
        self.pending.append(attempt)
        attempt.addBoth(self._settled, attempt)
        if self.left and not self.done and self.timer is None:
            self.timer = self.reactor.callLater(self.delay, self._next)

    def _settled(self, result: Any, attempt: Deferred) -> None:
        self.pending.remove(attempt)
        if self.done:  # another attempt won, or the connection was cancelled: this one is moot
            return
        if not isinstance(result, Failure):
            self.winner.callback(result)
            return
        self.failures.append(result)
        if self.left:
            if self.timer is not None:
                self.timer.cancel()
            self._next()
        elif not self.pending:
            self.winner.errback(self.failures.pop())

    def _finish(self, result: Any) -> Any:
        self.done = True
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None
        for attempt in self.pending[:]:
            attempt.cancel()
        return result


class FailFastHostnameEndpoint(HostnameEndpoint):
    """HostnameEndpoint, but a connection fails as soon as its last address failed (see the module's doc)."""

    def connect(self, protocolFactory: Any) -> Deferred:  # noqa: N803 - Twisted's API
        if self._badHostname:
            return defer.fail(ValueError(f"invalid hostname: {self._hostText}"))
        addresses = _Addresses()
        self._getNameResolverAndMaybeWarn(self._reactor).resolveHostName(
            addresses, self._hostText, portNumber=self._port
        )
        resolved = addresses.resolved.addErrback(
            lambda _: defer.fail(error.DNSLookupError(f"Couldn't find the hostname '{self._hostText}'"))
        )
        return resolved.addCallback(self._attempt, protocolFactory)

    def _attempt(self, addresses: list[Any], factory: Any) -> Deferred:
        endpoints = [
            (TCP6ClientEndpoint if isinstance(address, IPv6Address) else TCP4ClientEndpoint)(
                self._reactor, address.host, address.port, self._timeout, self._bindAddress
            )
            for address in addresses
            if isinstance(address, (IPv4Address, IPv6Address))
        ]
        if not endpoints:
            raise error.DNSLookupError(f"no results for hostname lookup: {self._hostText}")
        where = HostnameAddress(self._hostBytes, self._port)
        return _Attempts(self._reactor, endpoints, factory, self._attemptDelay, where).winner


def connect_fail_fast() -> None:
    """Twisted's web client (Scrapy's HTTP/1.1 agents) connects through FailFastHostnameEndpoint in this
    process."""
    twisted.web.client.HostnameEndpoint = FailFastHostnameEndpoint


class FailFastHTTP11DownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, connecting through FailFastHostnameEndpoint."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        connect_fail_fast()
