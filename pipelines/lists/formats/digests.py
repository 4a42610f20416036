"""The hashed formats `sha256`, `sha1` and `md5`: one hex digest of a URL expression per line, full or a prefix
(as Safe Browsing lists hold them)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pipelines.lists.formats.common import FormatReport, LineParser, ListFile, RawEntry
from pipelines.lists.formats.reader import content_lines

if TYPE_CHECKING:
    from pipelines.lists.formats.sample import Sample

HASH_HEX_LENGTHS = {"sha256": 64, "sha1": 40, "md5": 32}
MIN_HASH_PREFIX = 8  # hex digits (4 bytes, the shortest Safe Browsing hash prefix)

_HEX = "0123456789abcdef"


def parse_digests(lines: list[str], report: FormatReport, algorithm: str) -> None:
    """One hex digest (or an even-length prefix of 8+ hex digits) per line; anything after whitespace ignored."""
    full = HASH_HEX_LENGTHS[algorithm]
    report.hash_algorithm = algorithm
    entries, rejected = report.entries, report.rejected
    for line_no, line, text in content_lines(lines, report):
        if text[0] == "#":
            report.comments += 1
            continue
        digest = text.split(None, 1)[0].lower()
        if digest.strip(_HEX):
            rejected.append((line_no, line, "not hexadecimal"))
        elif len(digest) > full:
            rejected.append((line_no, line, f"longer than a {algorithm} digest ({full} hex digits)"))
        elif len(digest) % 2:
            rejected.append((line_no, line, "odd number of hex digits"))
        elif len(digest) < MIN_HASH_PREFIX:
            rejected.append((line_no, line, f"hash prefix shorter than {MIN_HASH_PREFIX} hex digits"))
        else:
            entries.append(RawEntry(line_no, "hash", digest))


def line_parser(request: ListFile) -> LineParser:
    return partial(parse_digests, algorithm=request.format)


def sniff(sample: Sample) -> tuple[str, str] | None:
    """Every entry line a full digest of one length: the algorithm of that length."""
    tokens = [text.split(None, 1)[0].lower() for text in sample.entry_lines]
    total = len(tokens)
    for algorithm, length in HASH_HEX_LENGTHS.items():
        if all(len(token) == length and not token.strip(_HEX) for token in tokens):
            return algorithm, f"every entry line is a {length}-digit hex digest ({algorithm}): {total} lines checked"
    return None
