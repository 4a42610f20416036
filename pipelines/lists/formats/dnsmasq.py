"""The `dnsmasq` format: `address=`, `server=` and `local=` directives naming the domains they block."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.lists.formats.common import FormatReport, LineParser, ListFile, RawEntry
from pipelines.lists.formats.reader import content_lines

if TYPE_CHECKING:
    from pipelines.lists.formats.sample import Sample

DNSMASQ_BLOCK_DIRECTIVES = frozenset({"address", "server", "local"})


def parse_dnsmasq(lines: list[str], report: FormatReport) -> None:
    """`address=/d1/d2/.../[IP]`, `server=/d/.../[upstream]`, `local=/d/`: each domain, with its subdomains."""
    entries = report.entries
    for line_no, line, text in content_lines(lines, report):
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


def line_parser(request: ListFile) -> LineParser:
    return parse_dnsmasq


def sniff(sample: Sample) -> tuple[str, str] | None:
    dnsmasq = sum(text.startswith(("address=/", "server=/", "local=/")) for text in sample.entry_lines)
    if sample.most(dnsmasq):
        total = len(sample.entry_lines)
        return "dnsmasq", f"most entry lines are dnsmasq address=/, server=/, local=/: {dnsmasq} of the first {total}"
    return None
