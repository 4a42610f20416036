"""FailFastHostnameEndpoint (crawler/crawl/connect.py): a failed connection is reported as soon as every address
of the name failed, not on Twisted's next 300 ms tick (twisted/twisted#8202). Driven on Twisted's in-memory
reactor: no network, no real time."""

from __future__ import annotations

from twisted.internet import protocol
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.error import ConnectingCancelledError, ConnectionRefusedError
from twisted.internet.interfaces import IHostnameResolver
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from zope.interface import implementer

import crawler.crawl.settings as crawl_settings
from crawler.crawl.connect import FailFastHostnameEndpoint


@implementer(IHostnameResolver)
class Answers:
    """Resolves every name to `addresses`, at once."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    def resolveHostName(self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"):  # noqa: N802,N803
        receiver.resolutionBegan(None)
        for address in self.addresses:
            receiver.addressResolved(IPv4Address("TCP", address, portNumber))
        receiver.resolutionComplete()


def reactor_answering(*addresses: str) -> MemoryReactorClock:
    reactor = MemoryReactorClock()
    reactor.installNameResolver(Answers(*addresses))
    return reactor


def outcome(deferred) -> list:
    results: list = []
    deferred.addBoth(results.append)
    return results


def refuse(reactor: MemoryReactorClock, attempt: int) -> None:
    factory = reactor.tcpClients[attempt][2]
    factory.clientConnectionFailed(reactor.connectors[attempt], Failure(ConnectionRefusedError()))


def accept(reactor: MemoryReactorClock, attempt: int) -> None:
    factory = reactor.tcpClients[attempt][2]
    factory.buildProtocol(None).makeConnection(StringTransport())


FACTORY = protocol.Factory.forProtocol(protocol.Protocol)


def test_a_refused_connection_fails_at_once_not_on_the_next_tick():
    reactor = reactor_answering("127.0.0.1")
    results = outcome(FailFastHostnameEndpoint(reactor, "a.test", 80).connect(FACTORY))
    refuse(reactor, 0)
    assert len(results) == 1 and results[0].check(ConnectionRefusedError)
    assert not reactor.getDelayedCalls()  # nothing left ticking

    # the cause, in Twisted's own endpoint: the failure waits for the next 300 ms tick
    reactor = reactor_answering("127.0.0.1")
    results = outcome(HostnameEndpoint(reactor, "a.test", 80).connect(FACTORY))
    refuse(reactor, 0)
    assert results == []
    reactor.advance(0.3)
    assert len(results) == 1 and results[0].check(ConnectionRefusedError)


def test_the_next_address_is_tried_as_soon_as_one_fails_and_the_last_failure_ends_it():
    reactor = reactor_answering("127.0.0.1", "127.0.0.2")
    results = outcome(FailFastHostnameEndpoint(reactor, "a.test", 80).connect(FACTORY))
    assert [client[0] for client in reactor.tcpClients] == ["127.0.0.1"]
    refuse(reactor, 0)
    assert [client[0] for client in reactor.tcpClients] == ["127.0.0.1", "127.0.0.2"]  # no 300 ms wait
    assert results == []
    refuse(reactor, 1)
    assert len(results) == 1 and results[0].check(ConnectionRefusedError)
    assert not reactor.getDelayedCalls()


def test_a_slow_address_gets_company_after_the_attempt_delay_and_the_first_connection_wins():
    reactor = reactor_answering("127.0.0.1", "127.0.0.2")
    results = outcome(FailFastHostnameEndpoint(reactor, "a.test", 80).connect(FACTORY))
    reactor.advance(0.29)
    assert len(reactor.tcpClients) == 1
    reactor.advance(0.01)
    assert len(reactor.tcpClients) == 2  # Twisted's 300 ms between attempts, as before
    accept(reactor, 1)
    assert len(results) == 1 and isinstance(results[0], protocol.Protocol)
    assert reactor.connectors[0].stoppedConnecting  # the slower attempt is cancelled
    assert not reactor.getDelayedCalls()


def test_a_cancelled_connection_cancels_its_attempts():
    reactor = reactor_answering("127.0.0.1", "127.0.0.2")
    connecting = FailFastHostnameEndpoint(reactor, "a.test", 80).connect(FACTORY)
    results = outcome(connecting)
    connecting.cancel()
    assert len(results) == 1 and results[0].check(ConnectingCancelledError)
    assert reactor.connectors[0].stoppedConnecting
    assert not reactor.getDelayedCalls()


def test_the_crawl_downloads_through_the_fail_fast_handler():
    handler = "crawler.crawl.connect.FailFastHTTP11DownloadHandler"
    assert {"http": handler, "https": handler} == crawl_settings.DOWNLOAD_HANDLERS
