"""The `domains` format: one domain or IP (or CIDR network) per line, the plainest list and auto-detection's
fallback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.lists.formats.common import FormatReport, LineParser, ListFile, RawEntry, is_cidr, is_ip
from pipelines.lists.formats.reader import content_lines

if TYPE_CHECKING:
    from pipelines.lists.formats.sample import Sample


def parse_domains(lines: list[str], report: FormatReport, file: str | None = None) -> None:
    """One domain or IP (or CIDR network) per line; `#` and `!` comments; inline `#` after whitespace."""
    entries, rejected = report.entries, report.rejected
    for line_no, line, text in content_lines(lines, report):
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
            if is_cidr(text):
                entries.append(RawEntry(line_no, "cidr", text, file=file))
            else:
                rejected.append((line_no, line, "looks like a URL, use --format urls"))
            continue
        entries.append(RawEntry(line_no, "domain", text, file=file))


def _cut_inline_comment(text: str) -> tuple[str, bool]:
    """(text before a `#` comment that follows whitespace, whether a `#` is left inside the text)."""
    pos = text.find("#")
    while pos > 0 and text[pos - 1] not in " \t":
        pos = text.find("#", pos + 1)
    if pos > 0:
        text = text[:pos].rstrip()
    return text, "#" in text


def _several_tokens_reason(text: str, first_line: bool) -> str:
    tokens = text.split()
    if is_ip(tokens[0]):
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


def line_parser(request: ListFile) -> LineParser:
    return parse_domains


def sniff_empty(sample: Sample) -> tuple[str, str] | None:
    """A file without entry lines is read as a domain list (no other format's hint is asked)."""
    if not sample.entry_lines:
        return "domains", "it holds no entry line, so it is read as a plain domain list"
    return None


def sniff_fallback(sample: Sample) -> tuple[str, str]:
    """What auto-detection reads a file as when no format's hint fits."""
    total = len(sample.entry_lines)
    return "domains", f"no other format fits the first {total} entry lines: read as a plain domain list"
