"""Content hashes of fetched bodies, matching them against content-hash lists, and hash-service clients."""

from pipelines.hashing.content import hash_content, pdq_available
from pipelines.hashing.matcher import ContentHashMatcher
from pipelines.hashing.services import lookup_all, services_from_config

__all__ = [
    "ContentHashMatcher",
    "hash_content",
    "lookup_all",
    "pdq_available",
    "services_from_config",
]
