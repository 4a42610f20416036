"""Ingest: reading a snapshot's corpus files in worker processes and committing them to the store."""

from crawler.ingest.runner import MissingInput, ingest

__all__ = [
    "MissingInput",
    "ingest",
]
