"""HttpPolicy as `_send` applies it: which failures are retried, backoff, Retry-After, timeouts."""

from __future__ import annotations

from pipelines.hashing.services.http_policy import HttpPolicy
from pipelines.hashing.services.results import MATCH, UNCHECKED
from tests.pipelines.hashing.services.fakes import HIT, Reply, hma_client


def test_503_is_retried_then_unchecked(hma, clock):
    hma.fail_lookup = Reply(503, {"message": "index not yet ready"})
    result = hma_client(hma, clock, retries=2, backoff=0.5).lookup("sha256", HIT)
    assert (result.status, result.error) == (UNCHECKED, "raw_lookup: HTTP 503 after 3 attempts")
    assert hma.paths() == ["/m/raw_lookup"] * 3
    assert clock.sleeps == [0.5, 1.0]  # exponential backoff (jitter 0 here)


def test_transient_failure_then_success(hma, clock):
    hma.add(61, HIT)
    hma.lookup_replies = [Reply(502), Reply(504)]
    result = hma_client(hma, clock, retries=2, backoff=0.25).lookup("sha256", HIT)
    assert result.status == MATCH
    assert clock.sleeps == [0.25, 0.5]


def test_retry_after_is_honoured(hma, clock):
    hma.add(62, HIT)
    hma.lookup_replies = [
        Reply(429, {"message": "slow down"}, {"Retry-After": "3"}),
        Reply(503, None, {"Retry-After": "1.5"}),
    ]
    result = hma_client(hma, clock, retries=2).lookup("sha256", HIT)
    assert result.status == MATCH
    assert clock.sleeps == [3.0, 1.5]
    assert hma.paths("/m/") == ["/m/raw_lookup"] * 3


def test_retry_after_over_the_cap_ends_the_retries(hma, clock):
    hma.fail_lookup = Reply(429, None, {"Retry-After": "120"})
    result = hma_client(hma, clock, retries=3, retry_after_cap=30.0).lookup("sha256", HIT)
    assert result.status == UNCHECKED
    assert result.error == "raw_lookup: HTTP 429, Retry-After 120 s is over the 30 s cap"
    assert clock.sleeps == [] and hma.paths() == ["/m/raw_lookup"]


def test_non_transient_5xx_is_not_retried(hma, clock):
    hma.fail_lookup = Reply(500, {"message": "internal error"})
    result = hma_client(hma, clock, retries=3).lookup("sha256", HIT)
    assert (result.status, result.error) == (UNCHECKED, "raw_lookup: HTTP 500 (internal error)")
    assert hma.paths() == ["/m/raw_lookup"]


def test_timeout_is_unchecked(hma, clock):
    hma.fail_lookup = Reply(200, {"matches": []}, delay=1.0)
    client = hma_client(hma, clock, timeout=(0.2, 0.2), retries=1)
    result = client.lookup("sha256", HIT)
    assert (result.status, result.error) == (UNCHECKED, "raw_lookup: timeout after 2 attempts")


def test_backoff_is_exponential_capped_and_jittered():
    fixed = HttpPolicy(backoff=1.0, backoff_max=8.0, jitter=0.5, rng=lambda: 0.5)
    assert [fixed.backoff_delay(retry) for retry in range(5)] == [0.75, 1.5, 3.0, 6.0, 6.0]
    assert HttpPolicy(backoff=1.0, jitter=0.5, rng=lambda: 0.0).backoff_delay(0) == 1.0
