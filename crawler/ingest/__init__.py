"""Ingest: reading a snapshot's corpus files (local, or streamed from HTTPS mirrors) in worker processes and
committing them to the store."""

from crawler.corpus import RemoteOptions, RemoteReadError
from crawler.ingest.files import MissingInput
from crawler.ingest.runner import IngestSummary, ingest
from crawler.ingest.sources import (
    CC_SUBSETS,
    DEFAULT_CC_BASE_URL,
    RemoteSource,
    Source,
    SourceSpecError,
    expand_sources,
)

__all__ = [
    "CC_SUBSETS",
    "DEFAULT_CC_BASE_URL",
    "IngestSummary",
    "MissingInput",
    "RemoteOptions",
    "RemoteReadError",
    "RemoteSource",
    "Source",
    "SourceSpecError",
    "expand_sources",
    "ingest",
]
