"""The compiled link scanner on hostile pages: bounded work, and every link element lexbor finds; and the
fuzzer's seed pages. See test_fast_links.py."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from crawler.corpus.html_links import SCAN_SOUP, _lexbor_links, html_links
from tests.crawler.corpus.link_parity import (
    PAGE_URL,
    element_links,
    same_links,
    soup_finds_lexbors_element_links,
    taken_links,
)

_fastlinks = pytest.importorskip("crawler.corpus._fastlinks", reason="the C extension is not built")

ROOT = Path(__file__).resolve().parents[3]


# ---------------------------------------------------------------------------------------------------------------
# hostile pages: bounded work, every link element found
#
# The standard's tree construction (and lexbor's) walks the stack of open elements, or the list of active
# formatting elements, or a tag's attributes, once per token: some nestings make it quadratic (1 MB of them took
# the scanner a minute, lexbor as long). The scanner stops at a budget of work and the page's links come from
# the tokenizer alone ("soup"); pages left to lexbor are bounded by size instead.

HOSTILE = {
    "unmatched end tags under deep SVG": lambda n: "<svg>" + "<g>" * n + "</x>" * n,
    "unmatched end tags under custom elements": lambda n: "<x-a>" * n + "</x-b>" * n,
    "unmatched end tags under spans": lambda n: "<span>" * n + "</em>" * n,
    "formatting end tags with none open": lambda n: "<b>" * n + "</i>" * n,
    "foreignObject in SVG, repeated": lambda n: "<svg><foreignObject>" * n + "</x>" * n,
    "body end tags under custom elements": lambda n: "<x-a>" * n + "</body><p>" * n,
    "a tag with many attributes": lambda n: "<a" + "".join(f" x{i}" for i in range(n)) + " href=/attrs>m</a>",
}


def hostile_page(pattern: str, n: int) -> str:
    return f"<a href=/first>f</a><img src=/img.png>{HOSTILE[pattern](n)}<a href=/last>l</a>"


@pytest.mark.parametrize("pattern", sorted(HOSTILE))
def test_hostile_nestings_stop_at_the_budget_and_the_tokenizer_gives_their_links(pattern):
    html = hostile_page(pattern, 40_000)
    assert _fastlinks.links(html, PAGE_URL) == "budget"
    budget = _fastlinks.BUDGET_PER_BYTE * len(html) + _fastlinks.BUDGET_FLOOR
    assert budget < _fastlinks.scope_steps() <= budget + len(html)  # it stopped at its budget
    notes: list[str] = []
    links = html_links(html, PAGE_URL, notes)
    assert {("a", "/first"), ("img", "/img.png"), ("a", "/last")} <= element_links(links)
    assert len(notes) == 1 and "nests too deep to build its tree" in notes[0], notes
    assert _fastlinks.scope_steps() <= 3 * 40_000 + 10  # the soup pass: an element per start tag, no walks


@pytest.mark.parametrize("pattern", sorted(HOSTILE))
def test_the_tokenizer_alone_finds_what_lexbor_finds_in_small_hostile_pages(pattern):
    html = hostile_page(pattern, 200)
    assert element_links(_lexbor_links(html, PAGE_URL)) <= element_links(_fastlinks.links(html, PAGE_URL, SCAN_SOUP))


def test_the_tokenizer_alone_takes_unended_styles_as_lexbor_does():
    # a <style> inside the CSS of an unended one is part of that CSS: taken again, 3,000 of them gave 4.5M links
    # (each held the rest of the page; 100,000 of them ran the machine out of memory)
    html = "<style>a{background:url(/s.png)}" * 3000
    assert Counter(_fastlinks.links(html, PAGE_URL, SCAN_SOUP)) == Counter(_lexbor_links(html, PAGE_URL))
    small = "<style>a{background:url(/s.png)}" * 5 + "</style><p>x<style>b{background:url(/t.png)}</style>"
    assert Counter(_fastlinks.links(small, PAGE_URL, SCAN_SOUP)) == Counter(_lexbor_links(small, PAGE_URL))


def test_a_budget_too_small_for_an_ordinary_page_stops_it_and_a_large_one_does_not():
    html = "<div><a href=/x>x</a><p>http://t.example.org/ <img src=/i.png></div>" * 50
    assert _fastlinks.links(html, PAGE_URL, 0, 100) == "budget"
    assert Counter(_fastlinks.links(html, PAGE_URL, 0, 10**9)) == Counter(_lexbor_links(html, PAGE_URL))


def test_repeated_attributes_keep_the_first_like_lexbor():
    for html in ("<a href=/1 HREF=/2 x=1 X=2 href=/3>a</a>", "<img y src=/1 data-src=/d SRC=/2 y data-SRC=/e>"):
        assert taken_links(html) == _lexbor_links(html, PAGE_URL)
        assert element_links(_fastlinks.links(html, PAGE_URL, SCAN_SOUP)) == element_links(taken_links(html))


# found by fuzz/links.py (see docs/fuzzing.md)


@pytest.mark.parametrize("seed", sorted((ROOT / "fuzz" / "seeds" / "links").glob("*.html")), ids=lambda path: path.name)
def test_the_fuzzers_seed_pages_keep_parity(seed):
    html = seed.read_text(encoding="utf-8")
    for url in (PAGE_URL, None):
        same_links(html, url)
        if "\x00" not in html:
            soup_finds_lexbors_element_links(html, url)


@pytest.mark.parametrize(
    "html",
    [
        "<![CDATA[><a href=/after-bogus-comment>",  # in HTML content a bogus comment: it ends at the first ">"
        "<p><![CDATA[x > <img src=/i.png>]]><a href=/a>",
        "<svg><p><![CDATA[><a href=/broke-out-of-svg>",  # <p> ends the SVG: HTML content again
        "<svg><![CDATA[><a href=/in-cdata>]]></svg><a href=/after>",  # SVG CDATA: lexbor has no link inside
    ],
)
def test_the_tokenizer_alone_ends_cdata_in_html_content_at_the_first_gt(html):
    # the tokenizer-only pass read "<![CDATA[" as a CDATA section wherever it was, hiding the links up to "]]>"
    soup_finds_lexbors_element_links(html)


@pytest.mark.parametrize(
    "html",
    [
        "<svg><style>url(<e>.)",  # in SVG a <style> holds markup: its CSS is its text, "url(.)"
        "<svg><style>a{background:url(&#47;x.png)}</style></svg>",  # and character references are decoded
        "<svg><style>.a{fill:url(<!-- c -->/c.png)}</style></svg>",
        "<svg></math><style>url(<e>&amp;c)</style>",  # an end tag that ends nothing leaves it in SVG
        "<svg><style>url(<xmp>g)",  # the text of an element in it counts, whatever the element
        "<svg><style>url(<title>h</title>)",
        "<svg><style>url(<style>url(.)",  # each style's CSS is all its text, a style's inside it included
        "<svg><style>url(<s</style>.)",  # in SVG "</style" is in the tag <s<>: the style goes on
        "<style>url(/a<b>c)</style>",  # in HTML it is raw text: the raw CSS, as before
    ],
)
def test_the_tokenizer_alone_takes_the_css_of_a_style_holding_markup_both_ways(html):
    # the tokenizer-only pass took a <style>'s CSS as its raw text only; lexbor reads an SVG <style>'s
    # markup and character references, so its CSS can differ (found by fuzz/links.py)
    soup_finds_lexbors_element_links(html)


@pytest.mark.parametrize(
    "html",
    [
        "<style><c t='</style><a href=/a>",  # in HTML the style's text ends at </style>, quote or not
        "<style><c t='</style><div style='background:url(/d.png)'>'>",
        "<title><c t='</title><a href=/t>x'>y</a>",
        "<textarea><!-- </textarea><a href=/ta> -->",  # an unended comment
        "<xmp><!-- </xmp><img src=/x.png>",  # an unended comment, up to the end of the page
        "<svg><style><a href='/svg</style>'>x</a></style></svg><a href=/after>",  # in SVG: a link in a tag
        "<noembed><a t='</noembed><img src=/n.png>",  # a tag that does not end before the end of the page
        "<iframe><a t='</iframe><noframes><b u='</noframes><img src=/n.png>'>'>",
        "<title><template><script></title><a href=/s>",  # script data (in a template, soup takes scripts)
        "<style><c t='</style><textarea><!--</textarea><img src=/g.png>",  # one after another
    ],
)
def test_the_tokenizer_alone_does_not_read_markup_over_the_end_of_raw_text(html):
    # the tokenizer-only pass reads the text of <style>, <title>, ... as markup (it may be SVG's); a tag or
    # comment running over the end tag that ends that text in HTML hid the end tag and what followed: on a page
    # over budget, a link after "<title><x y='</title>" was lost up to the next quote (found by fuzz/links.py)
    soup_finds_lexbors_element_links(html)


@pytest.mark.parametrize(
    "html",
    [
        '<a><a><a><textarea><template></textarea><a><a><a><a><a><a href href style="background:url(/bg.png)">',
        "<textarea><template></textarea><b style='background:url(/b.png)'>",
        "<title><template><template></title><p style='background:url(/t.png)'>",
        "<xmp><template><style></xmp><i style='background:url(/x.png)'>",
        "<template><textarea><template></textarea></template><u style='background:url(/u.png)'>",
    ],
)
def test_the_tokenizer_alone_ends_raw_text_whatever_it_read_as_markup_inside(html):
    # inside raw text soup reads tags as markup, and a <template> there stayed open after the text's end tag,
    # so every later element counted as template contents and lost its style's CSS (found by hypothesis)
    soup_finds_lexbors_element_links(html)


@pytest.mark.parametrize(
    "html",
    [
        "<svg><style>url(<!--</style -->g)",
        "<svg><style>url(<!--</style>-->g)",
        "<svg><style>url(<e>.) .a{fill:url(fill:url(<!-- c -\x04->/c.png)}</style><-- c -->/c.png)}</style5</svg>",
        "<svg><style>url(<!--</style><a href=/x>-->g)</style></svg>",
        "<svg><style><b><textarea><!--</textarea><a href=f>",  # <b> leaves SVG: the textarea's text ends first
    ],
)
def test_the_tokenizer_alone_reads_a_comment_over_an_svg_styles_end_tag_both_ways(html):
    # soup cut every comment in raw text at the text's end tag, as HTML reads it; in an SVG <style> the comment
    # hides that end tag, and the CSS goes on after the comment (found by fuzz/links.py)
    soup_finds_lexbors_element_links(html)


@pytest.mark.parametrize(
    "html",
    [
        "<iframe><body style='c></iframe><body style='background:url(/b.png)'>",
        "<p>x<title><body style='c></title><body style='background:url(/b.png)'>",
        "<xmp><html style='c></xmp><html style='background:url(/h.png)'>",
    ],
)
def test_the_tokenizer_alone_takes_a_body_style_after_a_false_one(html):
    # lexbor gives the body (or html) the style of the first <body> tag that brings one; the tokenizer-only pass
    # reads a false <body> tag inside raw text before it goes back to the text's end, so it must not let that
    # one hide the real one's style (found by fuzz/links.py)
    soup_finds_lexbors_element_links(html)


@pytest.mark.parametrize(
    "unit",
    [
        "<title><c t='</title><a href=/x>",
        "<title><!--</title><a href=/x>",
        "<xmp><c t='</xmp><a href=/x>'>",
        "<title><c t='</title><title><d u=\"</title><a href=/x>",  # each quote's value runs over the next tag's
    ],
)
def test_the_tokenizer_alone_goes_back_over_a_bounded_share_of_the_page(unit):
    # each tag running over the end of raw text has the tokenizer go back to that end tag (a comment stops
    # there): a page made of them still gets every link lexbor finds, and the bytes read again stay a small
    # multiple of the page's size (unended comments, each searched to the end of the page, made this quadratic)
    html = unit * 20_000
    links = _fastlinks.links(html, PAGE_URL, SCAN_SOUP)
    expected = [("a", "/x", "https://www.example.org/x")] * 20_000
    assert [link for link in links if link[0] != "text"] == _lexbor_links(html, PAGE_URL) == expected
    assert _fastlinks.soup_rescanned() <= 3 * len(html)


def test_large_pages_lexbor_must_parse_get_the_lenient_scan_with_a_note(monkeypatch):
    import crawler.corpus.html_links as module

    html = "<p>old site <frameset><frame src=/f.html></frameset> <a href=/after>a</a>" + "<p>filler text " * 100
    lexbors = element_links(_lexbor_links(html, PAGE_URL))
    monkeypatch.setattr(module, "LEXBOR_MAX_CHARS", 1000)
    monkeypatch.setattr(module, "_lexbor_links", lambda *args: pytest.fail("lexbor parsed a page over its size"))
    notes: list[str] = []
    links = html_links(html, PAGE_URL, notes)
    assert ("a", "/after") in lexbors and lexbors <= element_links(links)
    assert len(notes) == 1 and "needs lexbor (frameset)" in notes[0] and "lenient scan" in notes[0], notes
    # a NUL byte too (the scanner takes it as U+FFFD), and a nesting over budget goes to the tokenizer
    notes.clear()
    html = "\x00<a href=/nul>n</a>" + "<x-a>" * 40_000 + "</x-b>" * 40_000 + "<a href=/end>e</a>"
    links = html_links(html, PAGE_URL, notes)
    assert {("a", "/nul"), ("a", "/end")} <= element_links(links)
    assert len(notes) == 1 and "its lenient scan stopped (budget)" in notes[0], notes


def test_small_pages_lexbor_must_parse_still_go_to_lexbor():
    html = "<plaintext><a href=/in-plaintext>x</a>"
    notes: list[str] = []
    assert html_links(html, PAGE_URL, notes) == _lexbor_links(html, PAGE_URL) and notes == []
