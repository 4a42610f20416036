"""The compiled link scanner (crawler/corpus/_fastlinks.c) against lexbor: the same links on every page it takes.

lexbor defines the result. The scanner either gives the same multiset of (kind, raw_url, resolved_url) or
declines the page (html_links then parses it with lexbor), as link_parity.py defines; these tests check
both on hand-written edge cases, generated documents, the third-party archives and the benchmark's synthetic
pages. fuzz/links.py checks the same with mutated pages.
"""

from __future__ import annotations

import gzip
import importlib.util
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.corpus.archive import read_fastwarc, read_warcio
from crawler.corpus.documents import charset_of, looks_like_html, mime_type
from crawler.corpus.html_links import _fast_links, _lexbor_links, fast_path_fallback, html_links
from crawler.corpus.payload import decode_html, decode_http_body
from pipelines.urls import ALREADY_NORMAL, normalize
from tests.crawler.corpus.link_parity import (
    PAGE_URL,
    element_links,
    python_shortcut,
    same_links,
    soup_finds_lexbors_element_links,
)

_fastlinks = pytest.importorskip("crawler.corpus._fastlinks", reason="the C extension is not built")

ROOT = Path(__file__).resolve().parents[3]
REALDATA = ROOT.parent / "shared" / "realdata"


def fast(html: str, url: str | None = PAGE_URL) -> list[tuple[str, str, str | None]]:
    """The scanner's links for a page it must take."""
    links = same_links(html, url)
    assert links is not None, fast_path_fallback(html)
    return links


def raws(html: str) -> list[tuple[str, str]]:
    return sorted((kind, raw) for kind, raw, _ in fast(html))


# ---------------------------------------------------------------------------------------------------------------
# hand-written cases


def test_html_links_uses_the_scanner_and_keeps_lexbors_answer():
    html = "<a href='/x'>x</a><img src=i.png srcset='a.png 1x, b.png 2x'> see http://text.example.org/t."
    assert Counter(html_links(html, PAGE_URL)) == Counter(_lexbor_links(html, PAGE_URL))
    assert fast_path_fallback(html) is None


def test_every_link_kind():
    html = (
        "<html><head><link href=/s.css imagesrcset='h.jpg 800w'><script src=app.js></script>"
        "<meta http-equiv=refresh content='0; url=/next'><style>.a{background:url(/st.png)}</style></head>"
        "<body><a href=a.html>a</a><map><area href=area.html></map><img src=i.png data-src=l.png data-original=o.png "
        "data-lazy-src=z.png srcset='s1.png 1x, s2.png 2x' data-srcset='d.png 1x'><iframe src=f.html></iframe>"
        "<embed src=e.swf><object data=o.swf></object><video src=v.mp4 poster=p.jpg><source src=s.webm "
        "srcset=x.webp><track src=t.vtt></video><audio src=au.mp3></audio><form action=/go><button formaction=/b>"
        "<input src=in.png formaction=/i></form><div style='background:url(/div.png)'>see http://t.example.org/x</div>"
    )
    kinds = Counter(kind for kind, _ in raws(html))
    assert kinds == Counter(
        {"img": 4, "srcset": 5, "link": 1, "script": 1, "meta-refresh": 1, "css": 2, "a": 1, "area": 1, "iframe": 1}
        | {"embed": 1, "object": 1, "video": 2, "source": 1, "track": 1, "audio": 1, "form": 3, "input": 1, "text": 1}
    )


@pytest.mark.parametrize(
    "html",
    [
        "<link href=early.css><base href='https://mirror.example.org/pub/'><a href=x/y.html>x</a>",
        "<a href=x/y.html>x</a><base href='/sub/'>",  # relative base, after the links it applies to
        "<base href='  https://mirror.example.org/a/b?q#f  '><a href=c>c</a><a href='?z'>z</a>",
        "<base><base href='/first/'><base href='/first/'><a href=c>c</a>",
        "<base href><a href=c>c</a>",  # an empty href is the first base[href]: the document URL stays the base
        "<base href='http://exa mple.org/'><a href=c>c</a>",  # unresolvable base: the document URL stays
        "<template><base href='/in-template/'></template><a href=c>c</a>",
    ],
)
def test_base_href(html):
    fast(html)


def test_base_href_applies_before_and_after_it():
    assert [url for _, _, url in fast("<a href=x>1</a><base href='/b/'><a href=y>2</a>")] == [
        "https://www.example.org/b/x",
        "https://www.example.org/b/y",
    ]


def test_two_base_hrefs_that_disagree_go_to_lexbor():
    # which one is first in tree order depends on where the tree builder moves them
    assert fast_path_fallback("<base href=/a/><table><base href=/b/></table>") == "base"
    assert same_links("<base href=/a/><table><td><base href=/b/></table>") is None


def test_templates_links_count_their_css_and_text_do_not():
    html = (
        "<template><a href=/t1>t</a><style>.x{background:url(/ts.png)}</style><p style='background:url(/tp.png)'>"
        "http://template-text.example.org/</p><template><img src=/t2.png></template></template>"
        "<p>http://body.example.org/</p>"
    )
    assert raws(html) == [
        ("a", "/t1"),
        ("img", "/t2.png"),
        ("text", "http://body.example.org/"),
    ]


def test_style_elements_and_style_attributes():
    html = (
        "<style>@import 'a.css'; .x { background: URL( \"/b.png\" ) } .y{background:url(data:image/png;base64,AA)}"
        "</style><div style=\"background:url('/c.png')\"></div><p style='color:red'>x</p>"
        "<html style='background:url(/h.png)'><body style='background:url(/bo.png)'>"
        "<body style='background:url(/second.png)'>"
    )
    assert raws(html) == [("css", "/b.png"), ("css", "/bo.png"), ("css", "/c.png"), ("css", "/h.png"), ("css", "a.css")]


def test_title_and_head_text_are_not_scanned_body_text_is():
    html = (
        "<head><title>http://title.example.org/</title> </head> http://body1.example.org/x <title>http://t2.test/</title>"
        "<textarea>http://ta.example.org/</textarea><xmp>http://xmp.example.org/<a href=/no></xmp>"
        "<script>var u='http://script.example.org/';</script><style>/* http://style.example.org/ */</style>"
        "<noscript>http://noscript.example.org/</noscript></body>http://after.example.org/"
    )
    assert raws(html) == [
        ("text", "http://after.example.org/"),
        ("text", "http://body1.example.org/x"),
        ("text", "http://noscript.example.org/"),
        ("text", "http://t2.test/"),  # a title in <body> is body text
        ("text", "http://ta.example.org/"),
        ("text", "http://xmp.example.org/"),  # "<a href=/no>" is text in <xmp>, and a URL stops at "<"
    ]


@pytest.mark.parametrize(
    "html",
    [
        "http://a.example.org/x</span>y",  # an ignored end tag: one text node, "http://a.example.org/xy"
        "http://a.example.org/x<span></span>y",
        "http://a.example.org/x<!-- c -->y",
        "<p>http://a.example.org/x</p>y",
        "http://a.example.org/x<table>y",  # foster parenting: "y" joins the text before the table
        "<p>http://a.example.org/x<table>y",  # no doctype: quirks mode keeps the table in the <p>
        "<!DOCTYPE html><p>http://a.example.org/x<table>y",
        "http:<b></b>//split.example.org/",
        "see http://a.example.org/x</body>y<!-- c -->z",
        "<p><a href=/1>http://a.example.org/</p>x",  # the <a> is reconstructed (cloned) for "x"
    ],
)
def test_text_nodes_split_and_merge_like_lexbors(html):
    fast(html)


def test_attribute_values_are_decoded_like_in_an_attribute():
    html = (
        "<a href='/a?x=1&amp;y=2'>1</a><a href='/b?x=1&copy=2'>2</a><a href='/c&copy;'>3</a>"
        "<a href='/d&#x41;&#65'>4</a><a href='/e&#128;&#0;'>5</a><a href='/f&notit;'>6</a><a href='&#x68;ttp://g.test/'>"
    )
    assert raws(html) == [
        ("a", "/a?x=1&y=2"),
        ("a", "/b?x=1&copy=2"),  # "&copy" before "=" is left as written
        ("a", "/c©"),
        ("a", "/dAA"),
        ("a", "/e€\ufffd"),
        ("a", "/f&notit;"),
        ("a", "http://g.test/"),
    ]


def test_text_is_decoded_like_text():
    assert raws("<p>http&#58;//a.example.org/&notit;x</p>") == [("text", "http://a.example.org/¬it;x")]


@pytest.mark.parametrize(
    "html",
    [
        "<a href='/x'>x</a><img src='/unterminated",  # EOF inside a tag: the tag is dropped
        "<a href=/x>x</a><img src=/y",
        "<a href=/x>x</a></a",
        "<!-- <a href=/in-comment> --><a href=/after>",
        "<!--><a href=/a><!---><a href=/b><!-- -- --!><a href=/c>",
        "<!foo><a href=/bogus1><?php echo 1 ?><a href=/bogus2></ x><a href=/bogus3><![CDATA[<a href=/cdata>]]>",
        "<script>document.write('</scr' + 'ipt><a href=/inside>')</script><a href=/after>",
        '<script>var s = "</script>"; <a href=/inside></script><a href=/after>',
        "<script><!--<script>x</script><a href=/double-escaped></script>--></script><a href=/after>",
        "<A HREF=/upper>x</A><IMG SRC=/u.png><STYLE>.a{background:url(/s.png)}</STYLE>",
        "<a href=/first href=/second HREF=/third>x</a>",
        "<a href=/unquoted/x?y=1&amp;z=2>x</a><img src=a.png/ >",
        "<img\tsrc\n=\n'/spaces.png'><img/src=/slash.png><img src=/a.png/>",
        "<a href='\u00a0 /nbsp \u3000'>x</a><a href='\u200b/zwsp'>y</a>",
        "<a href='javascript:x'>j</a><a href=' MAILTO:x@example.org'>m</a><a href='#top'>t</a><a href=''>e</a>",
        "<img srcset='a.png 1x, b,c.png 2x, javascript:x 3x, d.png (1, 2), e.png,f.png'>",
        "<meta http-equiv=' Refresh ' content=\"5; URL='/next'\"><meta http-equiv=refresh content=30>",
        "<p><b style='background:url(/b.png)'>x</p>y",  # a clone repeats the style attribute
        "<a href=/1><p>x</a>y",  # the adoption agency clones <a> into the <p>
        "<a href=/1><div>x<a href=/2>y</a></div>",
        "<b><b><b><b><p>x</p>y",
        "<p><b x><b x=''><b x><b x></p>y",  # Noah's Ark: at most three alike are reconstructed
        "<a href=/1><b><i><u><s><div></a>x",  # the adoption agency stops cloning after three rounds
        "<a href=/h><u s=1><strong><code><span><small s=2><tt s=3><div></strong></a>",
        "<em><a href=/g><font><small><i><big><b><blockquote></font></i></em>",
        "<nobr><table><object></table><code style='background:url(/s.png)'><nobr>x",
        "<table><tr><td><a href=/cell>x</td><td>y</table>z",
        "<table><a href=/fostered>x</a><tr><td>y</table>",
        "<table><image src=/dropped>",  # lexbor drops <image> reached through the table modes
        "<image src=/renamed>",
        "<select><a href=/in-select>x</a><option>y</select>",
        "<div><select></div>http://select.example.org/x</select>y",
        "<form action=/a><form action=/ignored></form><form action=/b>",
        "<table><form action=/t><input type=hidden src=/h.png></table>",
        "<frame src=/ignored-outside-frameset>",
        "<noscript><a href=/ns>n</a></noscript>",
        "<head><noscript><link href=/l.css><a href=/pops-noscript></noscript>",
        "<pre>\n</pre><p><a href=/1>x</p><pre>\n</pre>y",
        "<p><b>x</p><textarea>y</textarea>",
        "<template><colgroup><a href=/c>x</template>",
        "<template><td><caption><a href=/aa><td><caption> ",
    ],
)
def test_tokenizer_and_tree_builder_edge_cases(html):
    fast(html)


# found by an ASan/UBSan build under fuzzing: the normal build gives the same answers, the sanitizers did not


def test_every_tag_name_is_looked_up_within_its_literal():
    # tag_id compared n bytes of a shorter known name ("noscript" probing "applet"): a read past its literal
    fast("<noscript>http://ns.example.org/</noscript><textarea>http://ta.example.org/</textarea><a href=/a>")
    for name in re.findall(r'"([a-z0-9]+)"', (ROOT / "crawler" / "corpus" / "_fastlinks.c").read_text()):
        same_links(f"<{name} href=/{name}>http://{name}.example.org/ <{name.upper()}><a href=/after></{name}>")


def test_a_fresh_parser_decodes_a_reference_at_the_start_of_the_text():
    # a page holding more than the kept buffers' limit frees them: the next page gets an empty arena, and
    # decoding "&amp;" at its start copied 0 bytes to NULL
    assert isinstance(_fastlinks.links("<b>" * 400_000, None), list)
    fast("&amp;x http://a.example.org/")


def test_nested_templates_keep_lexbors_order():
    # links used to be emitted with one pass over all links per template level: quadratic in the nesting
    # (100,000 nested templates took 5 s; a 32 MB page, hours)
    html = "<a href=/0><template><img src=/1><template><img src=/2></template><img src=/1b></template><a href=/00>"
    assert fast(html * 2) == _lexbor_links(html * 2, PAGE_URL)  # the document, then template level by level
    fast("<template><img src=/t.png>" * 2000)
    assert len(_fastlinks.links("<template><img src=/t.png>" * 100_000, PAGE_URL)) == 100_000


def test_many_a_elements_under_formatting_elements():
    # each <a> used to search the whole stack of open elements for the previous one: quadratic
    fast("<b><i><a href=x>" * 2000)
    assert len(_fastlinks.links("<b><i><a href=x>" * 65536, PAGE_URL)) == 65536


@pytest.mark.parametrize(
    "unit", ["<div>", "<ul><li>", "<dl><dd>", "<p><div>", "<button><div>", "<h1><div>", "<form><div>", "<b><div>"]
)
def test_deeply_nested_pages_cost_scope_checks_in_proportion_to_their_size(unit):
    # every <div>, <li>, <dd> ... start asks whether a <p> is open "in button scope": walking the whole stack of
    # open elements each time made 1 MB of nested <div> take 20 s; a tag none is open of is now answered at once
    page = "<a href=/first>{}<a href=/last>"
    assert fast(page.format(unit * 300)) == _lexbor_links(page.format(unit * 300), PAGE_URL)
    sizes, steps = [], []
    for depth in (20_000, 40_000):
        html = page.format(unit * depth)
        assert len(_fastlinks.links(html, PAGE_URL)) >= 2
        sizes.append(len(html))
        steps.append(_fastlinks.scope_steps())
    # linear: the same work per byte at twice the depth (it was 40,000² / 2 scope checks), within the budget
    assert steps[1] <= _fastlinks.BUDGET_PER_BYTE * sizes[1] and steps[1] <= 2.2 * steps[0] + 100


def test_unresolvable_and_fragment_links():
    assert fast("<a href='http://exa mple.org/'>x</a><a href='p.html#frag'>y</a>") == [
        ("a", "http://exa mple.org/", None),
        ("a", "p.html#frag", "https://www.example.org/dir/p.html"),
    ]


def test_without_a_document_url_only_absolute_links_resolve():
    assert fast("<a href=/x>x</a><a href='https://a.example.org/y#z'>y</a>", None) == [
        ("a", "/x", None),
        ("a", "https://a.example.org/y#z", "https://a.example.org/y"),
    ]


@pytest.mark.parametrize(
    "html",
    [
        "<svg><a href='/svg-a' xlink:href='/xlink'>t</a><rect style='fill:url(/r.png)'/><image href=/i.png/></svg>",
        "<svg><style>.a{fill:url(/s.png)}<!-- c --><![CDATA[.b{fill:url(/cdata.png)}]]></style></svg>",
        "<svg><script>if (a<b) x = '</script>';</script><a href=/after-svg-script>x</a></svg>",
        "<svg><base href=/svg-base/></svg><a href=rel>x</a>",  # lexbor's selectors find SVG elements by name
        "<svg><text>http://svg-text.example.org/x</text><title>http://svg-title.example.org/</title></svg>",
        "<svg><template>http://stripped.example.org/</template></svg>",
        "<svg><foreignObject><p><a href=/fo>x</a><style>.f{background:url(/f.png)}</style></foreignObject></svg>",
        "<svg><desc><a href=/1><p>x</desc>y</svg>z",
        "<svg><p>breaks out</p><font color=red>too</font><font>not</font></svg>",
        "<table><svg><a href=/fostered-svg></svg><tr><td>x</table>",
        "<b><svg><i>x</b>y",
        "<svg/><a href=/after-self-closing>",
    ],
)
def test_svg_content(html):
    fast(html)


@pytest.mark.parametrize(
    "html",
    [
        # a formula as encyclopedias write them: the TeX annotation is text, not body text URLs
        "<p>Let <span><math alttext='x^2'><semantics><mrow><msup><mi>x"
        "</mi><mn>2</mn></msup></mrow><annotation encoding='application/x-tex'>x^2 http://tex.test/a</annotation>"
        "</semantics></math><img src=/fallback.svg></span> see <a href=/wiki/X>X</a> http://text.test/y</p>",
        "<math><mi><a href=/in-mi>x</a></mi><a href=/in-math>y</a><div><a href=/after-break>z</a></div></math>",
        "<math><annotation-xml encoding=text/html><div><a href=/html-ann>x</a></div></annotation-xml></math>",
        "<math><annotation-xml encoding=text/plain><div><a href=/breaks-out>x</a></div></annotation-xml></math>",
        "<math><annotation-xml><svg><a href=/svg-in-ann>x</a></svg></annotation-xml></math>",
        "<math><mtext><b>http://bold.test/x</b></mtext><style>.a{background:url(/m.png)}</style></math>",
        "<table><math><mi>x<a href=/t>t</a></math></table>",
        "<math><mi><mglyph src=/g.png><malignmark><a href=/after-glyph>g</a></mi></math>",
        "<svg><math><mi><a href=/math-in-svg>m</a></mi></math></svg><math><svg><a href=/svg-in-math>s</a></svg></math>",
        "<math><mi>open http://open.test/x</math> after http://after.test/y",
    ],
)
def test_mathml_content(html):
    fast(html)


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<svg><style>.a{}<tspan>markup</tspan></style></svg>", "svg style markup"),
        ("<plaintext><a href=/x>", "plaintext"),
        ("<frameset><frame src=/f></frameset>", "frameset"),
        ("<a href=/x>\x00</a>", "NUL"),
        ("<a href=/x>\ud800</a>", "surrogates"),
    ],
)
def test_what_the_scanner_does_not_model_goes_to_lexbor(html, reason):
    assert fast_path_fallback(html) == reason
    assert _fast_links(html, PAGE_URL) is None
    if "\ud800" not in html:
        assert html_links(html, PAGE_URL) == _lexbor_links(html, PAGE_URL)


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


# ---------------------------------------------------------------------------------------------------------------
# hostile pages: bounded work, every link element found
#
# The standard's tree construction (and lexbor's) walks the stack of open elements, or the list of active
# formatting elements, or a tag's attributes, once per token: some nestings make it quadratic (1 MB of them took
# the scanner a minute, lexbor as long). The scanner stops at a budget of work and the page's links come from
# the tokenizer alone ("soup"); pages left to lexbor are bounded by size instead.

SCAN_LENIENT, SCAN_SOUP = 1, 2
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
        assert fast(html) == _lexbor_links(html, PAGE_URL)
        assert element_links(_fastlinks.links(html, PAGE_URL, SCAN_SOUP)) == element_links(fast(html))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents(_URL_TAGS + _TREE_TAGS + _SVG_TAGS + ["math", "plaintext", "frameset", "template", "script"]))
def test_generated_documents_the_tokenizer_alone_finds_every_element_link_lexbor_finds(html):
    soup_finds_lexbors_element_links(html)


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


# ---------------------------------------------------------------------------------------------------------------
# real and synthetic pages


def _real_pages() -> list[tuple[str, str | None, str]]:
    """(file, document URL, decoded HTML) of every HTML response the archive readers get from the files."""
    pages, seen = [], set()
    readers = ((read_fastwarc, open), (read_warcio, open), (read_warcio, gzip.open))
    for path in sorted(p for folder in ("warc", "commoncrawl") for p in (REALDATA / folder).rglob("*") if p.is_file()):
        for read, opener in readers:
            try:
                with opener(path, "rb") as stream:
                    for record in read(stream):
                        if record.record_type not in ("response", "resource", "conversion"):
                            continue
                        if record.http_headers or record.http_status is not None:
                            content_type = record.http_header("Content-Type")
                            body = decode_http_body(
                                record.payload or b"",
                                record.http_header("Transfer-Encoding"),
                                record.http_header("Content-Encoding"),
                            )
                        else:
                            content_type, body = record.warc_content_type, record.payload or b""
                        if not body or not looks_like_html(mime_type(content_type), body):
                            continue
                        url = normalize(record.target_uri) if record.target_uri else None
                        html = decode_html(body, charset_of(content_type))
                        if (url, html) not in seen:
                            seen.add((url, html))
                            pages.append((str(path.relative_to(REALDATA)), url, html))
            except Exception:  # noqa: BLE001 - broken files on purpose: the next reader, or the next file
                continue
    return pages


def test_real_archives_page_by_page(realdata, capsys):
    pages = _real_pages()
    assert len(pages) > 100
    fallbacks = Counter()
    for name, url, html in pages:
        if same_links(html, url) is None:
            fallbacks[f"{name}: {fast_path_fallback(html)}"] += 1
        # were the page hostile, the tokenizer alone would still find every element link lexbor finds
        soup = _fastlinks.links(html, url, SCAN_SOUP)
        assert element_links(_lexbor_links(html, url)) <= element_links(soup), name
    with capsys.disabled():
        print(f"\n_fastlinks on {len(pages)} real pages: {sum(fallbacks.values())} left to lexbor {dict(fallbacks)}")
    assert sum(fallbacks.values()) <= len(pages) // 20


def _page_maker():
    spec = importlib.util.spec_from_file_location("bench_ingest_corpus", ROOT / "bench" / "ingest_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PageMaker


def test_benchmark_pages_are_all_taken_and_agree():
    maker = _page_maker()(random.Random(20260115))
    for number in range(300):
        url = f"https://www.h{number}.example.org/dir/page-{number}.html"
        body, _ = maker.html(url)
        assert same_links(decode_html(body, "utf-8"), url) is not None
