"""What "the compiled link scanner agrees with lexbor" means, for test_fast_links*.py and fuzz/links.py.

lexbor (selectolax, at the version pinned in pyproject.toml) defines the result. On a page the scanner takes,
it must give lexbor's links as a multiset of (kind, raw_url, resolved_url); it may instead decline the page
(html_links then parses it with lexbor). The tokenizer-only pass must find every element link lexbor finds.
The scanner's URL-joining shortcut must give what pipelines.urls.whatwg.Resolver's shortcut gives.

A difference is a bug in the scanner unless a rule in KNOWN_DIVERGENCES names it: each rule says which lexbor
behaviour the scanner deliberately does not reproduce, and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from crawler.corpus.html_links import SCAN_SOUP, _fast_links, _lexbor_links, fast_path_fallback
from pipelines.urls import ALREADY_NORMAL, Resolver

try:
    from crawler.corpus import _fastlinks
except ImportError:  # the C extension is not built: the callers skip
    _fastlinks = None

PAGE_URL = "https://www.example.org/dir/page.html"

Links = list[tuple[str, str, str | None]]


@dataclass(frozen=True)
class Divergence:
    """A documented difference from lexbor that the scanner keeps on purpose."""

    name: str
    why: str
    applies: Callable[[str, Links, Links], bool]  # (html, scanner's links, lexbor's links)


# None so far: every difference found (by hand, hypothesis or the fuzzer) was fixed in the scanner.
KNOWN_DIVERGENCES: tuple[Divergence, ...] = ()


class ParityError(AssertionError):
    """The scanner's links differ from lexbor's on a page, and no known divergence explains it."""


def known_divergence(html: str, fast: Links, lexbor: Links) -> Divergence | None:
    return next((rule for rule in KNOWN_DIVERGENCES if rule.applies(html, fast, lexbor)), None)


def same_links(html: str, url: str | None = PAGE_URL) -> Links | None:
    """The scanner's links, after checking they are lexbor's (as a multiset); None if it declined the page."""
    fast = _fast_links(html, url)
    if fast is not None:
        lexbor = _lexbor_links(html, url)
        if Counter(fast) != Counter(lexbor) and known_divergence(html, fast, lexbor) is None:
            only_fast, only_lexbor = Counter(fast) - Counter(lexbor), Counter(lexbor) - Counter(fast)
            raise ParityError(
                f"scanner and lexbor disagree on {html!r} (document URL {url!r}):\n"
                f"  only the scanner: {sorted(only_fast.elements())}\n  only lexbor: {sorted(only_lexbor.elements())}"
            )
    return fast


def taken_links(html: str, url: str | None = PAGE_URL) -> Links:
    """The scanner's links for a page it must take (lexbor's: same_links); a page it declines fails, saying why."""
    links = same_links(html, url)
    assert links is not None, fast_path_fallback(html)
    return links


def element_links(links: Links) -> set[tuple[str, str]]:
    """(kind, raw_url) of the links elements give (bare URLs in text end where the tree says: not compared)."""
    return {(kind, raw) for kind, raw, _ in links if kind != "text"}


def soup_finds_lexbors_element_links(html: str, url: str | None = PAGE_URL) -> None:
    """Check that the tokenizer-only pass finds every element link lexbor finds."""
    missing = element_links(_lexbor_links(html, url)) - element_links(_fastlinks.links(html, url, SCAN_SOUP))
    if missing:
        raise ParityError(f"the tokenizer-only pass misses {sorted(missing)} of lexbor's links on {html!r}")


def python_shortcut(base_url: str | None, raw: str) -> str | None:
    """Resolver's answer when it comes from its shortcut, None when it would call the parser (the scanner's
    `join` must give the same)."""
    resolver = Resolver(base_url)
    normal = raw if ALREADY_NORMAL.fullmatch(raw) else resolver._joined(raw)
    return None if normal is None else normal.split("#", 1)[0]
