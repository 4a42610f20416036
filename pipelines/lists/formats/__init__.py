"""The syntax layer of blocklist file formats: each line becomes a raw entry, or is counted as a comment, a blank
line, a rejected (malformed) line or an unsupported (valid but deliberately skipped) rule, with its line number.

Values are kept as written, stripped only of the format's syntax and surrounding whitespace: lowercasing,
punycode, host validity and deduplication belong to the canonical layer that reads these entries.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import ipaddress
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

FORMATS = (
    "domains",
    "urls",
    "hosts",
    "ut1",
    "adblock",
    "dnsmasq",
    "wildcard",
    "urlhaus-csv",
    "csv",
    "sha256",
    "sha1",
    "md5",
    "auto",
)

HASH_HEX_LENGTHS = {"sha256": 64, "sha1": 40, "md5": 32}
HASH_LIST_PREFIX = "hashes-"  # formats of content-hash lists (`hashlist`): hashes-md5, hashes-sha1...
MIN_HASH_PREFIX = 8  # hex digits (4 bytes, the shortest Safe Browsing hash prefix)

HOSTS_PREAMBLE = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "local",
        "broadcasthost",
        "ip6-localhost",
        "ip6-loopback",
        "ip6-localnet",
        "ip6-mcastprefix",
        "ip6-allnodes",
        "ip6-allrouters",
        "ip6-allhosts",
        "0.0.0.0",
    }
)
ADBLOCK_ALLOWED_OPTIONS = frozenset({"all", "document", "doc", "important"})
ADBLOCK_COSMETIC_MARKERS = ("##", "#@#", "#?#", "#@?#", "#$#", "#@$#", "#%#", "#@%#", "#$?#", "#@$?#")
ADBLOCK_OPTION_REASONS = {
    "badfilter": "cancels another rule",
    "redirect": "rewrites the request instead of blocking it",
    "redirect-rule": "rewrites the request instead of blocking it",
    "removeparam": "rewrites the request instead of blocking it",
    "queryprune": "rewrites the request instead of blocking it",
    "csp": "injects a Content-Security-Policy instead of blocking",
    "replace": "rewrites the response instead of blocking",
    "denyallow": "exempts some hosts",
}
DNSMASQ_BLOCK_DIRECTIVES = frozenset({"address", "server", "local"})
CSV_AUTO_COLUMNS = ("url", "uri", "link", "domain", "host", "hostname")
URLHAUS_MARKER_COLUMNS = frozenset({"dateadded", "url_status", "threat"})
UT1_FILE_NAME = re.compile(r"(domains|urls|expressions|usage)(?:\.(\d+))?(?:\.gz)?$")
SNIFF_SAMPLE_LINES = 200
BATCH_LINES = 50_000  # lines parsed at a time: what a large list costs in memory, whatever its length
READ_BYTES = 1 << 20

_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
_HEX = "0123456789abcdef"


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


# ---------------------------------------------------------------------------------------------------------------
# reading


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


def _line_batches(path: Path, digest=None) -> Iterator[list[str]]:
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


def _content_lines(lines: list[str], report: FormatReport) -> Iterator[tuple[int, str, str]]:
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


def _feed(
    parse: Callable[[list[str], FormatReport], None],
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


# ---------------------------------------------------------------------------------------------------------------
# small syntax helpers

_ip_cache: dict[str, bool] = {}


def _is_ip(token: str) -> bool:
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


def _is_cidr(token: str) -> bool:
    """Whether a token is an IP network written address/prefix-length, e.g. 198.51.100.0/24."""
    address, slash, length = token.partition("/")
    if not slash or not length.isdigit() or not _is_ip(address):
        return False
    try:
        ipaddress.ip_network(token, strict=False)
    except ValueError:
        return False
    return True


def _looks_like_host(token: str) -> bool:
    """A host name or IPv4 address as written (uBlock Origin's test for a bare hostname rule), or an IPv6 address.

    Letters, digits, '.', '-', '_' (and non-ASCII letters), a dot inside, starting and ending with a letter or
    digit (a final root '.' allowed): `-ad-300x250.` and `_chartbeat.js` are not hosts.
    """
    if ":" in token:
        return _is_ip(token)
    name = token[:-1] if token.endswith(".") else token
    return (
        "." in name
        and name[0].isalnum()
        and name[-1].isalnum()
        and ".." not in name
        and all(char in _HOST_CHARS or (char > "\x7f" and char.isalnum()) for char in name)
    )


def _cut_inline_comment(text: str) -> tuple[str, bool]:
    """(text before a `#` comment that follows whitespace, whether a `#` is left inside the text)."""
    pos = text.find("#")
    while pos > 0 and text[pos - 1] not in " \t":
        pos = text.find("#", pos + 1)
    if pos > 0:
        text = text[:pos].rstrip()
    return text, "#" in text


# ---------------------------------------------------------------------------------------------------------------
# one function per format; each reads the lines of one file into the report


def _parse_domains(lines: list[str], report: FormatReport, file: str | None = None) -> None:
    """One domain or IP (or CIDR network) per line; `#` and `!` comments; inline `#` after whitespace."""
    entries, rejected = report.entries, report.rejected
    for line_no, line, text in _content_lines(lines, report):
        if text[0] in "#!":
            report.comments += 1
            continue
        was_first, report.content_seen = not report.content_seen, True
        if "#" in text:
            text, inner_hash = _cut_inline_comment(text)
            if inner_hash:
                rejected.append((line_no, line, "'#' inside the entry"))
                continue
        if len(text.split(None, 1)) > 1:
            rejected.append((line_no, line, _several_tokens_reason(text, was_first)))
            continue
        if "|" in text or "^" in text or "*" in text or "=" in text or text.startswith("@@"):
            rejected.append((line_no, line, _foreign_syntax_reason(text)))
            continue
        if "/" in text:
            if _is_cidr(text):
                entries.append(RawEntry(line_no, "cidr", text, file=file))
            else:
                rejected.append((line_no, line, "looks like a URL, use --format urls"))
            continue
        entries.append(RawEntry(line_no, "domain", text, file=file))


def _several_tokens_reason(text: str, first_line: bool) -> str:
    tokens = text.split()
    if _is_ip(tokens[0]):
        return "several tokens: looks like a hosts-file line, use --format hosts"
    if sum("." in token for token in tokens) * 2 <= len(tokens):
        where = "a title line" if first_line else "free text"
        return f"several tokens: {where} ({len(tokens)} words), not a domain"
    return "several tokens"


def _foreign_syntax_reason(text: str) -> str:
    """Why a domains-format line written in another format's syntax is rejected (with the format to use)."""
    if text.startswith(("address=/", "server=/", "local=/")):
        return "looks like a dnsmasq directive, use --format dnsmasq"
    if text.startswith("*.") and "*" not in text[2:]:
        return "looks like a wildcard entry, use --format wildcard"
    if "|" in text or "^" in text or text.startswith("@@"):
        return "looks like an adblock rule, use --format adblock"
    return "'*' or '=' cannot be part of a domain"


def _parse_urls(lines: list[str], report: FormatReport, file: str | None = None) -> None:
    """One URL per line, with or without scheme (a bare host is a URL too); `#` whole-line comments."""
    entries, rejected = report.entries, report.rejected
    for line_no, line, text in _content_lines(lines, report):
        if text[0] == "#":
            report.comments += 1
        elif len(text.split(None, 1)) > 1:
            rejected.append((line_no, line, "whitespace inside the URL"))
        else:
            entries.append(RawEntry(line_no, "url", text, file=file))


def _parse_hosts(lines: list[str], report: FormatReport, *, subdomains: bool = False) -> None:
    """`IP host [host ...] [# comment]`; the localhost preamble counts as comments."""
    entries, rejected = report.entries, report.rejected
    for line_no, line, text in _content_lines(lines, report):
        if text[0] == "#":
            report.comments += 1
            continue
        if "#" in text:
            text = text.split("#", 1)[0]
        tokens = text.split()
        if len(tokens) < 2:
            reason = "IP address without host" if _is_ip(tokens[0]) else "no IP before host"
            rejected.append((line_no, line, reason))
            continue
        if not _is_ip(tokens[0]):
            rejected.append((line_no, line, "hosts line must start with an IP address"))
            continue
        hosts = [host for host in tokens[1:] if host not in HOSTS_PREAMBLE]
        if not hosts:
            report.comments += 1
            continue
        for host in hosts:
            entries.append(RawEntry(line_no, "domain", host, subdomains=subdomains))


def _parse_adblock(lines: list[str], report: FormatReport) -> None:
    """ABP / AdGuard / uBlock Origin network rules that block whole hosts or URL prefixes."""
    entries = report.entries
    for line_no, line, text in _content_lines(lines, report):
        first = text[0]
        if first == "!" or (first == "[" and text[-1] == "]" and not _is_ip(text[1:-1])):
            report.comments += 1
            continue
        if first == "#" and not text.startswith(ADBLOCK_COSMETIC_MARKERS):
            report.comments += 1
            continue
        status, detail = _adblock_rule(text)
        if status == "rejected":
            report.rejected.append((line_no, line, detail))
        elif status == "unsupported":
            report.unsupported.append((line_no, line, detail))
        else:
            entries.append(RawEntry(line_no, status, detail, exception=text.startswith("@@")))


def _adblock_rule(text: str) -> tuple[str, str]:
    """(entry kind, value) of one adblock rule, or ("rejected" | "unsupported", reason)."""
    if "#" in text:
        pos = text.find("#")
        while pos >= 0:
            if text.startswith(ADBLOCK_COSMETIC_MARKERS, pos):
                return "unsupported", "cosmetic rule"
            pos = text.find("#", pos + 1)
    if "$$" in text or "$@$" in text:
        return "unsupported", "cosmetic rule (HTML filter)"
    exception = text.startswith("@@")
    body = text[2:] if exception else text
    if not body:
        return "rejected", "empty rule"
    if body[0] == "/" and len(body) > 2 and (body.endswith("/") or "/$" in body):
        return "unsupported", "regular expression rule"
    pattern, dollar, options = body.rpartition("$") if "$" in body else (body, "", "")
    if dollar:
        if not options.strip():
            return "rejected", "empty option list after '$'"
        for option in options.split(","):
            name = option.strip()
            key = name.split("=", 1)[0].lower()
            if not key:
                return "rejected", "empty option in the option list"
            if key not in ADBLOCK_ALLOWED_OPTIONS:
                why = ADBLOCK_OPTION_REASONS.get(key.lstrip("~"), "narrows the rule")
                return "unsupported", f"option ${name} {why}"
    if not pattern:
        return ("unsupported", "rule without a URL pattern") if dollar else ("rejected", "empty rule")
    if pattern.startswith("||"):
        return _adblock_anchored(pattern[2:])
    if pattern[0] == "|":
        return _adblock_url(pattern[1:])
    if _looks_like_host(pattern):
        return "domain", pattern
    return "unsupported", "not anchored to a host (matches anywhere in a URL)"


def _strip_rule_end(rest: str) -> str:
    while rest and rest[-1] in "^|":
        rest = rest[:-1]
    return rest


def _adblock_anchored(rest: str) -> tuple[str, str]:
    """`||host^`, `||host`, `||host:port^`, `||host/path^` (the part after `||`)."""
    rest = _strip_rule_end(rest)
    if not rest or rest[0] in "^/:?|":
        return "rejected", "no host after '||'"
    if rest[0] == ".":
        return "rejected", "host starts with '.'"
    if "*" in rest:
        return "unsupported", "wildcard '*' inside the rule"
    if "^" in rest:
        return "unsupported", "separator '^' inside the rule"
    if "|" in rest:
        return "rejected", "stray '|' inside the rule"
    if any(char.isspace() for char in rest):
        return "rejected", "whitespace inside the rule"
    cut = len(rest)
    for char in "/?#":
        pos = rest.find(char)
        if 0 <= pos < cut:
            cut = pos
    host, path = rest[:cut], rest[cut:]
    has_port = (host.rfind(":") > host.rfind("]")) if host.startswith("[") else ":" in host
    if has_port and not host.startswith("[") and _is_ip(host):
        has_port = False  # a bare IPv6 address
    if path or has_port:
        return "url", host + (path if path.startswith("/") else "/" + path)
    return "domain", host


def _adblock_url(rest: str) -> tuple[str, str]:
    """`|http://...` / `|https://...` (the part after `|`): a URL prefix with its scheme."""
    rest = _strip_rule_end(rest)
    scheme, sep, after = rest.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return "unsupported", "start-anchored rule that is not an http(s) URL"
    if not after or after[0] in "/?#:":
        return "unsupported", "http(s) prefix without a host"
    if "*" in rest:
        return "unsupported", "wildcard '*' inside the rule"
    if "^" in rest:
        return "unsupported", "separator '^' inside the rule"
    if "|" in rest or any(char.isspace() for char in rest):
        return "rejected", "stray '|' or whitespace inside the rule"
    return "url", rest


def _parse_dnsmasq(lines: list[str], report: FormatReport) -> None:
    """`address=/d1/d2/.../[IP]`, `server=/d/.../[upstream]`, `local=/d/`: each domain, with its subdomains."""
    entries = report.entries
    for line_no, line, text in _content_lines(lines, report):
        if text[0] == "#":
            report.comments += 1
            continue
        key, equals, value = text.partition("=")
        directive = key.strip().lower()
        if not equals or directive not in DNSMASQ_BLOCK_DIRECTIVES:
            report.unsupported.append((line_no, line, f"dnsmasq directive {directive} does not name blocked domains"))
            continue
        value = value.strip()
        if not value.startswith("/"):
            report.unsupported.append((line_no, line, f"dnsmasq {directive}= without /domain/ names no domain"))
            continue
        parts = value.split("/")
        if len(parts) < 3:
            report.rejected.append((line_no, line, "missing the closing '/' after the domains"))
            continue
        domains, target = parts[1:-1], parts[-1].strip()
        names = [_strip_dnsmasq_domain(domain.strip()) for domain in domains]
        if "#" in names:
            report.unsupported.append((line_no, line, "'#' stands for every domain"))
        elif not all(names):
            report.rejected.append((line_no, line, "empty domain between '/'"))
        elif any(len(name.split()) != 1 for name in names):
            report.rejected.append((line_no, line, "whitespace inside a domain"))
        else:
            # server=/d/# sends d to the normal upstream servers: an exemption from the blocking rules
            exception = directive == "server" and target == "#"
            for name in names:
                entries.append(RawEntry(line_no, "domain", name, exception=exception))


def _strip_dnsmasq_domain(domain: str) -> str:
    if domain.startswith("*."):
        return domain[2:]
    return domain[1:] if domain.startswith(".") else domain


def _parse_wildcard(lines: list[str], report: FormatReport) -> None:
    """`*.domain` (or a bare `domain`) per line: the domain and its subdomains; `#` and `!` comments."""
    entries, rejected = report.entries, report.rejected
    for line_no, line, text in _content_lines(lines, report):
        if text[0] in "#!":
            report.comments += 1
            continue
        value = text[2:] if text.startswith("*.") else text
        if "*" in value:
            rejected.append((line_no, line, "'*' is only allowed as a leading '*.'"))
        elif not value or value[0] == ".":
            rejected.append((line_no, line, "no domain after '*.'"))
        elif len(value.split(None, 1)) > 1:
            rejected.append((line_no, line, "several tokens"))
        elif "/" in value:
            rejected.append((line_no, line, "looks like a URL, not a domain"))
        else:
            entries.append(RawEntry(line_no, "domain", value))


def _csv_header_fields(text: str, delimiter: str = ",") -> list[str]:
    try:
        row = next(csv.reader([text], delimiter=delimiter, strict=True), [])
    except csv.Error:
        return []
    return [name.strip() for name in row]


class _RecordSpansLines(Exception):
    """Raised into the csv reader when a record would continue on the next line."""


class _OneLineFeed:
    """Hands the data lines of a batch to a csv reader so that no record runs over several lines.

    Blank lines and `#` lines are counted on the way; `line_no` is the line of the current record, `index` its
    index in the batch.
    """

    def __init__(self, lines: list[str], report: FormatReport, start: int) -> None:
        self.lines, self.report, self.next = lines, report, start
        self.index = 0
        self.line_no = 0
        self.taken = False  # a line was already handed out for the current record

    def __iter__(self) -> _OneLineFeed:
        return self

    def __next__(self) -> str:
        if self.taken:
            raise _RecordSpansLines
        lines, report = self.lines, self.report
        while self.next < len(lines):
            line = lines[self.next]
            self.next += 1
            stripped = line.strip()
            if not stripped:
                report.blank += 1
            elif stripped[0] == "#":
                report.comments += 1
            elif "\ufffd" in line:
                report.rejected.append((report.file_lines + self.next, line, "undecodable bytes (not UTF-8)"))
            else:
                self.taken = True
                self.index, self.line_no = self.next - 1, report.file_lines + self.next
                return line
        raise StopIteration


def _csv_rows(
    lines: list[str], report: FormatReport, start: int, delimiter: str
) -> Iterator[tuple[int, str, list[str]]]:
    """(line number, line, fields) of the data rows of a batch from index `start`; `#` lines are comments.

    Each record must fit on its line: a quoted field left open is rejected with its line, and reading goes on.
    """
    feed = _OneLineFeed(lines, report, start)
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    while True:
        feed.taken = False
        try:
            row = next(reader)
        except StopIteration:
            return
        except _RecordSpansLines:
            report.rejected.append((feed.line_no, lines[feed.index], "quoted CSV field left open"))
            reader = csv.reader(feed, delimiter=delimiter, strict=True)
            continue
        except csv.Error as error:
            report.rejected.append((feed.line_no, lines[feed.index], f"malformed CSV ({error})"))
            reader = csv.reader(feed, delimiter=delimiter, strict=True)
            continue
        yield feed.line_no, lines[feed.index], row


class _CsvParser:
    """A CSV file read batch by batch: blank and `#` lines before the header are counted (the last `#` line
    kept), the header (counted as a comment line) decides the columns, and `row` reads each data row."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self.header: list[str] | None = None
        self.delimiter = ","
        self.last_comment: str | None = None

    def __call__(self, lines: list[str], report: FormatReport) -> None:
        start = 0
        if self.header is None:
            while start < len(lines):
                stripped = lines[start].strip()
                if not stripped:
                    report.blank += 1
                elif stripped[0] == "#":
                    report.comments += 1
                    self.last_comment = stripped.lstrip("#").strip()
                else:
                    break
                start += 1
            if start == len(lines):
                return
            start = self.start(lines[start], start, report)
        for line_no, line, row in _csv_rows(lines, report, start, self.delimiter):
            self.row(line_no, line, row, report)

    def finish(self, report: FormatReport) -> None:
        if self.header is None:
            self.start(None, 0, report)

    def start(self, first_line: str | None, index: int, report: FormatReport) -> int:
        """Take the header from the first data line (None at the end of a file without one); the index of the
        first data row."""
        raise NotImplementedError

    def row(self, line_no: int, line: str, row: list[str], report: FormatReport) -> None:
        raise NotImplementedError


class _UrlhausCsv(_CsvParser):
    """The URLhaus CSV dump: header in the last `#` line or a plain first row; the `url` column of each row."""

    def start(self, first_line: str | None, index: int, report: FormatReport) -> int:
        header = _csv_header_fields(first_line) if first_line is not None else []
        if "url" in (name.lower() for name in header):
            report.comments += 1  # the header row
            index += 1
        else:
            header = _csv_header_fields(self.last_comment or "")
            if "url" not in (name.lower() for name in header):
                raise ListFormatError(f"{self.path}: no CSV header naming a 'url' column (URLhaus format)")
        self.header = header
        self.url_index = [name.lower() for name in header].index("url")
        return index

    def row(self, line_no: int, line: str, row: list[str], report: FormatReport) -> None:
        header = self.header or []
        if len(row) != len(header):
            report.rejected.append((line_no, line, f"expected {len(header)} fields, found {len(row)}"))
        elif not row[self.url_index].strip():
            report.rejected.append((line_no, line, "empty url field"))
        else:
            report.entries.append(RawEntry(line_no, "url", row[self.url_index].strip()))


class _GenericCsv(_CsvParser):
    """Generic CSV with a header row: the URL or domain of one column (or host + path) of each row."""

    def __init__(self, path: Path | str, column: str | None) -> None:
        super().__init__(path)
        self.column = column
        self.value_index = self.host_index = self.path_index = -1

    def start(self, first_line: str | None, index: int, report: FormatReport) -> int:
        if first_line is None:
            raise ListFormatError(f"{self.path}: no CSV header row")
        self.delimiter = _csv_delimiter(first_line)
        header = _csv_header_fields(first_line, self.delimiter)
        report.comments += 1  # the header row
        lowered = [name.lower() for name in header]
        if self.column is not None:
            if self.column.lower() not in lowered:
                raise ListFormatError(f"{self.path}: no CSV column {self.column!r}; columns: {', '.join(header)}")
            self.value_index = lowered.index(self.column.lower())
        elif "host" in lowered and "path" in lowered and not {"url", "uri", "link"} & set(lowered):
            self.host_index, self.path_index = lowered.index("host"), lowered.index("path")
            self.value_index = self.host_index
        else:
            found = [name for name in CSV_AUTO_COLUMNS if name in lowered]
            if not found:
                wanted = ", ".join(CSV_AUTO_COLUMNS)
                raise ListFormatError(f"{self.path}: no CSV column among {wanted}; columns: {', '.join(header)}")
            self.value_index = lowered.index(found[0])
        self.header = header
        return index + 1

    def row(self, line_no: int, line: str, row: list[str], report: FormatReport) -> None:
        header = self.header or []
        if len(row) != len(header):
            report.rejected.append((line_no, line, f"expected {len(header)} fields, found {len(row)}"))
            return
        value = row[self.value_index].strip()
        if not value:
            report.rejected.append((line_no, line, f"empty {header[self.value_index]} field"))
        elif self.path_index >= 0:
            report.entries.append(RawEntry(line_no, "url", value + row[self.path_index].strip()))
        elif "/" in value or "://" in value:
            report.entries.append(RawEntry(line_no, "url", value))
        else:
            report.entries.append(RawEntry(line_no, "domain", value))


def _csv_delimiter(header_line: str) -> str:
    """The delimiter of a CSV header: the most frequent of comma, tab and semicolon (comma on ties)."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in ",\t;"}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > counts[","] else ","


def _parse_hashes(lines: list[str], report: FormatReport, algorithm: str) -> None:
    """One hex digest (or an even-length prefix of 8+ hex digits) per line; anything after whitespace ignored."""
    full = HASH_HEX_LENGTHS[algorithm]
    report.hash_algorithm = algorithm
    entries, rejected = report.entries, report.rejected
    for line_no, line, text in _content_lines(lines, report):
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


def _parse_expressions(lines: list[str], report: FormatReport, file: str | None = None) -> None:
    """UT1 `expressions`: regular expressions, each one unsupported."""
    for line_no, line, text in _content_lines(lines, report):
        if text[0] == "#":
            report.comments += 1
        else:
            report.unsupported.append((line_no, line, "UT1 regular expression: not supported, skipped"))


def _parse_usage(lines: list[str], report: FormatReport, file: str | None = None) -> None:
    """UT1 `usage`: a description of the category, counted as comment lines."""
    for _ in _content_lines(lines, report):
        report.comments += 1


_UT1_PARSERS: dict[str, Callable[..., None]] = {
    "domains": _parse_domains,
    "urls": _parse_urls,
    "expressions": _parse_expressions,
    "usage": _parse_usage,
}


def _ut1_role(name: str) -> str | None:
    match = UT1_FILE_NAME.search(name)
    return match.group(1) if match else None


def _ut1_order(name: str) -> tuple[str, int, str]:
    match = UT1_FILE_NAME.search(name)
    number = int(match.group(2)) if match and match.group(2) else -1
    return (match.group(1) if match else "", number, name)


def _ut1_folder_sha256(files: list[Path]) -> str:
    """The sha256 of a UT1 folder: each file's name and content, with their lengths, in plain sorted order."""
    digest = hashlib.sha256()
    for file in files:
        name = file.name.encode()
        try:
            with open(file, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                digest.update(len(name).to_bytes(8, "big") + name + size.to_bytes(8, "big"))
                read = 0
                while chunk := handle.read(READ_BYTES):
                    read += len(chunk)
                    digest.update(chunk)
        except OSError as error:
            raise ListFormatError(f"{file}: cannot read the file ({error.strerror or error})") from None
        if read != size:
            raise ListFormatError(f"{file}: the file changed while it was read")
    return digest.hexdigest()


def _ut1_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and _ut1_role(p.name))
    if not files:
        raise ListFormatError(f"{folder}: no UT1 domains, urls or expressions file in the folder")
    return files


def _parse_ut1_folder(
    folder: Path, report: FormatReport, on_batch: Callable[[FormatReport], None] | None = None
) -> None:
    """A UT1 category folder: domains, urls (also split .N and gzipped) and expressions files, each by its role."""
    files = _ut1_files(folder)
    report.sha256 = _ut1_folder_sha256(files)
    for file in sorted(files, key=lambda p: _ut1_order(p.name)):  # domains, domains.1, domains.2, ..., urls
        parser = _UT1_PARSERS[_ut1_role(file.name) or ""]
        _feed(
            lambda lines, report, parser=parser, name=file.name: parser(lines, report, file=name),
            _line_batches(file),
            report,
            on_batch,
            reason_prefix=f"{file.name}: ",
        )


def _parse_ut1_file(path: Path, lines: list[str], report: FormatReport) -> None:
    """A single UT1 file, read by the role its name gives (…domains, …urls, …expressions)."""
    role = _ut1_role(path.name)
    if role is None:
        raise ListFormatError(f"{path}: not a UT1 file name (domains, urls, expressions or usage, maybe .N or .gz)")
    _UT1_PARSERS[role](lines, report, file=path.name)


# ---------------------------------------------------------------------------------------------------------------
# format detection


def _sniff_lines(name: str, lines: Iterable[str]) -> tuple[str, str]:
    """(format, reason) from a file's name and lines (read up to the sample, and further only to look for
    adblock rules below '!' comments); see sniff_format."""
    lines = iter(lines)
    anchored = False  # a line read so far starts with '||' or '@@'
    base = name[:-3] if name.endswith(".gz") else name
    if base.endswith("expressions"):
        return "ut1", f"the file name {name!r} is a UT1 expressions file"
    sample: list[str] = []
    bang_comments = 0
    hash_comments = 0
    last_comment = ""
    first_content = None
    for line in lines:
        anchored = anchored or line.startswith(("||", "@@"))
        text = line.strip()
        if not text:
            continue
        if first_content is None and text[0] == "[" and text.lower().startswith(("[adblock", "[ublock", "[adguard")):
            return "adblock", f"it starts with the adblock header {text!r}"
        if text[0] == "!":
            bang_comments += 1
            continue
        if text[0] == "#" and not text.startswith(ADBLOCK_COSMETIC_MARKERS):
            hash_comments += 1
            if first_content is None:
                last_comment = text.lstrip("#").strip()
            continue
        if first_content is None:
            first_content = text
        sample.append(text)
        if len(sample) >= SNIFF_SAMPLE_LINES:
            break
    if not sample:
        return "domains", "it holds no entry line, so it is read as a plain domain list"
    total = len(sample)

    def most(count: int) -> bool:
        return count * 2 > total

    csv_choice = _sniff_csv(first_content or "", last_comment)
    if csv_choice:
        return csv_choice
    dnsmasq = sum(text.startswith(("address=/", "server=/", "local=/")) for text in sample)
    if most(dnsmasq):
        return "dnsmasq", f"most entry lines are dnsmasq address=/, server=/, local=/: {dnsmasq} of the first {total}"
    hosts = sum(len(tokens) >= 2 and _is_ip(tokens[0]) for tokens in (text.split() for text in sample))
    if most(hosts):
        return "hosts", f"most entry lines look like '0.0.0.0 host' (hosts file): {hosts} of the first {total}"
    adblock = sum(_adblockish(text) for text in sample)
    if (adblock + bang_comments) * 2 > total + bang_comments:
        counts = f"{adblock} of the first {total} entry lines, {bang_comments} '!' lines"
        return "adblock", f"most lines are adblock rules or '!' comments: {counts}"
    if bang_comments and not hash_comments and (anchored or any(line.startswith(("||", "@@")) for line in lines)):
        return "adblock", "it has '!' comments and '||'/'@@' rules further down (uBlock Origin style list)"
    wildcard = sum(text.startswith("*.") for text in sample)
    if most(wildcard):
        return "wildcard", f"most entry lines look like '*.domain' (wildcard list): {wildcard} of the first {total}"
    tokens = [text.split(None, 1)[0].lower() for text in sample]
    for algorithm, length in HASH_HEX_LENGTHS.items():
        if all(len(token) == length and not token.strip(_HEX) for token in tokens):
            return algorithm, f"every entry line is a {length}-digit hex digest ({algorithm}): {total} lines checked"
    urls = sum(("/" in text and not _is_cidr(text)) for text in sample)
    if most(urls):
        return "urls", f"most entry lines contain '/' (URL list): {urls} of the first {total}"
    return "domains", f"no other format fits the first {total} entry lines: read as a plain domain list"


def _adblockish(text: str) -> bool:
    if text.startswith(("||", "@@", "|http")) or text.endswith("^"):
        return True
    return "^$" in text or any(marker in text for marker in ("##", "#@#", "#?#", "#$#"))


def _sniff_csv(first_content: str, last_comment: str) -> tuple[str, str] | None:
    for where, text in (("first row", first_content), ("last '#' comment line", last_comment)):
        if not any(delimiter in text for delimiter in ",\t;"):
            continue
        names = {name.lower() for name in _csv_header_fields(text, _csv_delimiter(text))}
        if "url" in names and names & URLHAUS_MARKER_COLUMNS:
            marks = ", ".join(sorted(names & URLHAUS_MARKER_COLUMNS))
            return "urlhaus-csv", f"its {where} is a CSV header with 'url' and {marks} columns (URLhaus dump)"
        known = [name for name in CSV_AUTO_COLUMNS if name in names]
        if known and where == "first row":
            return "csv", f"its first row is a CSV header with a {known[0]!r} column"
    return None


def sniff_format(path: Path) -> tuple[str, str]:
    """(format name, one sentence saying why) for a list file or a UT1 category folder."""
    path = Path(path)
    if path.is_dir():
        return "ut1", "it is a folder, read as a UT1 category folder"
    batches = _line_batches(path)
    try:
        return _sniff_lines(path.name, (line for batch in batches for line in batch))
    finally:
        batches.close()


# ---------------------------------------------------------------------------------------------------------------
# entry point


def _line_parser(
    list_format: str, path: Path, *, subdomains: bool, column: str | None
) -> Callable[[list[str], FormatReport], None]:
    """The function reading a file's lines into a report, for a format name (registry of the formats)."""
    registry: dict[str, Callable[[list[str], FormatReport], None]] = {
        "domains": _parse_domains,
        "urls": _parse_urls,
        "hosts": lambda lines, report: _parse_hosts(lines, report, subdomains=subdomains),
        "ut1": lambda lines, report: _parse_ut1_file(path, lines, report),
        "adblock": _parse_adblock,
        "dnsmasq": _parse_dnsmasq,
        "wildcard": _parse_wildcard,
        "urlhaus-csv": _UrlhausCsv(path),
        "csv": _GenericCsv(path, column),
    }
    for algorithm in HASH_HEX_LENGTHS:
        registry[algorithm] = lambda lines, report, algorithm=algorithm: _parse_hashes(lines, report, algorithm)
    if list_format.startswith(HASH_LIST_PREFIX):
        from pipelines.hashing import HashLineParser  # the content-hash lists' own line syntax

        return HashLineParser(path, list_format.removeprefix(HASH_LIST_PREFIX))
    return registry[list_format]


def parse_list_file(
    path: Path,
    list_format: str = "auto",
    *,
    subdomains: bool = False,
    column: str | None = None,
    on_batch: Callable[[FormatReport], None] | None = None,
    line_parser: Callable[[list[str], FormatReport], None] | None = None,
) -> FormatReport:
    """Read a list file (or a UT1 category folder) in a format of FORMATS, or a content-hash list in a format
    `hashes-<algo>` (pipelines/hashing/hash_lists.py), accounting for every line.

    `subdomains` widens hosts-file entries to their subdomains; `column` names the CSV column to read. The file
    is read BATCH_LINES lines at a time; `on_batch`, when given, is called after each batch and takes its
    entries, rejected and unsupported lines out of the report (the counts of comment, blank and all lines stay),
    so that reading a list of any length holds one batch in memory. `line_parser` reads the lines instead of
    the format's own parser (one that keeps more detail, for `parse_hash_list`).
    """
    path = Path(path)
    if list_format not in FORMATS and not list_format.startswith(HASH_LIST_PREFIX):
        raise ListFormatError(f"{path}: unknown list format {list_format!r}; formats: {', '.join(FORMATS)}")
    if path.is_dir():
        if list_format not in ("auto", "ut1"):
            raise ListFormatError(f"{path}: a folder can only be read as a UT1 category folder, not {list_format}")
        report = FormatReport(path=str(path), format="ut1", sha256="")
        if list_format == "auto":
            report.decided_by = "it is a folder, read as a UT1 category folder"
        _parse_ut1_folder(path, report, on_batch)
        return report
    decided_by = None
    if list_format == "auto":
        list_format, decided_by = sniff_format(path)
    report = FormatReport(path=str(path), format=list_format, sha256="")
    report.decided_by = decided_by
    digest = hashlib.sha256()
    _feed(
        line_parser or _line_parser(list_format, path, subdomains=subdomains, column=column),
        _line_batches(path, digest),
        report,
        on_batch,
    )
    report.sha256 = digest.hexdigest()
    return report


def content_sha256(path: Path) -> str:
    """The sha256 a version of the list at `path` (a file or a UT1 folder) is recorded with."""
    path = Path(path)
    if path.is_dir():
        return _ut1_folder_sha256(_ut1_files(path))
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(READ_BYTES):
                digest.update(chunk)
    except OSError as error:
        raise ListFormatError(f"{path}: cannot read the file ({error.strerror or error})") from None
    return digest.hexdigest()
