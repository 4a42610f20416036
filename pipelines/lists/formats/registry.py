"""The table of list formats: each family of formats (one module of this folder) registers here the format names it
reads, how to make the line parser for one of them, and its hints for auto-detection.

A new format is a module here with a `line_parser(request)` function (and hints, if auto may pick it) plus one
row of FAMILIES.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipelines.lists.formats import adblock, csv_tables, digests, dnsmasq, domains, hashes, hosts, urls, ut1, wildcard
from pipelines.lists.formats.common import LineParser, ListFile
from pipelines.lists.formats.sample import Sample

SniffHint = Callable[[Sample], tuple[str, str] | None]  # (format, one sentence saying why), or None: no opinion


@dataclass(frozen=True)
class Family:
    """The formats one module of this folder reads."""

    formats: tuple[str, ...]  # the names it reads, in the order FORMATS lists them
    line_parser: Callable[[ListFile], LineParser]
    # (rank, hint): auto asks the hints of every family from the lowest rank up, and the first answer decides
    hints: tuple[tuple[int, SniffHint], ...] = ()
    prefix: str | None = None  # reads every format named `<prefix><name>` too, none of them in FORMATS


FAMILIES = (
    Family(("domains",), domains.line_parser, ((20, domains.sniff_empty), (100, domains.sniff_fallback))),
    Family(("urls",), urls.line_parser, ((90, urls.sniff),)),
    Family(("hosts",), hosts.line_parser, ((50, hosts.sniff),)),
    Family(("ut1",), ut1.line_parser, ((0, ut1.sniff_name),)),
    Family(("adblock",), adblock.line_parser, ((10, adblock.sniff_header), (60, adblock.sniff_rules))),
    Family(("dnsmasq",), dnsmasq.line_parser, ((40, dnsmasq.sniff),)),
    Family(("wildcard",), wildcard.line_parser, ((70, wildcard.sniff),)),
    Family(("urlhaus-csv", "csv"), csv_tables.line_parser, ((30, csv_tables.sniff),)),
    Family(tuple(digests.HASH_HEX_LENGTHS), digests.line_parser, ((80, digests.sniff),)),
    Family((), hashes.line_parser, prefix=hashes.HASH_LIST_PREFIX),  # content-hash lists, loaded by `hashlist`
)

FORMATS = (*(name for family in FAMILIES for name in family.formats), "auto")

SNIFF_HINTS: tuple[SniffHint, ...] = tuple(
    hint for _, hint in sorted((hint for family in FAMILIES for hint in family.hints), key=lambda ranked: ranked[0])
)


def family_of(list_format: str) -> Family | None:
    """The family that reads a format name ("auto" is none), or None for an unknown name."""
    for family in FAMILIES:
        if list_format in family.formats or (family.prefix and list_format.startswith(family.prefix)):
            return family
    return None
