"""Content hashes of fetched bodies, hash lists to match them against, and hash-service clients."""

from pipelines.hashing.content import hash_content, pdq_available
from pipelines.hashing.hash_lists import HASH_ALGOS, ContentHashMatcher, HashLineParser
from pipelines.hashing.services import lookup_all, services_from_config

__all__ = [
    "ContentHashMatcher",
    "HASH_ALGOS",
    "HashLineParser",
    "hash_content",
    "lookup_all",
    "pdq_available",
    "services_from_config",
]
