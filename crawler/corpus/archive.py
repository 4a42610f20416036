"""WARC/ARC record streams: FastWARC for WARC, warcio for ARC and for what FastWARC cannot read."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from crawler.corpus.gzip_members import GzipMembers

# Record types whose HTTP headers matter (status, Location, Link, Content-Type).
HTTP_RESPONSE_TYPES = frozenset({"response", "revisit"})

# A block larger than this is read only up to it (links live in the first megabytes of a page); every
# block is read, so that a record cut short by a truncated file is detected whatever its type.
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024


@dataclass(slots=True)
class ArchiveRecord:
    """One WARC/ARC record as the rest of linksweep sees it, whichever library read it."""

    record_type: str  # lower case: response, resource, conversion, metadata, request, revisit, ...
    record_id: str | None
    target_uri: str | None
    offset: int | None
    length: int | None
    warc_content_type: str | None
    payload_digest: str | None
    http_status: int | None = None
    http_headers: list[tuple[str, str]] = field(default_factory=list)
    payload: bytes | None = None  # HTTP entity (still transfer/content-encoded) or the record block
    truncated: str | None = None  # set when the block is shorter than its declared length (file cut off)
    reader_warnings: list[str] = field(default_factory=list)  # what the reading library said of it
    _headers_by_name: dict[str, list[str]] | None = None  # http_headers by lowercase name, built on first lookup

    def _http_headers_by_name(self) -> dict[str, list[str]]:
        if self._headers_by_name is None:
            by_name: dict[str, list[str]] = {}
            for key, value in self.http_headers:
                by_name.setdefault(key.lower(), []).append(value)
            self._headers_by_name = by_name
        return self._headers_by_name

    def http_header(self, name: str) -> str | None:
        values = self._http_headers_by_name().get(name.lower())
        return values[0] if values else None

    def http_header_values(self, name: str) -> list[str]:
        return list(self._http_headers_by_name().get(name.lower(), ()))


def _clean_uri(uri: str | None) -> str | None:
    # WARC/1.0 examples write the target URI in angle brackets; some writers follow them
    if uri and uri.startswith("<") and uri.endswith(">"):
        return uri[1:-1]
    return uri


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text and text.strip().isdigit() else None


def split_http_response(block: bytes) -> tuple[int | None, list[tuple[str, str]], bytes] | None:
    """Status, headers and entity of an archived HTTP response block, or None if it is not one.

    Parsed here, not by the WARC library, so that both readers agree byte for byte, and leniently:
    archived responses end header lines with LF only (ClueWeb), omit the reason phrase, or fold lines.
    """
    if not block.startswith(b"HTTP/"):
        return None
    crlf_end = block.find(b"\r\n\r\n")
    lf_end = block.find(b"\n\n", 0, crlf_end if crlf_end >= 0 else len(block))
    if crlf_end >= 0 and (lf_end < 0 or crlf_end < lf_end):
        head, entity = block[:crlf_end], block[crlf_end + 4 :]
    elif lf_end >= 0:
        head, entity = block[:lf_end], block[lf_end + 2 :]
    else:
        head, entity = block, b""
    lines = head.decode("latin-1").replace("\r", "").split("\n")
    status_parts = lines[0].split(None, 2)
    status = _int_or_none(status_parts[1]) if len(status_parts) > 1 else None
    # each header as its name and the parts of its value (folded lines are joined once, at the end: joining
    # them one at a time copied the value so far for every line)
    parts: list[tuple[str, list[str]]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and parts:
            parts[-1][1].append(line.strip())
            continue
        name, colon, value = line.partition(":")
        if colon and name.strip():
            parts.append((name.strip(), [value.strip()]))
    return status, [(name, " ".join(values)) for name, values in parts], entity


# Record types that never hold a document: their headers are not looked up (requests are half of a crawl).
NON_DOCUMENT_TYPES = frozenset({"request", "warcinfo"})

# A record type is one token (WARC's own types, or an extension's), or missing; anything else means the reader
# lost the record boundaries, as FastWARC does on a file with bare LF line endings: its one "record" is the
# whole file, typed by all of it.
_RECORD_TYPE = re.compile(r"(?:[a-z0-9][a-z0-9_.+/-]*+)?")


class LostRecordBoundaries(ValueError):
    """The reader yielded a record it cannot type: it did not find where records start and end, and reading on
    would lose what follows without a trace. Raised to end the reading early, so that the next reader runs."""


_WARC_RECORD_TYPES = frozenset(
    {"warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion", "continuation", ""}
)


def _check_boundaries(record_type: str, offset: int | None) -> None:
    if record_type not in _WARC_RECORD_TYPES and not _RECORD_TYPE.fullmatch(record_type):
        preview = " ".join(record_type[:40].split())
        raise LostRecordBoundaries(f"record at offset {offset} has no record type a WARC can have ({preview!r})")


def _archive_record(
    record_type: str,
    warc_header: Callable[[str], str | None],
    offset: int | None,
    block_length: int | None,
    block: bytes,
) -> ArchiveRecord:
    if record_type in NON_DOCUMENT_TYPES:
        archive_record = ArchiveRecord(record_type, None, None, offset, block_length, None, None, payload=block)
    else:
        archive_record = ArchiveRecord(
            record_type=record_type,
            record_id=warc_header("WARC-Record-ID"),
            target_uri=_clean_uri(warc_header("WARC-Target-URI")),
            offset=offset,
            length=block_length,
            warc_content_type=warc_header("Content-Type"),
            payload_digest=warc_header("WARC-Payload-Digest"),
            payload=block,
        )
    if block_length is None:  # warcio then reads to the end of the file as its block
        archive_record.reader_warnings.append("no Content-Length: the record's end is a guess")
    elif len(block) < min(block_length, MAX_PAYLOAD_BYTES):
        archive_record.truncated = f"record at offset {offset} is truncated: {len(block)} of {block_length} bytes"
    elif block_length > MAX_PAYLOAD_BYTES and record_type not in NON_DOCUMENT_TYPES:
        archive_record.reader_warnings.append(
            f"block of {block_length:,} bytes read up to the cap of {MAX_PAYLOAD_BYTES:,} bytes:"
            " what follows is not read"
        )
    if record_type in HTTP_RESPONSE_TYPES:
        http_response = split_http_response(block)
        if http_response is not None:
            archive_record.http_status, archive_record.http_headers, archive_record.payload = http_response
    return archive_record


def read_fastwarc(stream: BinaryIO | str | GzipMembers) -> Iterator[ArchiveRecord]:
    """Records of a WARC (any version, gzip per record or not) read by FastWARC, strict: it raises
    on the first malformed record instead of skipping silently, so the caller can fall back.

    `stream` may be the file's path: FastWARC then reads it natively, faster than through Python; or, for a
    gzipped file, its members inflated by ISA-L (GzipMembers), faster still, with each record's offset
    that of its member."""
    from fastwarc.warc import ArchiveIterator

    members = stream if isinstance(stream, GzipMembers) else None
    read_to = 0  # where the latest record's block ends at the least (its header's length is not known)
    for record in ArchiveIterator(stream, parse_http=False, auto_decode="none"):
        headers = record.headers
        record_type = (headers.get("WARC-Type") or "").strip().lower()
        offset = record.stream_pos if members is None else members.member_offset(record.stream_pos)
        _check_boundaries(record_type, offset)
        block = record.reader.read(MAX_PAYLOAD_BYTES)
        length = record.content_length
        if length == 0 and "Content-Length" not in headers:  # FastWARC says 0 when it is missing
            length = None
        read_to = record.stream_pos + record.content_length
        yield _archive_record(record_type, headers.get, offset, length, block)
    if members is not None and members.error:
        raise OSError(members.error)
    _check_read_to_the_end(stream, members, read_to)


# What may follow where a file's last block ends at the least: that record's header (its length is not known
# here) and the blank lines after it. More unread bytes than this mean the reader stopped before the end.
LAST_HEADER_BYTES = 64 * 1024


def _check_read_to_the_end(stream: BinaryIO | str | GzipMembers, members: GzipMembers | None, read_to: int) -> None:
    """Raise LostRecordBoundaries if FastWARC ended without error well before the end of the file."""
    if members is not None:
        while members.read(1 << 20):  # nothing is left when FastWARC read to the end: this costs nothing then
            pass
        size = members.tell()
    elif isinstance(stream, str):
        with open(stream, "rb") as file:
            if file.read(2) == b"\x1f\x8b":  # gzip FastWARC inflates itself: its positions are not the file's
                return
            size = os.fstat(file.fileno()).st_size
    else:
        return
    if size - read_to > LAST_HEADER_BYTES:
        raise LostRecordBoundaries(
            f"the reader ended at byte {read_to:,} of {size:,}, before the end of the file, without an error"
        )


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# Namespace of the record ids given to ARC records (uuid5 of the record's ordinal and ARC header line).
_ARC_RECORD_IDS = uuid.UUID("4b0e6f3a-9d43-5b5e-8c1e-1f7d2a6c9b21")


@functools.cache
def _deterministic_arc_ids_class() -> type:
    """warcio's ARC-to-WARC header parser, giving each converted record the same WARC-Record-ID in every run:
    warcio's own is a random uuid4, which made a file's documents differ between two ingests."""
    from warcio.recordloader import ARC2WARCHeadersParser

    class DeterministicArcIds(ARC2WARCHeadersParser):
        def __init__(self) -> None:
            super().__init__()
            self.ordinal = 0

        def _get_protocol_and_headers(self, headerline, parts):
            protocol, headers = super()._get_protocol_and_headers(headerline, parts)
            self.ordinal += 1
            record_id = f"<urn:uuid:{uuid.uuid5(_ARC_RECORD_IDS, f'{self.ordinal}|{headerline}')}>"
            return protocol, [(name, record_id if name == "WARC-Record-ID" else value) for name, value in headers]

    return DeterministicArcIds


def read_warcio(stream: BinaryIO) -> Iterator[ArchiveRecord]:
    """Records of a WARC or ARC file read by warcio (ARC records are converted to WARC terms).

    What warcio prints about a record (a Content-Length that does not end where the record does, a target
    URI with spaces) is kept on the record as `reader_warnings` instead of going to the terminal.
    """
    from warcio.archiveiterator import ArchiveIterator

    collector = _WarningCollector()
    warcio_logger = logging.getLogger("warcio")
    warcio_logger.addHandler(collector)
    warcio_logger.propagate = False
    printed = io.StringIO()
    try:
        iterator = ArchiveIterator(stream, arc2warc=True, no_record_parse=True)
        iterator.loader.arc_parser = _deterministic_arc_ids_class()()
        records = iter(iterator)
        while True:
            with contextlib.redirect_stderr(printed):
                record = next(records, None)
                if record is None:
                    return
                record_type = (record.rec_type or "").strip().lower()
                # read the block before asking for the offset: warcio skips to the record's end to find it
                block = record.raw_stream.read(MAX_PAYLOAD_BYTES)
                offset = iterator.get_record_offset()
            _check_boundaries(record_type, offset)
            # record.length is the block length (for ARC, the declared length minus the converted header)
            archive_record = _archive_record(record_type, record.rec_headers.get_header, offset, record.length, block)
            archive_record.reader_warnings[:0] = [
                " ".join(line.split()) for line in printed.getvalue().split("WARNING:") if line.strip()
            ] + collector.messages
            printed.seek(0)
            printed.truncate()
            collector.messages = []
            yield archive_record
    finally:
        warcio_logger.removeHandler(collector)
        warcio_logger.propagate = True


# What every reader is: the file in (a stream of its bytes; FastWARC also takes its path), records out.
ArchiveReader = Callable[[Any], Iterator[ArchiveRecord]]
