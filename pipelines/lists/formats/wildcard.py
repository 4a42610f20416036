"""The `wildcard` format: `*.domain` per line, the domain and its subdomains."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.lists.formats.common import FormatReport, LineParser, ListFile, RawEntry
from pipelines.lists.formats.reader import content_lines

if TYPE_CHECKING:
    from pipelines.lists.formats.sample import Sample


def parse_wildcard(lines: list[str], report: FormatReport) -> None:
    """`*.domain` (or a bare `domain`) per line: the domain and its subdomains; `#` and `!` comments."""
    entries, rejected = report.entries, report.rejected
    for line_no, line, text in content_lines(lines, report):
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


def line_parser(request: ListFile) -> LineParser:
    return parse_wildcard


def sniff(sample: Sample) -> tuple[str, str] | None:
    wildcard = sum(text.startswith("*.") for text in sample.entry_lines)
    if sample.most(wildcard):
        total = len(sample.entry_lines)
        return "wildcard", f"most entry lines look like '*.domain' (wildcard list): {wildcard} of the first {total}"
    return None
