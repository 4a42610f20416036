"""Match one URL at a time in memory against the current lists: the crawler's check before every request,
and the reference the DuckDB matcher (pipelines/matching/driver.py) is tested against.

Same model as the bulk matcher: the URL's lookup expressions (every host suffix x every path prefix) meet
the entries' expressions; hashed entries are looked up by full digest or by digest prefix; IPv4 CIDR entries
by range.
"""

from __future__ import annotations

import bisect
import hashlib
import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from pipelines.lists import CURRENT_VERSIONS_SQL, NormalizedList
from pipelines.urls import CanonicalURL, canonicalize, host_suffixes, path_prefixes


@dataclass(frozen=True, slots=True)
class MatcherEntry:
    list_name: str
    version_id: int
    category: str | None
    effect: str  # block or allow
    entry: str
    entry_kind: str  # domain, ip, url, cidr, hash
    expression: str
    subdomains: bool = True
    hash_algorithm: str | None = None
    ip_low: int | None = None
    ip_high: int | None = None
    line_no: int = 0
    entry_id: int = 0  # the row of the bulk matcher's entry table it came from (0 when not from one)


@dataclass(frozen=True, slots=True)
class Hit:
    entry: MatcherEntry
    url_expression: str  # the part of the URL that hit: an expression, or the IP for CIDR entries


class UrlMatcher:
    def __init__(self, entries: Iterable[MatcherEntry]) -> None:
        self._hosts: dict[str, list[MatcherEntry]] = defaultdict(list)  # domain and IP entries by expression
        self._urls: dict[str, list[MatcherEntry]] = defaultdict(list)
        self._hashes: dict[tuple[str, int], dict[str, list[MatcherEntry]]] = defaultdict(lambda: defaultdict(list))
        self._ranges: list[tuple[int, int, MatcherEntry]] = []
        self.size = 0
        for entry in entries:
            self.size += 1
            if entry.entry_kind in ("domain", "ip"):
                self._hosts[entry.expression].append(entry)
            elif entry.entry_kind == "url":
                self._urls[entry.expression].append(entry)
            elif entry.entry_kind == "hash":
                self._hashes[(entry.hash_algorithm, len(entry.expression))][entry.expression].append(entry)
            elif entry.entry_kind == "cidr":
                self._ranges.append((entry.ip_low, entry.ip_high, entry))
        self._ranges.sort(key=lambda item: item[0])
        self._range_starts = [low for low, _, _ in self._ranges]

    @classmethod
    def from_list(cls, parsed: NormalizedList, list_name: str | None = None, version_id: int = 1) -> UrlMatcher:
        """A matcher over one parsed list, without a store (exceptions allow, every other entry blocks)."""
        return cls(
            MatcherEntry(
                list_name or parsed.path,
                version_id,
                None,
                "allow" if e.exception else "block",
                e.entry,
                e.entry_kind,
                e.expression,
                e.subdomains,
                e.hash_algorithm,
                e.ip_low,
                e.ip_high,
                e.line_no,
            )
            for e in parsed.expressions
        )

    @classmethod
    def from_store(cls, con: duckdb.DuckDBPyConnection) -> UrlMatcher:
        """A matcher over the current version of every list in the store."""
        rows = con.execute(
            f"""
            SELECT current.list_name, e.version_id, lists.category,
                   CASE WHEN lists.list_type = 'allow' OR e.exception THEN 'allow' ELSE 'block' END,
                   e.entry, e.entry_kind, e.expression, e.subdomains, e.hash_algorithm, e.ip_low, e.ip_high,
                   e.line_no
            FROM list_entries AS e
            JOIN ({CURRENT_VERSIONS_SQL}) AS current USING (version_id)
            JOIN lists ON lists.name = current.list_name
            WHERE lists.list_type IN ('block', 'allow')  -- watch lists select links, they flag nothing
              AND e.entry_kind <> 'content'  -- content hashes are matched against fetched bodies
            """
        ).fetchall()
        return cls(MatcherEntry(*row) for row in rows)

    def hits(self, url: str | CanonicalURL) -> list[Hit]:
        """Every entry that matches `url` (allow and block), in no particular order."""
        canonical = canonicalize(url) if isinstance(url, str) else url
        if canonical is None:
            return []
        found: list[Hit] = []
        suffixes = host_suffixes(canonical.host)
        for position, suffix in enumerate(suffixes):
            for entry in self._hosts.get(f"{suffix}/", ()):
                if entry.subdomains or position == 0:
                    found.append(Hit(entry, f"{suffix}/"))
        if self._urls or self._hashes:
            paths = path_prefixes(canonical.path, canonical.query)
            for expression in (suffix + path for suffix in suffixes for path in paths):
                for entry in self._urls.get(expression, ()):
                    found.append(Hit(entry, expression))
            # like Safe Browsing, a top-level domain alone is not hashed
            hashed = [suffix + path for suffix in suffixes if suffix is suffixes[0] or "." in suffix for path in paths]
            for (algorithm, length), table in self._hashes.items():
                for expression in hashed:
                    digest = hashlib.new(algorithm, expression.encode("utf-8")).hexdigest()[:length]
                    for entry in table.get(digest, ()):
                        found.append(Hit(entry, expression))
        if self._ranges and not canonical.host.startswith("["):
            try:
                address = int(ipaddress.IPv4Address(canonical.host))
            except ValueError:
                address = None
            if address is not None:
                stop = bisect.bisect_right(self._range_starts, address)
                for low, high, entry in self._ranges[:stop]:
                    if low <= address <= high:
                        found.append(Hit(entry, canonical.host))
        return found

    def verdict(self, url: str | CanonicalURL) -> tuple[str | None, list[Hit]]:
        """('block', hits) when a block entry matches and no allow entry does; ('allow', hits) when an allow
        entry matches; (None, []) otherwise."""
        found = self.hits(url)
        if not found:
            return None, found
        if any(hit.entry.effect == "allow" for hit in found):
            return "allow", found
        return "block", found
