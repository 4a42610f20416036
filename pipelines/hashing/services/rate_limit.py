"""A token bucket that spaces out one client's requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pipelines.hashing.services.http_policy import positive


class RateLimiter:
    """Token bucket, thread-safe: `acquire` reserves a token and sleeps until it is due."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not positive(rate) or burst < 1:
            raise ValueError("a rate limiter needs a positive rate and a burst >= 1")
        self.rate = float(rate)
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting if the bucket is empty; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1  # below zero: a reservation that later callers queue behind
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait
