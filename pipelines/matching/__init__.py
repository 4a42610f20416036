"""Matching a snapshot's URLs against list versions: the driver, the SQL and compiled kernels, and the
in-memory matcher the crawler uses on every hop."""

from pipelines.matching.driver import match_snapshot
from pipelines.matching.in_memory import Hit, UrlMatcher
from pipelines.matching.kernels import KERNEL_ENVIRONMENT_VARIABLE

__all__ = [
    "Hit",
    "KERNEL_ENVIRONMENT_VARIABLE",
    "UrlMatcher",
    "compiled",
    "match_snapshot",
]
