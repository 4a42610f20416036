"""How a hash-service client talks HTTP: timeouts, retries with backoff, `Retry-After`, rate limit and breaker."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class HttpPolicy:
    """How a client talks HTTP: timeouts, retries, rate limit and circuit-breaker settings.

    Only transient failures are retried (connection errors, timeouts, HTTP 429/502/503/504), with exponential
    backoff minus up to `jitter` of each delay; a `Retry-After` in seconds is waited out when it is at most
    `retry_after_cap`, and a longer one ends the retries. `clock` (monotonic seconds), `sleep` and `rng` are
    injectable so that tests never wait for real.
    """

    timeout: tuple[float, float] = (5.0, 20.0)  # (connect, read) seconds
    retries: int = 2  # retries after the first attempt
    backoff: float = 0.5  # first retry delay; doubles each time
    backoff_max: float = 8.0
    jitter: float = 0.5  # fraction of each delay that is randomised away
    retry_after_cap: float = 30.0
    rate_limit: float | None = None  # requests per second per client, None = unlimited
    burst: int = 1
    breaker_threshold: int = 5  # consecutive failed lookups that open the breaker
    breaker_cooldown: float = 30.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.timeout, tuple) or len(self.timeout) != 2 or not all(map(positive, self.timeout)):
            problems.append("timeout must be two positive numbers (connect, read)")
        if not isinstance(self.retries, int) or self.retries < 0:
            problems.append("retries must be a whole number >= 0")
        if not (non_negative(self.backoff) and non_negative(self.backoff_max) and non_negative(self.retry_after_cap)):
            problems.append("backoff, backoff_max and retry_after_cap must be numbers >= 0")
        if not non_negative(self.jitter) or self.jitter > 1:
            problems.append("jitter must be between 0 and 1")
        if self.rate_limit is not None and not positive(self.rate_limit):
            problems.append("rate_limit must be a positive number of requests per second")
        if not isinstance(self.burst, int) or self.burst < 1:
            problems.append("burst must be a whole number >= 1")
        if not isinstance(self.breaker_threshold, int) or self.breaker_threshold < 1:
            problems.append("breaker_threshold must be a whole number >= 1")
        if not non_negative(self.breaker_cooldown):
            problems.append("breaker_cooldown must be a number >= 0")
        if problems:
            raise ValueError("; ".join(problems))

    def backoff_delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (0 for the first retry)."""
        delay = min(self.backoff_max, self.backoff * 2**retry)
        return delay * (1 - self.jitter * self.rng())


def positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def non_negative(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds; the HTTP-date form is treated as absent (backoff applies)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
