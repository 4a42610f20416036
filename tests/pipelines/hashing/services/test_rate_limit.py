"""RateLimiter: spacing requests, bursts, and one slot per caller across threads."""

from __future__ import annotations

import threading

import pytest

from pipelines.hashing.services.rate_limit import RateLimiter
from pipelines.hashing.services.results import NO_MATCH
from tests.pipelines.hashing.services.fakes import MISS, hma_client


def test_rate_limiter_delays_requests(hma, clock):
    client = hma_client(hma, clock, rate_limit=5.0)
    for _ in range(3):
        assert client.lookup("sha256", MISS).status == NO_MATCH
    assert clock.sleeps == pytest.approx([0.2, 0.2])
    assert len(hma.server.requests) == 3


def test_rate_limiter_allows_a_burst_then_refills(clock):
    limiter = RateLimiter(2.0, burst=3, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.5])
    clock.now += 10.0
    assert limiter.acquire() == 0.0


def test_rate_limiter_is_thread_safe(clock):
    slept: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:  # the clock does not move: every caller must get its own slot
        with lock:
            slept.append(seconds)

    limiter = RateLimiter(10.0, clock=clock, sleep=record)
    start = threading.Barrier(10)

    def worker() -> None:
        start.wait()
        limiter.acquire()

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(slept) == pytest.approx([0.1 * slot for slot in range(1, 10)])
