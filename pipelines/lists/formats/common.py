"""What every list format shares: the entry a line becomes, the report that accounts for every line, the error for
a whole file, and the tests of a token (IP address, network, host name) that several formats' syntax rests on."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")

# adblock's cosmetic-rule separators: a line starting with one of them is a rule, not a `#` comment
ADBLOCK_COSMETIC_MARKERS = ("##", "#@#", "#?#", "#@?#", "#$#", "#@$#", "#%#", "#@%#", "#$?#", "#@$?#")


class ListFormatError(ValueError):
    """A whole-file problem: unreadable, binary, missing CSV column, unknown format name."""


@dataclass(frozen=True, slots=True)
class RawEntry:
    line_no: int  # 1-based line in its file (for UT1 folders: line in that file)
    kind: str  # "domain", "url", "cidr" or "hash"
    value: str
    exception: bool = False  # an allowlist exception inside a blocklist (adblock "@@")
    subdomains: bool = True  # for "domain": whether the entry also covers subdomains
    file: str | None = None  # for folder formats (UT1): the file inside the folder it came from
    label: str | None = None  # for "content" (a content hash of a hash list): the label the list gives it


@dataclass
class FormatReport:
    """Every line of a list file accounted for: entries, comments, blanks, rejected and unsupported lines."""

    path: str
    format: str
    sha256: str
    entries: list[RawEntry] = field(default_factory=list)
    comments: int = 0
    blank: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line_no, line, reason): malformed
    unsupported: list[tuple[int, str, str]] = field(default_factory=list)  # valid syntax deliberately skipped
    decided_by: str | None = None  # for auto: why that format was chosen
    hash_algorithm: str | None = None  # "sha256"/"sha1"/"md5" for hashed lists
    lines: int = 0  # physical lines read (over all files of a folder)
    file_lines: int = 0  # lines of the current file read before the batch being parsed (numbers its lines)
    content_seen: bool = False  # a content line of the current file was read (domains: the first may be a title)

    def entry_lines(self) -> int:
        """Number of distinct lines that produced entries (a hosts line with three hosts counts once)."""
        return len({(entry.file, entry.line_no) for entry in self.entries})

    def accounted_lines(self) -> int:
        """Lines accounted for; equals `lines` when the parser saw every line exactly once."""
        return self.entry_lines() + self.comments + self.blank + len(self.rejected) + len(self.unsupported)

    def summary(self) -> str:
        return (
            f"{self.path} ({self.format}): {self.lines:,} lines: {len(self.entries):,} entries from "
            f"{self.entry_lines():,} lines, {self.comments:,} comment, {self.blank:,} blank, "
            f"{len(self.rejected):,} rejected, {len(self.unsupported):,} unsupported"
        )


# A format's line parser reads one batch of a file's lines into the report; it may have a `finish(report)` method,
# called once after the last batch (for a CSV without a header, a hash list without a usable hash).
LineParser = Callable[[list[str], FormatReport], None]


@dataclass(frozen=True, slots=True)
class ListFile:
    """A list file to read: where it is, the format to read it in, and the options some formats take."""

    path: Path
    format: str
    subdomains: bool = False  # hosts: the entries cover subdomains too
    column: str | None = None  # csv: the column to read


_ip_cache: dict[str, bool] = {}


def is_ip(token: str) -> bool:
    """Whether a token is an IPv4 or IPv6 address (cached: hosts files repeat the same sink address)."""
    known = _ip_cache.get(token)
    if known is None:
        try:
            ipaddress.ip_address(token)
            known = True
        except ValueError:
            known = False
        if len(_ip_cache) < 1024:
            _ip_cache[token] = known
    return known


def is_cidr(token: str) -> bool:
    """Whether a token is an IP network written address/prefix-length, e.g. 198.51.100.0/24."""
    address, slash, length = token.partition("/")
    if not slash or not length.isdigit() or not is_ip(address):
        return False
    try:
        ipaddress.ip_network(token, strict=False)
    except ValueError:
        return False
    return True


def looks_like_host(token: str) -> bool:
    """A host name or IPv4 address as written (uBlock Origin's test for a bare hostname rule), or an IPv6 address.

    Letters, digits, '.', '-', '_' (and non-ASCII letters), a dot inside, starting and ending with a letter or
    digit (a final root '.' allowed): `-ad-300x250.` and `_chartbeat.js` are not hosts.
    """
    if ":" in token:
        return is_ip(token)
    name = token[:-1] if token.endswith(".") else token
    return (
        "." in name
        and name[0].isalnum()
        and name[-1].isalnum()
        and ".." not in name
        and all(char in _HOST_CHARS or (char > "\x7f" and char.isalnum()) for char in name)
    )
