#!/usr/bin/env python3
"""Fuzz target: the compiled link scanner (crawler/corpus/_fastlinks.c) against lexbor.

    python -m fuzz.sanitized run -- python fuzz/links.py [libFuzzer options] CORPUS_DIR [SEED_DIR ...]

An input is a page. Input that starts with a NUL byte is instead read as choices: which tag, attribute,
value, text or markup comes next, from the vocabulary below, so that mutations move through the tree builder's
states (tables, templates, foreign content, formatting elements) rather than through byte soup. Every page is
checked as tests/crawler/corpus/link_parity.py defines
parity (the scanner's links are lexbor's, or it declines the page;
the tokenizer-only pass finds every element link lexbor finds; joining shortcuts agree), and run through the
lenient pass and html_links. A difference raises ParityError: libFuzzer saves the input and stops.

Only the Python side is coverage-instrumented (gcc cannot build the extensions with libFuzzer's coverage):
`_outcome` turns what the scanner did with a page into Python branches, so that inputs reaching a new
fallback reason or link kind are kept.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fuzz.sanitized  # noqa: E402, F401 - the sanitized extensions, when run under `fuzz.sanitized run`

with atheris.instrument_imports(
    include=["crawler.corpus.html_links", "tests.crawler.corpus.link_parity", "pipelines.urls.whatwg"]
):
    from crawler.corpus.html_links import (
        SCAN_LENIENT,
        _fastlinks,
        _without_nul_and_surrogates,
        html_links,
    )
    from tests.crawler.corpus.link_parity import (
        PAGE_URL,
        ParityError,
        python_shortcut,
        same_links,
        soup_finds_lexbors_element_links,
    )

if _fastlinks is None:
    raise SystemExit("crawler.corpus._fastlinks is not built: nothing to fuzz")

DOCUMENT_URLS = [PAGE_URL, None, "http://a.test/", "https://b.example.test/x/y?q=1#f", "http://c.test/a/../b/"]

TAGS = "a area link img image iframe frame embed object script source track video audio form button input meta base"
TAGS += " style p div span b i em u s font nobr table tbody thead tfoot tr td th caption col colgroup template"
TAGS += " select option optgroup li ul ol dd dt dl h1 h2 pre listing textarea title xmp noscript noembed noframes"
TAGS += " iframe head body html hr br applet marquee center ruby rt rp label x-custom plaintext frameset keygen"
TAGS += " svg g path foreignObject desc text use math mi mo mn ms mtext mglyph malignmark annotation-xml semantics"
TAGS += " address article aside blockquote details dialog dir figure footer header main menu nav section summary"
TAGS += " big small strike strong tt code wbr param isindex search hgroup basefont bgsound"
TAGS = TAGS.split()
ATTRIBUTES = "href src data-src srcset data-srcset style http-equiv content action formaction poster data type"
ATTRIBUTES += " imagesrcset data-original data-lazy-src class color face size encoding xlink:href definitionurl"
ATTRIBUTES = ATTRIBUTES.split()
VALUES = [
    "http://a.test/x",
    "/root",
    "rel/p.html",
    "//b.example.test/q",
    "../up",
    "?q=1",
    "#f",
    "javascript:x",
    " https://c.test/ ",
    "a.png 1x, b.png 2x",
    "a.png (1, 2), b,c.png",
    "refresh",
    "0;url=http://d.test/",
    "5; URL='/next'",
    "background:url(/bg.png)",
    "background:url( '/q.png' )",
    "@import 'i.css'",
    "hidden",
    "text/html",
    "application/xhtml+xml",
    "&amp;x",
    "&copy=",
    "&#x41;",
    "&#128;",
    "&#0;",
    "&notit;",
    "&",
    "a\r\nb",
    "\u00a0/nb\u00a0",
    "http://xn--bcher-kva.test/",
    "http://b\u00fccher.test/",
    "",
]
TEXTS = ["hello", "http://t.example.test/path", "https://u.test/x.", "(see http://v.test/(w))", "&amp;", "&lt;"]
TEXTS += ["a < b", "http:", "//w.test/z", " ", "\n", "\r\n", "&#58;//", "://y.test/", "&nbsp;", "\u00e9", "<", "&"]
TEXTS += ["\t", "\x00", "\u2028", "url(/t.png)", "</", "<3", "a.test/>"]
MARKUP = ["<!-- c -->", "<!-->", "<!--->", "<!-- <a href=/c> -->", "<!foo>", "<?x>", "</ x>", "</>", "<!--"]
MARKUP += ["<!DOCTYPE html>", "<!doctype html public '-//W3C//DTD HTML 4.01 Transitional//EN'>", "<![CDATA[x]]>"]
MARKUP += ["<!DOCTYPE html SYSTEM 'about:legacy-compat'>", "<!doctype>", "--!>", "]]>", "<a href=", "<img src='"]


def generated_page(data: atheris.FuzzedDataProvider) -> str:
    """A page assembled from the vocabulary, each choice read from the input."""
    pieces = []
    while data.remaining_bytes():
        kind = data.ConsumeIntInRange(0, 9)
        if kind <= 3:
            tag = TAGS[data.ConsumeIntInRange(0, len(TAGS) - 1)]
            attributes = []
            for _ in range(data.ConsumeIntInRange(0, 3)):
                name = ATTRIBUTES[data.ConsumeIntInRange(0, len(ATTRIBUTES) - 1)]
                value = VALUES[data.ConsumeIntInRange(0, len(VALUES) - 1)]
                quote = "\"'"[data.ConsumeIntInRange(0, 1)] if data.ConsumeBool() else ""
                attributes.append(f" {name}={quote}{value}{quote}" if data.ConsumeIntInRange(0, 7) else f" {name}")
            tag = tag.upper() if data.ConsumeIntInRange(0, 5) == 0 else tag
            pieces.append(f"<{tag}{''.join(attributes)}{'/' if data.ConsumeIntInRange(0, 5) == 0 else ''}>")
        elif kind <= 5:
            pieces.append(f"</{TAGS[data.ConsumeIntInRange(0, len(TAGS) - 1)]}>")
        elif kind <= 8:
            pieces.append(TEXTS[data.ConsumeIntInRange(0, len(TEXTS) - 1)])
        else:
            pieces.append(MARKUP[data.ConsumeIntInRange(0, len(MARKUP) - 1)])
    return "".join(pieces)


FALLBACK_REASONS = ("base", "svg style markup", "plaintext", "frameset", "NUL", "surrogates", "budget")


def _outcome(links) -> int:
    """A Python branch per thing the scanner did with the page (see the module's docstring): one branch each,
    as coverage counts the branches taken, not the values seen."""
    if isinstance(links, str):
        if links not in FALLBACK_REASONS:
            raise ParityError(f"unknown fallback reason {links!r}")
        reached = 0
        reached += 1 if links == "base" else 0
        reached += 1 if links == "svg style markup" else 0
        reached += 1 if links == "plaintext" else 0
        reached += 1 if links == "frameset" else 0
        reached += 1 if links == "NUL" else 0
        reached += 1 if links == "surrogates" else 0
        reached += 1 if links == "budget" else 0
        return reached
    kinds = {kind for kind, _, _ in links}
    unresolved = {kind for kind, _, resolved in links if resolved is None}
    reached = 0
    reached += 1 if "a" in kinds else 0
    reached += 1 if "area" in kinds else 0
    reached += 1 if "link" in kinds else 0
    reached += 1 if "img" in kinds else 0
    reached += 1 if "iframe" in kinds else 0
    reached += 1 if "frame" in kinds else 0
    reached += 1 if "embed" in kinds else 0
    reached += 1 if "object" in kinds else 0
    reached += 1 if "script" in kinds else 0
    reached += 1 if "source" in kinds else 0
    reached += 1 if "track" in kinds else 0
    reached += 1 if "video" in kinds else 0
    reached += 1 if "audio" in kinds else 0
    reached += 1 if "form" in kinds else 0
    reached += 1 if "input" in kinds else 0
    reached += 1 if "srcset" in kinds else 0
    reached += 1 if "css" in kinds else 0
    reached += 1 if "meta-refresh" in kinds else 0
    reached += 1 if "text" in kinds else 0
    reached += 1 if "text" in unresolved else 0
    reached += 1 if unresolved - {"text"} else 0
    reached += 1 if len(links) > 8 else 0
    return reached


def check_page(html: str, document_url: str | None) -> None:
    same_links(html, document_url)
    _outcome(_fastlinks.links(html, document_url))
    clean = _without_nul_and_surrogates(html)
    soup_finds_lexbors_element_links(clean, document_url)
    _fastlinks.links(clean, document_url, SCAN_LENIENT)
    html_links(html, document_url, [])


def check_join(text: str, document_url: str | None) -> None:
    """Joining shortcuts on the page's first line, taken as a link."""
    raw = text.split("\n", 1)[0][:200]
    for base in (document_url, raw):
        if _fastlinks.join(base, raw) != python_shortcut(base, raw):
            raise ParityError(
                f"join({base!r}, {raw!r}): {_fastlinks.join(base, raw)!r}, Python's shortcut gives "
                f"{python_shortcut(base, raw)!r}"
            )


def test_one_input(data: bytes) -> None:
    document_url = DOCUMENT_URLS[data[-1] % len(DOCUMENT_URLS)] if data else PAGE_URL
    if data[:1] == b"\x00":
        html = generated_page(atheris.FuzzedDataProvider(data[1:]))
    else:
        html = data.decode("utf-8", "surrogateescape" if data[:1] == b"\xff" else "replace")
        if data[:1] != b"\xff":  # join is never given lone surrogates: pages holding them go to lexbor
            check_join(html, document_url)
    check_page(html, document_url)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
