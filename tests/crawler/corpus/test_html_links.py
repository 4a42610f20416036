"""Link extraction from HTML: every link kind, <base>, srcset, meta refresh, skipped schemes, text URLs."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.corpus.html_links import CSS_URL, css_urls, html_links, refresh_url, srcset_candidates, text_urls

PAGE_URL = "https://www.example.org/dir/page.html"


def links_of(html: str, url: str = PAGE_URL) -> list[tuple[str, str, str | None]]:
    return list(html_links(html, url))


def test_every_element_kind_is_extracted_and_resolved():
    html = """<html><head><link rel=stylesheet href="/s.css"><script src="app.js"></script></head><body>
    <a href="a.html">a</a><map><area href="area.html"></map><img src="i.png">
    <iframe src="//frames.example.org/f"></iframe><frame src="frame.html"><embed src="e.swf">
    <video src="v.mp4" poster="p.jpg"><source src="s.webm"></video><audio src="au.mp3"></audio>
    <form action="/search"></form></body></html>"""
    found = {(kind, url) for kind, _, url in links_of(html)}
    assert found == {
        ("link", "https://www.example.org/s.css"),
        ("script", "https://www.example.org/dir/app.js"),
        ("a", "https://www.example.org/dir/a.html"),
        ("area", "https://www.example.org/dir/area.html"),
        ("img", "https://www.example.org/dir/i.png"),
        ("iframe", "https://frames.example.org/f"),
        ("embed", "https://www.example.org/dir/e.swf"),
        ("video", "https://www.example.org/dir/v.mp4"),
        ("video", "https://www.example.org/dir/p.jpg"),
        ("source", "https://www.example.org/dir/s.webm"),
        ("audio", "https://www.example.org/dir/au.mp3"),
        ("form", "https://www.example.org/search"),
    }


def test_frame_inside_frameset_is_extracted():
    html = "<html><frameset><frame src='left.html'><frame src='right.html'></frameset></html>"
    assert [url for _, _, url in links_of(html)] == [
        "https://www.example.org/dir/left.html",
        "https://www.example.org/dir/right.html",
    ]


def test_base_href_applies_to_every_relative_link_even_before_it():
    html = (
        "<html><head><link href='early.css'><base href='https://mirror.example.org/pub/'></head>"
        "<body><a href='x/y.html'>x</a><a href='/root'>r</a></body></html>"
    )
    assert [url for _, _, url in links_of(html)] == [
        "https://mirror.example.org/pub/early.css",
        "https://mirror.example.org/pub/x/y.html",
        "https://mirror.example.org/root",
    ]


def test_relative_base_href_resolves_against_the_document():
    html = "<base href='/sub/'><a href='z'>z</a>"
    assert links_of(html)[0][2] == "https://www.example.org/sub/z"


def test_every_srcset_candidate_is_a_link():
    html = (
        '<img src="a.png" srcset="b.png 1x, c,1.png 2x, https://cdn.example.org/d.png 640w">'
        '<picture><source srcset="e.webp"></picture>'
    )
    found = [(kind, url) for kind, _, url in links_of(html)]
    assert found == [
        ("img", "https://www.example.org/dir/a.png"),
        ("srcset", "https://www.example.org/dir/b.png"),
        ("srcset", "https://www.example.org/dir/c,1.png"),
        ("srcset", "https://cdn.example.org/d.png"),
        ("srcset", "https://www.example.org/dir/e.webp"),
    ]


def test_srcset_parsing_follows_whatwg_splitting():
    assert srcset_candidates("a.png, b.png 2x,c.png") == ["a.png", "b.png", "c.png"]
    assert srcset_candidates("  x.png 1x (with, comma), y.png") == ["x.png", "y.png"]
    assert srcset_candidates("") == []


def test_meta_refresh_target_is_a_link():
    html = "<meta http-equiv='REFRESH' content=\"5; URL='https://next.example.org/'\"><meta name=x content=y>"
    assert links_of(html) == [("meta-refresh", "https://next.example.org/", "https://next.example.org/")]


def test_refresh_without_url_is_no_link():
    assert refresh_url("30") is None
    assert refresh_url("0;url=/a b") == "/a b"
    assert refresh_url('0, URL = "q.html" trailing') == "q.html"


def test_script_mailto_data_and_fragment_links_are_skipped():
    html = (
        "<a href='javascript:alert(1)'>j</a><a href='MAILTO:x@example.org'>m</a>"
        "<img src='data:image/png;base64,AAAA'><a href='#top'>t</a><a href='tel:+1'>t</a><a href=''>e</a>"
        "<a href='keep.html#frag'>k</a>"
    )
    assert links_of(html) == [("a", "keep.html#frag", "https://www.example.org/dir/keep.html")]


def test_unparsable_href_is_kept_without_url():
    assert links_of("<a href='http://exa mple.org/'>bad</a>") == [("a", "http://exa mple.org/", None)]


def test_bare_urls_in_text_are_links_but_not_in_scripts_or_styles():
    html = (
        "<body><p>See https://text.example.org/a, (http://paren.example.org/b).</p>"
        "<script>var u = 'http://script.example.org/';</script><style>/* http://style.example.org/ */</style>"
        "</body>"
    )
    assert [(kind, url) for kind, _, url in links_of(html)] == [
        ("text", "https://text.example.org/a"),
        ("text", "http://paren.example.org/b"),
    ]


def test_text_urls_trim_sentence_punctuation():
    assert list(text_urls("go to http://a.example.org/x. or https://b.example.org/(y)!")) == [
        "http://a.example.org/x",
        "https://b.example.org/(y)",
    ]


def test_hosts_come_out_as_browsers_see_them():
    html = (
        "<a href='HTTP://WWW.Example.ORG:80/a'>1</a><a href='http://bücher.example.org/'>2</a>"
        "<a href='http://0x7f.1/'>3</a>"
    )
    assert [url for _, _, url in links_of(html)] == [
        "http://www.example.org/a",
        "http://xn--bcher-kva.example.org/",
        "http://127.0.0.1/",
    ]


def test_links_inside_noscript_and_templates_count():
    html = (
        "<body><noscript><a href='/ns'>n</a></noscript>"
        "<template><a href='/t1'>t</a><template><img src='/t2.png'></template></template><p>x</p></body>"
    )
    assert [(kind, url) for kind, _, url in links_of(html)] == [
        ("a", "https://www.example.org/ns"),
        ("a", "https://www.example.org/t1"),
        ("img", "https://www.example.org/t2.png"),
    ]


def test_lazy_loading_object_and_form_button_urls_are_links():
    html = (
        "<img src='placeholder.gif' data-src='https://lazy.example.org/real.jpg' data-srcset='a.jpg 1x, b.jpg 2x'>"
        "<object data='movie.swf'></object><input type='image' src='go.png'>"
        "<button formaction='/submit'>b</button><link rel=preload as=image imagesrcset='hero.jpg 800w'>"
        "<video><track src='subs.vtt'></video>"
    )
    assert [(kind, url) for kind, _, url in links_of(html)] == [
        ("img", "https://www.example.org/dir/placeholder.gif"),
        ("img", "https://lazy.example.org/real.jpg"),
        ("srcset", "https://www.example.org/dir/a.jpg"),
        ("srcset", "https://www.example.org/dir/b.jpg"),
        ("object", "https://www.example.org/dir/movie.swf"),
        ("input", "https://www.example.org/dir/go.png"),
        ("form", "https://www.example.org/submit"),
        ("srcset", "https://www.example.org/dir/hero.jpg"),
        ("track", "https://www.example.org/dir/subs.vtt"),
    ]


def test_css_urls_in_style_attributes_and_blocks_are_links():
    html = (
        "<head><style>@import 'theme.css'; .hero { background: URL( \"/img/hero.jpg\" ) }"
        " .x { background-image: url(data:image/png;base64,AAAA) }</style></head>"
        "<body><div style=\"background-image:url('https://bg.example.org/a.png')\">x</div></body>"
    )
    assert [(kind, url) for kind, _, url in links_of(html)] == [
        ("css", "https://www.example.org/img/hero.jpg"),
        ("css", "https://www.example.org/dir/theme.css"),
        ("css", "https://bg.example.org/a.png"),
    ]


# unquoted values hold no "(": CSS makes `url(a(b)` a bad URL, and allowing it made the scan quadratic
_BACKTRACKING_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^()'"\s]*))\s*\)""", re.IGNORECASE)


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(st.sampled_from(["url(", "URL(", ")", "(", " ", "\t", "\n", '"', "'", "a", "/", "@import "])).map("".join)
)
def test_css_url_pattern_finds_what_the_backtracking_one_found(css):
    """The possessive pattern (linear on `url(` and a long run of spaces) matches exactly as the plain one."""
    assert CSS_URL.findall(css) == _BACKTRACKING_CSS_URL.findall(css)


def test_a_long_run_of_spaces_after_url_is_no_link():
    assert css_urls("a{b:url(" + " " * 200_000 + "x") == []


def test_an_unquoted_css_url_holding_a_parenthesis_is_no_link():
    # a bad URL in CSS terms: browsers fetch nothing
    assert css_urls("a{b:url(x(y)} c{d:url(/z.png)}") == ["/z.png"]
