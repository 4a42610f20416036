"""The `hosts` format: hosts-file lines, an IP address followed by the hosts it sinks."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pipelines.lists.formats.common import FormatReport, LineParser, ListFile, RawEntry, is_ip
from pipelines.lists.formats.reader import content_lines

if TYPE_CHECKING:
    from pipelines.lists.formats.sample import Sample

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


def parse_hosts(lines: list[str], report: FormatReport, *, subdomains: bool = False) -> None:
    """`IP host [host ...] [# comment]`; the localhost preamble counts as comments."""
    entries, rejected = report.entries, report.rejected
    for line_no, line, text in content_lines(lines, report):
        if text[0] == "#":
            report.comments += 1
            continue
        if "#" in text:
            text = text.split("#", 1)[0]
        tokens = text.split()
        if len(tokens) < 2:
            reason = "IP address without host" if is_ip(tokens[0]) else "no IP before host"
            rejected.append((line_no, line, reason))
            continue
        if not is_ip(tokens[0]):
            rejected.append((line_no, line, "hosts line must start with an IP address"))
            continue
        hosts = [host for host in tokens[1:] if host not in HOSTS_PREAMBLE]
        if not hosts:
            report.comments += 1
            continue
        for host in hosts:
            entries.append(RawEntry(line_no, "domain", host, subdomains=subdomains))


def line_parser(request: ListFile) -> LineParser:
    return partial(parse_hosts, subdomains=request.subdomains)


def sniff(sample: Sample) -> tuple[str, str] | None:
    hosts = sum(len(tokens) >= 2 and is_ip(tokens[0]) for tokens in (text.split() for text in sample.entry_lines))
    if sample.most(hosts):
        total = len(sample.entry_lines)
        return "hosts", f"most entry lines look like '0.0.0.0 host' (hosts file): {hosts} of the first {total}"
    return None
