"""Reading a list file as batches of lines, whatever its format: gzip, UTF-8 or UTF-16, line endings, a digest of
the bytes as stored, and the feed of each batch to a format's line parser."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pipelines.lists.formats.common import FormatReport, LineParser, ListFormatError
from pipelines.store import file_sha256 as stored_file_sha256

BATCH_LINES = 50_000  # lines parsed at a time: what a large list costs in memory, whatever its length
READ_BYTES = 1 << 20


def _decode(path: Path | str, raw: bytes) -> str:
    """Text of a whole UTF-16 list file (the only encoding read whole: its lines cannot be cut as bytes)."""
    return raw.decode("utf-16", "replace")


class _HashingReader(io.RawIOBase):
    """Reads a file, feeding every byte read to a digest (the sha256 of the file as stored)."""

    def __init__(self, handle, digest) -> None:
        self.handle, self.digest = handle, digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self.handle.readinto(buffer)
        if count and self.digest is not None:
            self.digest.update(memoryview(buffer)[:count])
        return count


def line_batches(path: Path, digest=None) -> Iterator[list[str]]:
    """The physical lines of a list file, BATCH_LINES at a time: gunzipped when gzipped, UTF-8 (BOM tolerated)
    with undecodable bytes replaced by U+FFFD, or UTF-16 with a BOM; \n and \r\n endings, a final newline
    starts no other line. Fed to `digest` as read. ListFormatError for an unreadable, corrupt or binary file."""
    try:
        with open(path, "rb") as handle:
            stream = io.BufferedReader(_HashingReader(handle, digest), READ_BYTES)
            if stream.peek(2)[:2] == b"\x1f\x8b":
                stream = gzip.GzipFile(fileobj=stream)
            yield from _decoded_batches(path, stream)
            while stream.read(READ_BYTES):  # the rest (gzip trailer): the digest covers the whole file
                pass
    except OSError as error:
        if isinstance(error, gzip.BadGzipFile):
            raise ListFormatError(f"{path}: corrupt gzip data ({error})") from None
        raise ListFormatError(f"{path}: cannot read the file ({error.strerror or error})") from None
    except (EOFError, zlib.error) as error:
        raise ListFormatError(f"{path}: corrupt gzip data ({error})") from None


def _decoded_batches(path: Path, stream) -> Iterator[list[str]]:
    head = stream.read(READ_BYTES)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = _decode(path, head + stream.read())
        lines = _split_lines(text)
        for start in range(0, len(lines), BATCH_LINES):
            yield lines[start : start + BATCH_LINES]
        return
    if head[:3] == b"\xef\xbb\xbf":
        head = head[3:]
    pending = b""
    batch: list[str] = []
    chunk = head
    while chunk:
        if b"\x00" in chunk:
            raise ListFormatError(f"{path}: binary data (NUL bytes), not a text list")
        data = pending + chunk
        cut = data.rfind(b"\n") + 1
        pending = data[cut:]
        if cut:
            batch.extend(_split_lines(data[:cut].decode("utf-8", "replace")))
            while len(batch) >= BATCH_LINES:
                yield batch[:BATCH_LINES]
                del batch[:BATCH_LINES]
        chunk = stream.read(READ_BYTES)
    if pending:
        batch.extend(_split_lines(pending.decode("utf-8", "replace")))
    if batch:
        yield batch


def _split_lines(text: str) -> list[str]:
    """Physical lines, for \n and \r\n endings; a final newline does not start another line."""
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def content_lines(lines: list[str], report: FormatReport) -> Iterator[tuple[int, str, str]]:
    """(line number, line, stripped line) of non-blank lines; counts blanks and rejects undecodable lines."""
    check_replacement = any("\ufffd" in line for line in lines)
    for line_no, line in enumerate(lines, start=report.file_lines + 1):
        stripped = line.strip()
        if not stripped:
            report.blank += 1
        elif check_replacement and "\ufffd" in line:
            report.rejected.append((line_no, line, "undecodable bytes (not UTF-8)"))
        else:
            yield line_no, line, stripped


def feed(
    parse: LineParser,
    batches: Iterable[list[str]],
    report: FormatReport,
    on_batch: Callable[[FormatReport], None] | None,
    reason_prefix: str = "",
) -> None:
    """Parse a file's line batches into `report`; `on_batch` takes each batch's entries and lines out of it."""
    report.file_lines = 0
    report.content_seen = False
    for batch in batches:
        first = len(report.rejected), len(report.unsupported)
        parse(batch, report)
        if reason_prefix:
            for kind, start in zip(("rejected", "unsupported"), first, strict=True):
                items = getattr(report, kind)
                items[start:] = [(line_no, text, reason_prefix + reason) for line_no, text, reason in items[start:]]
        report.lines += len(batch)
        report.file_lines += len(batch)
        if on_batch is not None:
            on_batch(report)
    finish = getattr(parse, "finish", None)
    if finish is not None:
        finish(report)
        if on_batch is not None:
            on_batch(report)


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes as stored."""
    try:
        return stored_file_sha256(path)
    except OSError as error:
        raise ListFormatError(f"{path}: cannot read the file ({error.strerror or error})") from None
