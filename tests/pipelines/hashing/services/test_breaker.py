"""The circuit breaker: opening after consecutive failed lookups, the half-open trial, closing again."""

from __future__ import annotations

from pipelines.hashing.services.breaker import CircuitBreaker
from pipelines.hashing.services.results import CIRCUIT_OPEN, MATCH, UNCHECKED, LookupResult
from tests.pipelines.hashing.services.fakes import HIT, Reply, hma_client


def test_breaker_opens_after_consecutive_failures_then_half_opens_and_closes(hma, clock):
    hma.add(71, HIT)
    hma.fail_lookup = Reply(503)
    client = hma_client(hma, clock, breaker_threshold=3, breaker_cooldown=30.0)
    for _ in range(3):
        assert client.lookup("sha256", HIT).error == "raw_lookup: HTTP 503"
    assert client.breaker.state == CircuitBreaker.OPEN
    for _ in range(4):
        assert client.lookup("sha256", HIT) == LookupResult(
            UNCHECKED, error=CIRCUIT_OPEN, signal_type="sha256", signal=HIT
        )
    assert len(hma.server.requests) == 3  # nothing reached the server while open
    clock.now += 29.9
    assert client.lookup("sha256", HIT).error == CIRCUIT_OPEN
    hma.fail_lookup = None
    clock.now += 0.1
    assert client.lookup("sha256", HIT).status == MATCH  # the half-open trial
    assert client.breaker.state == CircuitBreaker.CLOSED
    assert client.lookup("sha256", HIT).status == MATCH
    assert hma.paths("/m/") == ["/m/raw_lookup"] * 5


def test_failed_trial_reopens_the_breaker(hma, clock):
    hma.fail_lookup = Reply(503)
    client = hma_client(hma, clock, breaker_threshold=2, breaker_cooldown=10.0)
    client.lookup("sha256", HIT)
    client.lookup("sha256", HIT)
    clock.now += 10.0
    assert client.lookup("sha256", HIT).error == "raw_lookup: HTTP 503"  # the trial
    assert client.lookup("sha256", HIT).error == CIRCUIT_OPEN
    assert len(hma.server.requests) == 3


def test_breaker_counts_lookups_not_attempts(hma, clock):
    hma.fail_lookup = Reply(503)
    client = hma_client(hma, clock, retries=2, breaker_threshold=2)
    client.lookup("sha256", HIT)
    assert client.breaker.state == CircuitBreaker.CLOSED
    client.lookup("sha256", HIT)
    assert client.breaker.state == CircuitBreaker.OPEN
    assert len(hma.server.requests) == 6


def test_half_open_admits_a_single_trial(clock):
    breaker = CircuitBreaker(threshold=1, cooldown=5.0, clock=clock)
    breaker.record_failure()
    assert not breaker.allow()
    clock.now += 5.0
    assert breaker.allow() and not breaker.allow()  # the second caller waits for the trial's outcome
    breaker.record_success()
    assert breaker.allow() and breaker.state == CircuitBreaker.CLOSED
