"""URL resolution: WHATWG results, skipped schemes, and the parser shortcut for already-normal URLs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.urls.public_suffix import registered_domain
from pipelines.urls.whatwg import ALREADY_NORMAL, Resolver, _fetchable_without_fragment, _href, resolve


def test_relative_links_resolve_against_the_base():
    assert resolve("http://a.example.org/x/y.html", "../z?q#f") == "http://a.example.org/z?q"


def test_only_fetchable_schemes_resolve():
    assert resolve("http://a.example.org/", "ftp://files.example.org/x") == "ftp://files.example.org/x"
    assert resolve("http://a.example.org/", "mailto:x@example.org") is None
    assert resolve(None, "file:///etc/hosts") is None


def test_unparsable_and_unencodable_urls_are_none():
    assert resolve(None, "http://exa mple.org/") is None
    assert resolve("http://a.example.org/", "\ud800") is None


def test_registered_domain_uses_the_icann_section_offline():
    assert registered_domain("a.b.example.org") == "example.org"
    assert registered_domain("192.0.2.1") is None
    assert registered_domain("a.site.test") == "site.test"  # no rule for .test: the PSL default rule "*"


LABEL = st.sampled_from(["a", "Ab", "b1", "xn--bcher-kva", "xn--zz", "EX", "0x7f", "1", "-a", "a-", "www", "192", "_u"])
HOST = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
SEGMENT = st.sampled_from(["", ".", "..", ".x", "x", "a b", "%2e", "%41", "\\", "~u", "é", "(c)", "a:b", "'", "`"])
PATH = st.lists(SEGMENT, max_size=4).map("/".join)
QUERY = st.sampled_from(["", "?", "?q=1", "?a=b&c=/d", "?x y", "?'q'", "?é", "?<"])
TAIL = st.sampled_from(["", "#", "#frag", "#a b"])
PREFIX = st.sampled_from(["http://", "https://", "HTTP://", "https:/", "http://u@"])
PORT = st.sampled_from(["", "", ":80", ":443", ":8080"])


@settings(max_examples=3000, deadline=None)
@given(PREFIX, HOST, PORT, PATH, QUERY, TAIL)
def test_shortcut_only_takes_urls_the_parser_returns_unchanged(prefix, host, port, path, query, tail):
    url = f"{prefix}{host}{port}/{path}{query}{tail}"
    parsed = _fetchable_without_fragment(_href(url, None))
    if ALREADY_NORMAL.fullmatch(url):
        assert parsed == url.split("#", 1)[0]
    assert Resolver(None)(url) == parsed


RELATIVE = st.one_of(
    PATH.map(lambda path: "/" + path),  # root-relative
    PATH,  # relative to the base's directory
    st.tuples(HOST, PATH).map(lambda parts: f"//{parts[0]}/{parts[1]}"),  # protocol-relative
    st.sampled_from(["?q=1", "#frag", "a:b/c", "", "./x", "../y", "x/./z"]),
)


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(["http://", "https://"]), HOST, PATH, QUERY, RELATIVE, QUERY, TAIL)
def test_joining_by_concatenation_matches_the_parser(scheme, host, base_path, base_query, relative, query, tail):
    _assert_joined_like_the_parser(f"{scheme}{host}/{base_path}{base_query}", f"{relative}{query}{tail}")


def _assert_joined_like_the_parser(base_text: str, raw: str) -> None:
    """Resolver (shortcut or parser) against the parser alone, for a base the parser accepts."""
    base = _fetchable_without_fragment(_href(base_text, None))
    if base is None:
        return
    expected = _fetchable_without_fragment(_href(raw, base))
    assert Resolver(base)(raw) == expected, (base, raw)


DOT_PREFIX = st.lists(st.sampled_from(["./", "../", "../../", ".", "..", ".//"]), max_size=4).map("".join)


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(["http://", "https://"]), HOST, PATH, DOT_PREFIX, PATH, QUERY, TAIL)
def test_leading_dot_segments_are_joined_like_the_parser(scheme, host, base_path, dots, path, query, tail):
    _assert_joined_like_the_parser(f"{scheme}{host}/{base_path}", f"{dots}{path}{query}{tail}")


def test_common_relative_links_skip_the_parser(monkeypatch):
    import pipelines.urls.whatwg as urls

    def parser_not_expected(*args):
        raise AssertionError("the parser was called")

    monkeypatch.setattr(urls, "_href", parser_not_expected)
    resolve_link = Resolver("https://www.example.org/dir/page.html?x=1")
    assert resolve_link("/static/a.css") == "https://www.example.org/static/a.css"
    assert resolve_link("../up.html") == "https://www.example.org/up.html"  # never above the root
    assert Resolver("https://www.example.org/a/b/c.html")("./../x/y.html") == "https://www.example.org/a/x/y.html"
    assert resolve_link("//cdn.example.org/j.js") == "https://cdn.example.org/j.js"
    assert resolve_link("img/p.png#top") == "https://www.example.org/dir/img/p.png"


def test_a_page_url_holding_lone_surrogates_resolves_with_its_bytes_percent_encoded():
    # a header's undecodable bytes reach the base URL as lone surrogates: the parser's public API takes no such
    # text, so they are given as the percent-encoded UTF-8 bytes the previous (private) binding passed it
    resolve_link = Resolver("https://a.example.org/d\udce9r/p\u00e9.html?q=\udcff")
    assert resolve_link("x?y") == "https://a.example.org/d%ED%B3%A9r/x?y"
    assert resolve_link("https://b.example.org/\u00e9") == "https://b.example.org/%C3%A9"
    assert resolve_link("/\udc80") is None  # a link holding one is no URL
    assert Resolver("https://\udce9.example.org/x")("y") is None  # nor is a host holding one
