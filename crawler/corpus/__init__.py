"""Corpus readers: WARC/ARC/WAT files and URL tables turned into documents and outgoing links."""

from crawler.corpus.html_links import refresh_url
from crawler.corpus.readers import reader_for
from crawler.corpus.remote import (
    USER_AGENT,
    RemoteFile,
    RemoteInfo,
    RemoteOptions,
    RemoteReadError,
    check_url,
    is_url,
    probe_remote,
)
from crawler.corpus.s3 import list_s3_prefix
from crawler.corpus.sniff import UnknownFormat, sniff
from crawler.corpus.source_reader import SourceResult, SourceTask, read_source
from crawler.corpus.tables import URL_COLUMN_CANDIDATES

__all__ = [
    "RemoteFile",
    "RemoteInfo",
    "RemoteOptions",
    "RemoteReadError",
    "USER_AGENT",
    "check_url",
    "is_url",
    "list_s3_prefix",
    "probe_remote",
    "SourceResult",
    "SourceTask",
    "URL_COLUMN_CANDIDATES",
    "UnknownFormat",
    "read_source",
    "reader_for",
    "refresh_url",
    "sniff",
    "synthetic",
]
