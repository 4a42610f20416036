"""What every client shares (HttpService): unreachable services, request errors, unsupported signal types,
concurrent lookups, and the auth header from the environment.
"""

from __future__ import annotations

import socket
import threading

import pytest

from pipelines.hashing.services.breaker import CircuitBreaker
from pipelines.hashing.services.hma import HmaClient
from pipelines.hashing.services.results import MATCH, UNCHECKED, UNSUPPORTED, LookupResult
from tests.pipelines.hashing.services.fakes import HIT, MD5_HIT, hma_client, policy


def test_service_down_is_unchecked(clock):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = HmaClient("down", f"http://127.0.0.1:{port}", policy=policy(clock, retries=1))
    result = client.lookup("sha256", HIT)
    assert result.status == UNCHECKED
    assert result.error.startswith("raw_lookup: connection error") and result.error.endswith("after 2 attempts")
    assert not client.status()


def test_bad_request_is_unchecked_but_does_not_trip_the_breaker(hma, clock):
    client = hma_client(hma, clock, breaker_threshold=1, signal_types=["sha256", "video_md5"])
    result = client.lookup("video_md5", MD5_HIT)
    assert (result.status, result.error) == (UNCHECKED, "raw_lookup: HTTP 400 (No such SignalType 'video_md5')")
    assert client.breaker.state == CircuitBreaker.CLOSED


def test_unsupported_signal_type_is_unchecked_without_a_request(hma, clock):
    client = hma_client(hma, clock, signal_types=["sha256"])
    for signal_type in ("md5", "video_md5"):
        result = client.lookup(signal_type, MD5_HIT)
        assert (result.status, result.error, result.signal_type) == (UNCHECKED, UNSUPPORTED, signal_type)
    assert hma.server.requests == []


def test_concurrent_lookups(hma, clock):
    hma.add(81, HIT)
    client = hma_client(hma, clock)
    results: list[LookupResult] = []

    def worker() -> None:
        results.extend(client.lookup("sha256", HIT) for _ in range(5))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 30 and {result.status for result in results} == {MATCH}


@pytest.mark.parametrize(
    ("value", "auth_header", "expected"),
    [
        ("X-Api-Key: synthetic-key-1", None, ("X-Api-Key", "synthetic-key-1")),
        ("Bearer synthetic-token-1", None, ("Authorization", "Bearer synthetic-token-1")),
        ("synthetic:key:2", "X-Api-Key", ("X-Api-Key", "synthetic:key:2")),  # a configured header takes it whole
    ],
)
def test_auth_header_from_the_environment(hma, clock, monkeypatch, value, auth_header, expected):
    monkeypatch.setenv("SYNTHETIC_HMA_KEY", value)
    hma.api_key = expected
    hma.add(91, HIT)
    client = hma_client(hma, clock, auth_env="SYNTHETIC_HMA_KEY", auth_header=auth_header)
    assert client.lookup("sha256", HIT).status == MATCH
    assert client.status() is True
    assert len(hma.server.requests) == 3
    assert all(request.headers.get(expected[0].lower()) == expected[1] for request in hma.server.requests)


def test_auth_problems_are_unchecked_and_never_show_the_key(hma, clock, monkeypatch):
    hma.api_key = ("X-Api-Key", "synthetic-right-key")
    client = hma_client(hma, clock, auth_env="SYNTHETIC_HMA_KEY")
    monkeypatch.delenv("SYNTHETIC_HMA_KEY", raising=False)
    missing = client.lookup("sha256", HIT)
    assert missing.status == UNCHECKED and "SYNTHETIC_HMA_KEY" in missing.error
    assert hma.server.requests == []
    monkeypatch.setenv("SYNTHETIC_HMA_KEY", "X-Api-Key: synthetic-wrong-key")
    wrong = client.lookup("sha256", HIT)
    assert (wrong.status, wrong.error) == (UNCHECKED, "raw_lookup: HTTP 401 (API key required)")
    assert "synthetic-wrong-key" not in repr(client)
