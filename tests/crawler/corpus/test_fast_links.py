"""The compiled link scanner (crawler/corpus/_fastlinks.c) against lexbor: the same links on every page it takes.

lexbor defines the result. The scanner either gives the same multiset of (kind, raw_url, resolved_url) or
declines the page (html_links then parses it with lexbor), as link_parity.py defines; these tests check
both on hand-written edge cases (here), generated documents (test_fast_links_generated.py), hostile pages
(test_fast_links_hostile.py), the third-party archives and the benchmark's synthetic pages
(test_fast_links_real.py). fuzz/links.py checks the same with mutated pages.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from crawler.corpus.html_links import _fast_links, _lexbor_links, fast_path_fallback, html_links
from tests.crawler.corpus.link_parity import PAGE_URL, same_links, taken_links

_fastlinks = pytest.importorskip("crawler.corpus._fastlinks", reason="the C extension is not built")

ROOT = Path(__file__).resolve().parents[3]


def raws(html: str) -> list[tuple[str, str]]:
    return sorted((kind, raw) for kind, raw, _ in taken_links(html))


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
    taken_links(html)


def test_base_href_applies_before_and_after_it():
    assert [url for _, _, url in taken_links("<a href=x>1</a><base href='/b/'><a href=y>2</a>")] == [
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
    taken_links(html)


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
    taken_links(html)


# found by an ASan/UBSan build under fuzzing: the normal build gives the same answers, the sanitizers did not


def test_every_tag_name_is_looked_up_within_its_literal():
    # tag_id compared n bytes of a shorter known name ("noscript" probing "applet"): a read past its literal
    taken_links("<noscript>http://ns.example.org/</noscript><textarea>http://ta.example.org/</textarea><a href=/a>")
    for name in re.findall(r'"([a-z0-9]+)"', (ROOT / "crawler" / "corpus" / "_fastlinks.c").read_text()):
        same_links(f"<{name} href=/{name}>http://{name}.example.org/ <{name.upper()}><a href=/after></{name}>")


def test_a_fresh_parser_decodes_a_reference_at_the_start_of_the_text():
    # a page holding more than the kept buffers' limit frees them: the next page gets an empty arena, and
    # decoding "&amp;" at its start copied 0 bytes to NULL
    assert isinstance(_fastlinks.links("<b>" * 400_000, None), list)
    taken_links("&amp;x http://a.example.org/")


def test_nested_templates_keep_lexbors_order():
    # links used to be emitted with one pass over all links per template level: quadratic in the nesting
    # (100,000 nested templates took 5 s; a 32 MB page, hours)
    html = "<a href=/0><template><img src=/1><template><img src=/2></template><img src=/1b></template><a href=/00>"
    assert taken_links(html * 2) == _lexbor_links(html * 2, PAGE_URL)  # the document, then template level by level
    taken_links("<template><img src=/t.png>" * 2000)
    assert len(_fastlinks.links("<template><img src=/t.png>" * 100_000, PAGE_URL)) == 100_000


def test_many_a_elements_under_formatting_elements():
    # each <a> used to search the whole stack of open elements for the previous one: quadratic
    taken_links("<b><i><a href=x>" * 2000)
    assert len(_fastlinks.links("<b><i><a href=x>" * 65536, PAGE_URL)) == 65536


@pytest.mark.parametrize(
    "unit", ["<div>", "<ul><li>", "<dl><dd>", "<p><div>", "<button><div>", "<h1><div>", "<form><div>", "<b><div>"]
)
def test_deeply_nested_pages_cost_scope_checks_in_proportion_to_their_size(unit):
    # every <div>, <li>, <dd> ... start asks whether a <p> is open "in button scope": walking the whole stack of
    # open elements each time made 1 MB of nested <div> take 20 s; a tag none is open of is now answered at once
    page = "<a href=/first>{}<a href=/last>"
    assert taken_links(page.format(unit * 300)) == _lexbor_links(page.format(unit * 300), PAGE_URL)
    sizes, steps = [], []
    for depth in (20_000, 40_000):
        html = page.format(unit * depth)
        assert len(_fastlinks.links(html, PAGE_URL)) >= 2
        sizes.append(len(html))
        steps.append(_fastlinks.scope_steps())
    # linear: the same work per byte at twice the depth (it was 40,000² / 2 scope checks), within the budget
    assert steps[1] <= _fastlinks.BUDGET_PER_BYTE * sizes[1] and steps[1] <= 2.2 * steps[0] + 100


def test_unresolvable_and_fragment_links():
    assert taken_links("<a href='http://exa mple.org/'>x</a><a href='p.html#frag'>y</a>") == [
        ("a", "http://exa mple.org/", None),
        ("a", "p.html#frag", "https://www.example.org/dir/p.html"),
    ]


def test_without_a_document_url_only_absolute_links_resolve():
    assert taken_links("<a href=/x>x</a><a href='https://a.example.org/y#z'>y</a>", None) == [
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
    taken_links(html)


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
    taken_links(html)


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
