"""Outgoing links of an HTML page: every URL-bearing element and attribute, <base> resolution, bare URLs in text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from html.entities import html5 as _HTML5_ENTITIES

from selectolax.lexbor import LexborHTMLParser, LexborNode

from pipelines.urls import Resolver

try:  # the compiled fast path (crawler/corpus/_fastlinks.c): without it every page is parsed with lexbor
    from crawler.corpus import _fastlinks
except ImportError:  # pragma: no cover - installed where no C compiler was available
    _fastlinks = None

# (tag, attribute) pairs that hold one URL, with the link kind recorded for them.
# Lazy-loading attributes (data-src, data-srcset, ...) hold the real image URL on many pages: a link hidden
# there must not slip through.
URL_ATTRIBUTES: dict[str, tuple[tuple[str, str], ...]] = {
    "a": (("href", "a"),),
    "area": (("href", "area"),),
    "link": (("href", "link"),),
    "img": (("src", "img"), ("data-src", "img"), ("data-original", "img"), ("data-lazy-src", "img")),
    "iframe": (("src", "iframe"), ("data-src", "iframe")),
    "frame": (("src", "frame"),),
    "embed": (("src", "embed"),),
    "object": (("data", "object"),),
    "script": (("src", "script"),),
    "source": (("src", "source"), ("data-src", "source")),
    "track": (("src", "track"),),
    "video": (("src", "video"), ("poster", "video")),
    "audio": (("src", "audio"),),
    "form": (("action", "form"),),
    "button": (("formaction", "form"),),
    "input": (("src", "input"), ("formaction", "form")),
}
# Attributes holding a srcset-style list of image candidates, per tag.
SRCSET_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "img": ("srcset", "data-srcset"),
    "source": ("srcset", "data-srcset"),
    "link": ("imagesrcset",),
}

# Tag names only: a selector per attribute would return an element once per attribute it carries.
_SELECTOR = ", ".join([*URL_ATTRIBUTES, "meta"])
# Elements whose text is not running text a reader sees.
_NON_TEXT_TAGS = ["script", "style", "template"]

# Schemes that never name a fetchable resource: skipped before any parsing work.
SKIPPED_PREFIXES = ("javascript:", "mailto:", "data:", "tel:", "about:", "blob:", "sms:", "#")


def is_skipped(raw_url: str) -> bool:
    """True for links that name no fetchable resource: other schemes and fragment-only self links."""
    return raw_url.lower().startswith(SKIPPED_PREFIXES)


# A bare http(s) URL in text; trailing punctuation is trimmed afterwards.
TEXT_URL = re.compile(r"""https?://[^\s<>"'`{}|\\^\[\]]+""", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?'\")]}>"


# url(...) in CSS (style attributes and <style> blocks): background images are links like any <img>.
# Linear: possessive quantifiers (*+), as giving back whitespace can never make these match (backtracking into
# it made `url(` followed by a long run of spaces quadratic), and an unquoted value holds no "(" (CSS makes
# such a value a bad URL, which browsers never fetch): with one, every "url(" in a run of "url(url(url(..."
# scanned to the run's end. No two attempts then scan the same unquoted value, and a quoted
# value ends at the next quote of its kind, so no two attempts scan the same characters with the same quote.
CSS_URL = re.compile(r"""url\(\s*+(?:"([^"]*+)"|'([^']*+)'|([^()'"\s]*+))\s*+\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s++(?:"([^"]*+)"|'([^']*+)')""", re.IGNORECASE)


def css_urls(css: str) -> list[str]:
    """The URLs a piece of CSS refers to: url(...) values and @import "..." targets."""
    found = [a or b or c for a, b, c in CSS_URL.findall(css)]
    found.extend(a or b for a, b in _CSS_IMPORT.findall(css))
    return [url.strip() for url in found if url.strip()]


def srcset_candidates(srcset: str) -> list[str]:
    """The image-candidate URLs of a srcset value, following the WHATWG parsing algorithm's splitting."""
    urls = []
    pos, length = 0, len(srcset)
    while pos < length:
        while pos < length and (srcset[pos].isspace() or srcset[pos] == ","):
            pos += 1
        start = pos
        while pos < length and not srcset[pos].isspace():
            pos += 1
        url = srcset[start:pos]
        if not url:
            break
        if url.endswith(","):
            urls.append(url.rstrip(","))
            continue
        urls.append(url)
        # skip the descriptors up to the next comma that is not inside parentheses
        depth = 0
        while pos < length:
            char = srcset[pos]
            if char == "(":
                depth += 1
            elif char == ")":
                depth = max(0, depth - 1)
            elif char == "," and depth == 0:
                pos += 1
                break
            pos += 1
    return urls


_REFRESH = re.compile(r"""^\s*[0-9.]*\s*[;,]?\s*(?:url\s*=\s*)?(['"]?)(.*)$""", re.IGNORECASE | re.DOTALL)


def refresh_url(content: str) -> str | None:
    """The URL of a meta refresh / Refresh header value (`5; url='x'`), or None when it only reloads."""
    found = _REFRESH.match(content)
    if not found:
        return None
    quote, url = found.groups()
    if quote and quote in url:
        url = url[: url.index(quote)]
    url = url.strip()
    return url or None


def _without_trailing_punctuation(url: str) -> str:
    """`url` without the sentence punctuation after it; a closing parenthesis stays while the URL has at least
    as many opening ones (as in wiki links). One pass over the tail: cutting one character at a time, with a
    count of the parentheses each time, was quadratic on a long run of dots or parentheses."""
    end = len(url)
    while end and url[end - 1] in _TRAILING_PUNCTUATION:
        end -= 1
    if end == len(url):
        return url
    opening, closing = url.count("(", 0, end), url.count(")", 0, end)
    kept = end
    for position in range(end, len(url)):  # cut the tail before its first ")" not matched by an earlier "("
        if url[position] != ")":
            continue
        closing += 1
        if opening < closing:
            break
        kept = position + 1
    return url[:kept]


def text_urls(text: str) -> Iterator[str]:
    """Bare http(s) URLs written in running text, without the sentence punctuation that follows them."""
    # find "://" with str.find (memchr speed) and look back for the scheme: a case-insensitive regex scan
    # of all the text of a corpus costs several times more
    position = text.find("://")
    while position >= 0:
        start = position - 5 if text[position - 5 : position].lower() == "https" else position - 4
        found = TEXT_URL.match(text, start) if start >= 0 else None
        if found is not None:
            url = found.group(0)
            if url[-1] in _TRAILING_PUNCTUATION:
                url = _without_trailing_punctuation(url)
            if len(url) > len("http://x"):
                yield url
            position = text.find("://", found.end())
        else:
            position = text.find("://", position + 3)


def _element_links(
    nodes: Iterable[LexborNode], resolve_link: Resolver, append: Callable[[tuple[str, str, str | None]], None]
) -> None:
    """Append (kind, raw_url, resolved_url) for the URL attributes of `nodes` (one flat loop: it runs for
    every link of a corpus)."""
    for node in nodes:
        tag = node.tag
        attrs = node.attributes  # one dict per node: several lookups cost less than node.attrs.get each
        if tag == "meta":
            if (attrs.get("http-equiv") or "").strip().lower() == "refresh":
                target = refresh_url(attrs.get("content") or "")
                if target and not is_skipped(target):
                    append(("meta-refresh", target, resolve_link(target)))
            continue
        for attribute, kind in URL_ATTRIBUTES[tag]:
            raw = attrs.get(attribute)
            if raw:
                raw = raw.strip()
                if raw and not raw.lower().startswith(SKIPPED_PREFIXES):
                    append((kind, raw, resolve_link(raw)))
        for attribute in SRCSET_ATTRIBUTES.get(tag, ()):
            srcset = attrs.get(attribute)
            if srcset:
                for candidate in srcset_candidates(srcset):
                    if not is_skipped(candidate):
                        append(("srcset", candidate, resolve_link(candidate)))


# The compiled scanner's passes (see _fastlinks.links).
SCAN_STRICT, SCAN_LENIENT, SCAN_SOUP = 0, 1, 2
# Links kept of one page, in document order; the others are counted in a note. A record of a few hundred bytes
# decodes to 32 MiB of "<a href=/a>": 3 million links, over a gigabyte as Python objects. Pages of people
# have a few hundred links; a link farm keeps its first 200,000.
MAX_LINKS_PER_PAGE = 200_000
# Default budget of the compiled scanner (see _fastlinks.links)
_DEFAULT_BUDGET = -1
# Pages the scanner does not model go to lexbor up to this many characters. lexbor's tree builder, like the
# standard's algorithm, is quadratic on some nestings (nested <div>): a larger page of that kind keeps the
# scanner's lenient answer instead, with a note.
LEXBOR_MAX_CHARS = 256_000
# ... and up to this depth of nesting. lexbor's tree builder walks the stack of open elements for every start
# tag (the scanner keeps counts instead), quadratic in the depth of nesting. Browsers stop nesting
# at 512 (Blink): a deeper page keeps the scanner's lenient answer, with a note.
LEXBOR_MAX_DEPTH = 512


def html_links(
    html: str, document_url: str | None, notes: list[str] | None = None
) -> list[tuple[str, str, str | None]]:
    """(kind, raw_url, resolved_url) for every link on a page, in document order, then text URLs.

    `resolved_url` is None when the raw value cannot be made into a fetchable absolute URL.
    Links with javascript:, mailto:, data: and similar schemes, and fragment-only self links, are skipped.
    Pages go through the compiled scanner when it is built and models the page; the others through lexbor,
    which defines the result: both give the same links (the order may differ where lexbor moves nodes).

    Hostile pages get links in time linear in their size, with a line in `notes` saying how: a page whose
    tree would cost more work than the scanner's budget (nestings on which building it is quadratic) gets
    the links of every element the tokenizer meets, without a tree; a page lexbor must parse but larger than
    LEXBOR_MAX_CHARS, or nested deeper than LEXBOR_MAX_DEPTH, gets the scanner's lenient pass (<frameset> and
    <plaintext> taken like ordinary elements, NUL dropped), or the tokenizer's if even that is over budget.
    A page keeps its first MAX_LINKS_PER_PAGE links, with a note counting the others.
    """
    if _fastlinks is None:
        return capped_links(_lexbor_links(html, document_url), notes)
    links = _scan(html, document_url, SCAN_STRICT, notes)
    if not isinstance(links, str):
        return links
    if links == "budget":  # the scan got past the NUL and surrogate checks: `html` needs no cleaning
        return _soup_links(html, document_url, notes, f"{_size(html)} nests too deep to build its tree")
    reason = links
    clean = _without_nul_and_surrogates(html)
    lenient_notes: list[str] = []
    links = _scan(clean, document_url, SCAN_LENIENT, lenient_notes)
    depth = _fastlinks.max_depth()
    if len(html) <= LEXBOR_MAX_CHARS and not isinstance(links, str) and depth <= LEXBOR_MAX_DEPTH:
        return capped_links(_lexbor_links(html, document_url), notes)
    why = f"{_size(html)} needs lexbor ({reason})"
    if len(html) > LEXBOR_MAX_CHARS:
        why = f"{why}, more than its {LEXBOR_MAX_CHARS:,}"
    elif depth > LEXBOR_MAX_DEPTH:
        why = f"{why} and nests {depth:,} deep, more than its {LEXBOR_MAX_DEPTH:,}"
    if isinstance(links, str):
        return _soup_links(clean, document_url, notes, f"{why}; its lenient scan stopped ({links})")
    _note(notes, f"{why}: links of the lenient scan")
    for note in lenient_notes:
        _note(notes, note)
    return links


def _scan(html: str, document_url: str | None, scan: int, notes: list[str] | None) -> list | str:
    """The compiled scanner's links (at most MAX_LINKS_PER_PAGE, with a note of the others), or why it stopped."""
    links = _fastlinks.links(html, document_url, scan, _DEFAULT_BUDGET, MAX_LINKS_PER_PAGE)
    if not isinstance(links, str):
        note_dropped_links(notes, _fastlinks.dropped())
    return links


def capped_links(
    links: list[tuple[str, str, str | None]], notes: list[str] | None
) -> list[tuple[str, str, str | None]]:
    """The first MAX_LINKS_PER_PAGE of `links`, with a note counting the others."""
    if len(links) > MAX_LINKS_PER_PAGE:
        note_dropped_links(notes, len(links) - MAX_LINKS_PER_PAGE)
        del links[MAX_LINKS_PER_PAGE:]
    return links


def note_dropped_links(notes: list[str] | None, dropped: int) -> None:
    """A note of the links a page had past MAX_LINKS_PER_PAGE, if any."""
    if dropped:
        _note(notes, f"{dropped:,} links past the cap of {MAX_LINKS_PER_PAGE:,} links a page are not kept")


def _size(html: str) -> str:
    return f"page of {len(html):,} characters"


def _note(notes: list[str] | None, text: str) -> None:
    if notes is not None:
        notes.append(text)


def _soup_links(
    clean_html: str, document_url: str | None, notes: list[str] | None, why: str
) -> list[tuple[str, str, str | None]]:
    """The tokenizer-only pass over a page without NUL or lone surrogates (see _without_nul_and_surrogates)."""
    _note(notes, f"{why}: links of every element the tokenizer met, without a tree")
    return _scan(clean_html, document_url, SCAN_SOUP, notes)


def _without_nul_and_surrogates(html: str) -> str:
    """What the scanner cannot take, left out: NUL (the tree builder drops it from text, where padding puts it;
    in an attribute value lexbor would make it U+FFFD, three bytes of UTF-8 for one, which made a page of NUL
    grow threefold), and lone surrogates (which have no UTF-8), replaced by "?"."""
    if "\x00" in html:
        html = html.replace("\x00", "")
    if _LONE_SURROGATE.search(html):  # searched, not encoded: a page's UTF-8 copy is up to 3 times its size
        html = html.encode("utf-8", "replace").decode("utf-8")
    return html


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _lexbor_links(html: str, document_url: str | None) -> list[tuple[str, str, str | None]]:
    """html_links by a DOM: lexbor parses the page, CSS selectors find the elements."""
    tree = LexborHTMLParser(html)
    resolve_link = Resolver(document_url)
    base = tree.css_first("base[href]")
    if base is not None:
        base_href = (base.attrs.get("href") or "").strip()
        base_url = resolve_link(base_href) if base_href else None
        if base_url:
            resolve_link = Resolver(base_url)
    links: list[tuple[str, str, str | None]] = []
    _element_links(tree.css(_SELECTOR), resolve_link, links.append)
    # <template> content is not in the document tree, but script can put it there: its links count too
    fragments = tree.template_fragments()
    while fragments:
        fragment = fragments.pop(0)
        _element_links(fragment.css(_SELECTOR), resolve_link, links.append)
        fragments.extend(fragment.template_fragments())

    # two selectors: lexbor answers "style" and "[style]" apart much faster than the list "[style], style"
    css_texts = [node.text() for node in tree.css("style")]
    css_texts.extend(node.attrs.get("style") or "" for node in tree.css("[style]"))
    for css in css_texts:
        for raw in css_urls(css):
            if not is_skipped(raw):
                links.append(("css", raw, resolve_link(raw)))

    body = tree.body
    if body is not None:
        tree.strip_tags(_NON_TEXT_TAGS)
        links.extend(("text", url, resolve_link(url)) for url in text_urls(body.text(separator=" ")))
    return links


# The compiled scanner (crawler/corpus/_fastlinks.c) tokenizes the page and tracks as much of HTML5 tree
# construction as decides lexbor's answer; it reads the tables above, and hands CSS, text and meta refresh
# values back to the functions below, so that those rules live here only.


def _css_pairs(css: str) -> list[tuple[str, str]]:
    return [("css", raw) for raw in css_urls(css) if not is_skipped(raw)]


def _text_pairs(texts: list[str]) -> list[tuple[str, str]]:
    # the body text nodes that hold "://": URLs never span the separator, so the others add nothing
    return [("text", url) for url in text_urls(" ".join(texts))]


def _refresh_pair(http_equiv: str | None, content: str | None) -> tuple[str, str] | None:
    if (http_equiv or "").strip().lower() != "refresh":
        return None
    target = refresh_url(content or "")
    return ("meta-refresh", target) if target and not is_skipped(target) else None


def fast_path_fallback(html: str) -> str | None:
    """Why the compiled scanner hands `html` to lexbor ("foreign content", "frameset", ...), None if it does not."""
    if _fastlinks is None:
        return "not built"
    links = _fastlinks.links(html, None)
    return links if isinstance(links, str) else None


def _fast_links(html: str, document_url: str | None) -> list[tuple[str, str, str | None]] | None:
    """html_links by the compiled scanner, or None for a page it leaves to lexbor."""
    links = _fastlinks.links(html, document_url)
    return None if isinstance(links, str) else links  # a str says why lexbor must parse the page


if _fastlinks is not None:
    try:
        _fastlinks.init(
            entities=_HTML5_ENTITIES,
            url_attributes=URL_ATTRIBUTES,
            srcset_attributes=SRCSET_ATTRIBUTES,
            skipped_prefixes=SKIPPED_PREFIXES,
            css_pairs=_css_pairs,
            text_pairs=_text_pairs,
            refresh_pair=_refresh_pair,
            resolver=Resolver,
        )
    except ValueError:  # a tag or prefix the scanner has no rules for: lexbor takes every page (tests fail)
        _fastlinks = None
