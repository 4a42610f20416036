"""The `urls` format: one URL per line, with or without its scheme."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.lists.formats.common import FormatReport, LineParser, ListFile, RawEntry, is_cidr
from pipelines.lists.formats.reader import content_lines

if TYPE_CHECKING:
    from pipelines.lists.formats.sample import Sample


def parse_urls(lines: list[str], report: FormatReport, file: str | None = None) -> None:
    """One URL per line, with or without scheme (a bare host is a URL too); `#` whole-line comments."""
    entries, rejected = report.entries, report.rejected
    for line_no, line, text in content_lines(lines, report):
        if text[0] == "#":
            report.comments += 1
        elif len(text.split(None, 1)) > 1:
            rejected.append((line_no, line, "whitespace inside the URL"))
        else:
            entries.append(RawEntry(line_no, "url", text, file=file))


def line_parser(request: ListFile) -> LineParser:
    return parse_urls


def sniff(sample: Sample) -> tuple[str, str] | None:
    urls = sum(("/" in text and not is_cidr(text)) for text in sample.entry_lines)
    if sample.most(urls):
        return "urls", f"most entry lines contain '/' (URL list): {urls} of the first {len(sample.entry_lines)}"
    return None
