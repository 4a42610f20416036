"""The compiled link scanner against lexbor on generated documents (hypothesis), and its URL-joining shortcut
against the Python one: see test_fast_links.py."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.corpus.html_links import fast_path_fallback
from pipelines.urls import ALREADY_NORMAL
from tests.crawler.corpus.link_parity import python_shortcut, same_links, soup_finds_lexbors_element_links

_fastlinks = pytest.importorskip("crawler.corpus._fastlinks", reason="the C extension is not built")


# ---------------------------------------------------------------------------------------------------------------
# generated documents

_URL_TAGS = ["a", "area", "link", "img", "image", "iframe", "embed", "object", "script", "source", "track", "video"]
_URL_TAGS += ["audio", "form", "button", "input", "meta", "base", "style", "frame"]
_TREE_TAGS = ["p", "div", "span", "b", "i", "em", "font", "nobr", "table", "tr", "td", "th", "tbody", "caption", "col"]
_TREE_TAGS += ["colgroup", "template", "select", "option", "optgroup", "li", "ul", "dd", "dt", "h1", "pre", "textarea"]
_TREE_TAGS += [
    "title",
    "xmp",
    "noscript",
    "noembed",
    "noframes",
    "head",
    "body",
    "html",
    "hr",
    "br",
    "applet",
    "center",
]
_TREE_TAGS += ["listing", "marquee", "ruby", "rt", "label", "x-custom"]
_ATTRIBUTES = ["href", "src", "data-src", "srcset", "data-srcset", "style", "http-equiv", "content", "action"]
_ATTRIBUTES += ["formaction", "poster", "data", "type", "imagesrcset", "data-original", "data-lazy-src", "class"]
_VALUES = [
    "http://a.test/x",
    "/root",
    "rel/p.html",
    "//b.example.org/q",
    "../up",
    "?q=1",
    "#f",
    "javascript:x",
    " https://c.test/ ",
    "a.png 1x, b.png 2x",
    "refresh",
    "0;url=http://d.test/",
    "background:url(/bg.png)",
    "hidden",
    "&amp;x",
    "&copy=",
    "&#x41;",
    "&#128;",
    "&notit;",
    "x&y",
    "",
    "a\r\nb",
    "\u00a0/nb\u00a0",
]
_TEXTS = ["hello", "http://t.example.org/path", "https://u.test/x.", "(see http://v.test/(w))", "&amp;", "&lt;"]
_TEXTS += ["a < b", "http:", "//w.test/z", " ", "\n", "&#58;//", "://y.test/", "&nbsp;", "é", "<", "&"]
_MARKUP = ["<!-- c -->", "<!-->", "<!--->", "<!-- <a href=/c> -->", "<!foo>", "<?x>", "</ x>", "</>"]
_MARKUP += ["<!DOCTYPE html>", "<!doctype html public '-//W3C//DTD HTML 4.01 Transitional//EN'>", "<![CDATA[x]]>"]


@st.composite
def _attribute(draw) -> str:
    name = draw(st.sampled_from(_ATTRIBUTES))
    if draw(st.booleans()):
        name = name.upper()
    value = draw(st.sampled_from(_VALUES))
    quote = draw(st.sampled_from(['"', "'", ""]))
    if quote == "" and (value == "" or re.search(r"[\s>\"'=<`]", value)):
        quote = '"'
    return f" {name}" if draw(st.integers(0, 9)) == 0 else f" {name}={quote}{value}{quote}"


@st.composite
def _piece(draw, tags: list[str]) -> str:
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        tag = draw(st.sampled_from(tags))
        attributes = "".join(draw(st.lists(_attribute(), max_size=3)))
        return f"<{tag.upper() if draw(st.booleans()) else tag}{attributes}{draw(st.sampled_from(['', '', '/']))}>"
    if kind <= 5:
        return f"</{draw(st.sampled_from(tags))}>"
    if kind <= 8:
        return draw(st.sampled_from(_TEXTS))
    return draw(st.sampled_from(_MARKUP))


def _documents(tags: list[str]):
    return st.lists(_piece(tags), min_size=1, max_size=40).map("".join)


_SVG_TAGS = ["svg", "svg", "g", "path", "foreignObject", "desc", "text", "use", "font"]
_MATH_TAGS = ["math", "math", "mi", "mo", "mn", "ms", "mtext", "mglyph", "malignmark", "mrow", "semantics"]
_MATH_TAGS += ["annotation", "annotation-xml", "annotation-xml encoding=text/html"]
_MATH_TAGS += ["annotation-xml encoding='APPLICATION/XHTML+XML'", "annotation-xml encoding=&#116;ext/html"]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents(_URL_TAGS + _TREE_TAGS + _SVG_TAGS + _MATH_TAGS + ["plaintext", "frameset"]))
def test_generated_documents_give_lexbors_links_or_go_to_lexbor(html):
    same_links(html)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents([tag for tag in _URL_TAGS + _TREE_TAGS if tag not in ("base", "style")] + _SVG_TAGS + _MATH_TAGS))
def test_generated_documents_with_svg_and_mathml_are_never_left_to_lexbor(html):
    assert same_links(html) is not None, fast_path_fallback(html)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents(_URL_TAGS + _TREE_TAGS + _SVG_TAGS + ["math", "plaintext", "frameset", "template", "script"]))
def test_generated_documents_the_tokenizer_alone_finds_every_element_link_lexbor_finds(html):
    soup_finds_lexbors_element_links(html)


# ---------------------------------------------------------------------------------------------------------------
# the Resolver shortcut in C

_LABEL = st.sampled_from(["a", "Ab", "b1", "xn--bcher-kva", "xn--zz", "EX", "0x7f", "1", "-a", "a-", "www", "_u", ""])
_HOST = st.lists(_LABEL, min_size=1, max_size=4).map(".".join)
_SEGMENT = st.sampled_from(
    ["", ".", "..", "...", ".x", "x", "a b", "%2e", "\\", "~u", "é", "(c)", "a:b", "'", "?", "#"]
)
_PATH = st.lists(_SEGMENT, max_size=4).map("/".join)
_QUERY = st.sampled_from(["", "?", "?q=1", "?a=b&c=/d", "?x y", "?'q'", "?é", "?<", "??", "?a#b"])
_TAIL = st.sampled_from(["", "#", "#frag", "#a b", "#é\n"])
_PREFIX = st.sampled_from(["http://", "https://", "HTTP://", "https:/", "http://u@", "ftp://", "", "//", "/"])
_PORT = st.sampled_from(["", "", ":80", ":8080"])
_URL = st.one_of(
    st.builds(lambda *parts: "".join(parts), _PREFIX, _HOST, _PORT, st.just("/"), _PATH, _QUERY, _TAIL),
    st.text(alphabet=st.sampled_from("htps:/.?#ab-xn1é% \\"), max_size=24),
)
_RELATIVE = st.one_of(
    _PATH.map(lambda path: "/" + path),
    _PATH,
    st.builds(lambda host, path: f"//{host}/{path}", _HOST, _PATH),
    st.sampled_from(["?q=1", "#frag", "a:b/c", "", "./x", "../y", "x/./z", "//", "/"]),
    _URL,
)


@settings(max_examples=3000, deadline=None)
@given(_URL)
def test_already_normal_matches_the_regex(url):
    assert _fastlinks.already_normal(url) == bool(ALREADY_NORMAL.fullmatch(url))


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.none(), _URL), st.builds(lambda *parts: "".join(parts), _RELATIVE, _QUERY, _TAIL))
def test_joining_matches_the_python_shortcut(base, raw):
    assert _fastlinks.join(base, raw) == python_shortcut(base, raw), (base, raw)
