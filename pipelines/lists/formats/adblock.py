"""The `adblock` format: ABP / AdGuard / uBlock Origin network rules that block whole hosts or URL prefixes; every
other rule (cosmetic, narrowed by options, unanchored, regular expression) is counted as unsupported."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.lists.formats.common import (
    ADBLOCK_COSMETIC_MARKERS,
    FormatReport,
    LineParser,
    ListFile,
    RawEntry,
    is_ip,
    looks_like_host,
)
from pipelines.lists.formats.reader import content_lines

if TYPE_CHECKING:
    from pipelines.lists.formats.sample import Sample

ADBLOCK_ALLOWED_OPTIONS = frozenset({"all", "document", "doc", "important"})
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


def parse_adblock(lines: list[str], report: FormatReport) -> None:
    """ABP / AdGuard / uBlock Origin network rules that block whole hosts or URL prefixes."""
    entries = report.entries
    for line_no, line, text in content_lines(lines, report):
        first = text[0]
        if first == "!" or (first == "[" and text[-1] == "]" and not is_ip(text[1:-1])):
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
    if looks_like_host(pattern):
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
    if has_port and not host.startswith("[") and is_ip(host):
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


def line_parser(request: ListFile) -> LineParser:
    return parse_adblock


def sniff_header(sample: Sample) -> tuple[str, str] | None:
    """An `[Adblock Plus ...]`-style first line decides alone."""
    text = sample.first_content or ""
    if text.lower().startswith(("[adblock", "[ublock", "[adguard")):
        return "adblock", f"it starts with the adblock header {text!r}"
    return None


def sniff_rules(sample: Sample) -> tuple[str, str] | None:
    """Mostly adblock rules and `!` comments, or `!` comments with `||`/`@@` rules further down."""
    total, bang_comments = len(sample.entry_lines), sample.bang_comments
    adblock = sum(_adblockish(text) for text in sample.entry_lines)
    if (adblock + bang_comments) * 2 > total + bang_comments:
        counts = f"{adblock} of the first {total} entry lines, {bang_comments} '!' lines"
        return "adblock", f"most lines are adblock rules or '!' comments: {counts}"
    if bang_comments and not sample.hash_comments and sample.anchored_rules():
        return "adblock", "it has '!' comments and '||'/'@@' rules further down (uBlock Origin style list)"
    return None


def _adblockish(text: str) -> bool:
    if text.startswith(("||", "@@", "|http")) or text.endswith("^"):
        return True
    return "^$" in text or any(marker in text for marker in ("##", "#@#", "#?#", "#$#"))
