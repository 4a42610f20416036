"""Tell a corpus file's format from its first bytes, never from its name."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
# an ARC v1 record header line: URL, IP, 14-digit date, mime, length. Possessive quantifiers: no field can be
# matched by giving characters back, and backtracking over a long run of digits with no line end was quadratic;
# mime and length are one field or two, split at their last space.
_ARC_HEADER = re.compile(rb"^\S++ \S++ \d{14} (?:\S*+ )?\d++[ \t\f\v]*+\r?\n")


class UnknownFormat(ValueError):
    """The file is none of the formats linksweep reads."""


@dataclass(frozen=True)
class FileFormat:
    container: str  # warc, arc, parquet, jsonl, csv
    gzipped: bool

    @property
    def name(self) -> str:
        return f"{self.container}.gz" if self.gzipped else self.container


def _gunzip_head(head: bytes) -> bytes:
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
    except zlib.error as error:
        raise UnknownFormat(f"starts like gzip but does not decompress ({error})") from None


def _classify(head: bytes) -> str | None:
    stripped = head.lstrip(b"\r\n\t ")
    if stripped.startswith(b"WARC/"):
        return "warc"
    if stripped.startswith(b"filedesc://") or _ARC_HEADER.match(stripped):
        return "arc"
    if stripped.startswith(b"{"):
        return "jsonl"
    first_line = stripped.split(b"\n", 1)[0]
    if (
        first_line
        and b"\x00" not in head
        and (b"," in first_line or b"\t" in first_line or b"url" in first_line.lower())
    ):
        return "csv"
    return None


def sniff(path: str | Path) -> FileFormat:
    """The format of `path`, from its magic bytes (and, for gzip, its first decompressed bytes)."""
    with open(path, "rb") as stream:
        head = stream.read(65536)
    return sniff_bytes(head)


def sniff_bytes(head: bytes) -> FileFormat:
    """The format of a file that starts with `head` (its first 64 KB, or all of a shorter file)."""
    if not head:
        raise UnknownFormat("file is empty")
    if head.startswith(PARQUET_MAGIC):
        return FileFormat("parquet", False)
    if head.startswith(ZSTD_MAGIC):
        raise UnknownFormat("zstd-compressed files are not supported yet; decompress first")
    gzipped = head.startswith(GZIP_MAGIC)
    content = _gunzip_head(head) if gzipped else head
    container = _classify(content)
    if container is None:
        preview = content[:40].decode("latin-1").encode("unicode_escape").decode("ascii")
        raise UnknownFormat(f"not a WARC, ARC, WAT, Parquet, JSONL or CSV file (starts with {preview!r})")
    return FileFormat(container, gzipped)
