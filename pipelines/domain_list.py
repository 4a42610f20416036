"""The plain domain-list format: one domain or IP per line, `#` comments; each entry covers its subdomains."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

import ada_url

_HOST_CHARACTERS = re.compile(r"^[a-z0-9_.-]+$")
_IPV4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class ListEntry:
    entry: str  # normalized host: lowercase, punycode, no trailing dot; IPs in canonical form
    entry_kind: str  # domain or ip
    line_no: int


@dataclass
class ListParseReport:
    """What a list file held: accepted entries, and every other line accounted for."""

    path: str
    sha256: str
    entries: list[ListEntry] = field(default_factory=list)
    duplicates: int = 0
    comments: int = 0
    blank: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # line number, line, reason

    def summary(self) -> str:
        return (
            f"{self.path}: {len(self.entries):,} entries accepted, {self.duplicates:,} duplicates, "
            f"{len(self.rejected):,} rejected, {self.comments:,} comment and {self.blank:,} blank lines"
        )


class EmptyList(ValueError):
    """A list file with no usable entry: loading it would silently match nothing."""


def normalize_host_entry(text: str) -> tuple[str, str]:
    """(normalized host, kind) for a domain or IP written in a list, the way browsers would see it.

    Raises ValueError with the reason when the text is not a host.
    """
    candidate = text.strip().rstrip(".").lower()
    if not candidate:
        raise ValueError("empty entry")
    if ":" in candidate and not candidate.startswith("["):
        with contextlib.suppress(ValueError):  # a bare IPv6 address; URLs write it in brackets
            candidate = f"[{ipaddress.IPv6Address(candidate)}]"
    if any(char in candidate for char in "/:?#@ \t") and not candidate.startswith("["):
        raise ValueError("not a bare domain or IP (looks like a URL or has a port)")
    try:
        host = ada_url.URL(f"http://{candidate}/").hostname
    except ValueError:
        raise ValueError("not a valid host name") from None
    if host.startswith("[") or _IPV4.match(host):
        return host, "ip"
    if not _HOST_CHARACTERS.match(host) or ".." in host or host.startswith("."):
        raise ValueError("not a valid host name")
    return host, "domain"


def parse_domain_list(path: Path) -> ListParseReport:
    """Parse a plain domain list strictly: every line is an entry, a duplicate, a comment, blank, or rejected."""
    raw = path.read_bytes()
    report = ListParseReport(path=str(path), sha256=hashlib.sha256(raw).hexdigest())
    seen: set[str] = set()
    for line_no, line in enumerate(raw.decode("utf-8", "replace").splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            if line.strip():
                report.comments += 1
            else:
                report.blank += 1
            continue
        try:
            host, kind = normalize_host_entry(content)
        except ValueError as error:
            report.rejected.append((line_no, line, str(error)))
            continue
        if host in seen:
            report.duplicates += 1
            continue
        seen.add(host)
        report.entries.append(ListEntry(host, kind, line_no))
    return report
