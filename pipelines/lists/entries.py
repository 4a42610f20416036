"""From the lines of a list file to entries in the one matching model: canonical lookup expressions.

The format parsers (`pipelines.lists.formats`) say what each line names, as written; this module decides
what it matches. A domain becomes `host/` (covering subdomains unless the format says otherwise), an IP
`ip/` in its canonical notation (whatever notation the list used), a URL the expressions of
`pipelines.urls.canonical.entry_expressions`, a CIDR range its IPv4 bounds, a hash its lowercase hex digest.
Entries that name the same thing twice are counted as duplicates; entries that cannot be canonicalized are
rejected with the reason, so every line of a list is accounted for.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from pipelines.lists.formats import FormatReport, RawEntry
from pipelines.urls import canonical_host, canonicalize, entry_expressions, is_icann_public_suffix, is_ip_host

_VALID_HOST = re.compile(r"^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$")


@dataclass(frozen=True, slots=True)
class Expression:
    """One row of `list_entries`: an expression an entry stands for."""

    line_no: int
    entry: str  # as written in the list
    entry_kind: str  # domain, ip, url, cidr, hash
    expression: str
    exception: bool = False
    subdomains: bool = True
    hash_algorithm: str | None = None
    ip_low: int | None = None
    ip_high: int | None = None


@dataclass
class NormalizedList:
    """A parsed list ready to be stored as a version: its expressions and an account of every line."""

    path: str
    sha256: str
    format: str
    decided_by: str | None
    expressions: list[Expression] = field(default_factory=list)
    entries: int = 0  # distinct entries accepted (a URL entry may stand for two expressions)
    duplicates: int = 0
    comments: int = 0
    blank: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # line number, line, reason
    unsupported: list[tuple[int, str, str]] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    more_rejected: int = 0  # rejected lines counted beyond those kept in `rejected` (large lists)
    more_unsupported: int = 0

    @property
    def rejected_total(self) -> int:
        return len(self.rejected) + self.more_rejected

    @property
    def unsupported_total(self) -> int:
        return len(self.unsupported) + self.more_unsupported

    def summary(self) -> str:
        kinds = ", ".join(f"{count:,} {kind}" for kind, count in sorted(self.by_kind.items()))
        return (
            f"{self.path} ({self.format}): {self.entries:,} entries accepted ({kinds or 'none'}), "
            f"{self.duplicates:,} duplicates, {self.rejected_total:,} rejected, {self.unsupported_total:,} "
            f"unsupported, {self.comments:,} comment and {self.blank:,} blank lines"
        )


class EmptyList(ValueError):
    """A list file with no usable entry: loading it would silently match nothing."""


def host_entry(text: str) -> tuple[str, str]:
    """(canonical host, kind) of a domain or IP written in a list; ValueError with the reason otherwise."""
    candidate = text.strip()
    if ":" in candidate and not candidate.startswith("["):
        try:  # a bare IPv6 address; URLs write it in brackets
            candidate = f"[{ipaddress.IPv6Address(candidate)}]"
        except ValueError:
            raise ValueError("not a bare domain or IP (has a port or a scheme)") from None
    if any(char in candidate for char in "/?#@ \t"):
        raise ValueError("not a bare domain or IP (looks like a URL)")
    host = canonical_host(candidate.encode("utf-8", "surrogatepass"))
    if host is None:
        raise ValueError("empty host")
    if is_ip_host(host):
        return host, "ip"
    if not _VALID_HOST.match(host):
        raise ValueError("not a valid host name")
    return host, "domain"


def _check_not_public_suffix(host: str) -> None:
    """ValueError when an entry for `host` and its subdomains would flag every site under a public suffix."""
    if is_icann_public_suffix(host):
        raise ValueError(f"a public suffix ({host}): it would flag every site under it; --allow-public-suffix loads it")


def _url_expressions(raw: RawEntry) -> tuple[str, list[str]]:
    url = canonicalize(raw.value)
    if url is None:
        raise ValueError("not a URL with a host")
    if not (url.is_ip or _VALID_HOST.match(url.host)):
        raise ValueError("not a valid host name")
    return "url", entry_expressions(url)


WIDEST_NETWORK_PREFIX = 8  # an IPv4 network wider than a /8 is refused unless allowed explicitly


def _cidr(raw: RawEntry, allow_wide_networks: bool = False) -> Expression:
    try:
        network = ipaddress.ip_network(raw.value.strip(), strict=False)
    except ValueError:
        raise ValueError("not an IP network") from None
    if network.version != 4:
        raise ValueError("IPv6 ranges are not supported")
    if network.prefixlen < WIDEST_NETWORK_PREFIX and not allow_wide_networks:
        raise ValueError(
            f"a network wider than /{WIDEST_NETWORK_PREFIX} ({network}): it would flag every site in "
            f"{network.num_addresses:,} addresses; --allow-wide-networks loads it"
        )
    if network.num_addresses == 1:
        address = str(network.network_address)
        return Expression(raw.line_no, raw.value, "ip", f"{address}/", raw.exception)
    return Expression(
        raw.line_no,
        raw.value,
        "cidr",
        str(network),
        raw.exception,
        ip_low=int(network.network_address),
        ip_high=int(network.broadcast_address),
    )


def expressions_of(
    raw: RawEntry,
    hash_algorithm: str | None = None,
    *,
    allow_public_suffix: bool = False,
    allow_wide_networks: bool = False,
) -> list[Expression]:
    """The expressions one entry stands for; ValueError with the reason when it cannot be used.

    A domain entry that is a public suffix or a bare TLD (`com`, `co.uk`, `*.com`, `||com^`), or a URL entry
    naming the whole of such a host (`http://com/`), is refused unless `allow_public_suffix`; an IPv4 network
    wider than /8 (`0.0.0.0/0`) unless `allow_wide_networks`.
    """
    if raw.kind == "content":  # a hash of fetched content, matched by the crawl
        return [Expression(raw.line_no, raw.label or raw.value, "content", raw.value, hash_algorithm=hash_algorithm)]
    if raw.kind == "domain":
        host, kind = host_entry(raw.value)
        if kind == "domain" and not allow_public_suffix:
            _check_not_public_suffix(host)
        return [Expression(raw.line_no, raw.value, kind, f"{host}/", raw.exception, raw.subdomains or kind == "ip")]
    if raw.kind == "url":
        kind, expressions = _url_expressions(raw)
        if (
            not allow_public_suffix
            and len(expressions) == 1
            and expressions[0].endswith("/")
            and (expressions[0].index("/") == len(expressions[0]) - 1)
        ):
            _check_not_public_suffix(expressions[0][:-1])
        return [Expression(raw.line_no, raw.value, kind, expression, raw.exception) for expression in expressions]
    if raw.kind == "cidr":
        return [_cidr(raw, allow_wide_networks)]
    if raw.kind == "hash":
        if not hash_algorithm:
            raise ValueError("hash entry without a hash algorithm")
        digest = raw.value.strip().lower()
        return [Expression(raw.line_no, raw.value, "hash", digest, raw.exception, hash_algorithm=hash_algorithm)]
    raise ValueError(f"unknown entry kind {raw.kind!r}")


def normalize_list(
    report: FormatReport, *, allow_public_suffix: bool = False, allow_wide_networks: bool = False
) -> NormalizedList:
    """Canonicalize every entry of a parsed list file, dropping duplicates and rejecting what cannot match."""
    normalized = NormalizedList(
        path=report.path,
        sha256=report.sha256,
        format=report.format,
        decided_by=report.decided_by,
        comments=report.comments,
        blank=report.blank,
        rejected=list(report.rejected),
        unsupported=list(report.unsupported),
    )
    seen: set[tuple] = set()
    for raw in report.entries:
        try:
            expressions = expressions_of(
                raw,
                report.hash_algorithm,
                allow_public_suffix=allow_public_suffix,
                allow_wide_networks=allow_wide_networks,
            )
        except ValueError as error:
            normalized.rejected.append((raw.line_no, raw.value, str(error)))
            continue
        first = expressions[0]
        identity = (first.entry_kind, first.expression, first.exception, first.subdomains, first.hash_algorithm)
        if identity in seen:
            normalized.duplicates += 1
            continue
        seen.add(identity)
        normalized.entries += 1
        normalized.by_kind[first.entry_kind] = normalized.by_kind.get(first.entry_kind, 0) + 1
        normalized.expressions.extend(expressions)
    normalized.rejected.sort()
    return normalized
