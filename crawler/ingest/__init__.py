"""Ingest: reading a snapshot's corpus files in worker processes and committing them to the store."""

from crawler.ingest.files import MissingInput, RemoteSourceUnsupported
from crawler.ingest.runner import ingest

__all__ = [
    "MissingInput",
    "RemoteSourceUnsupported",
    "ingest",
]
