"""The `adblock` format: the rules that block hosts or URL prefixes, and why every other rule is skipped."""

from __future__ import annotations

from tests.pipelines.lists.formats.report_checks import check_lines

ADBLOCK_RULES = [
    ("[Adblock Plus 2.0]", "comment"),
    ("! Title: test list", "comment"),
    ("||ads.example.com^", "domain: ads.example.com"),
    ("||track.test^$third-party", "unsupported: option $third-party narrows the rule"),
    ("@@||good.example.org^$document", "exception domain: good.example.org"),
    ("||bad.test/path/x.js^", "url: bad.test/path/x.js"),
    ("||bad.test:8080^", "url: bad.test:8080/"),  # a port makes it a URL
    ("|https://bad.test/dl^", "url: https://bad.test/dl"),
    ("example.net", "domain: example.net"),  # a bare host (uBO)
    ("203.0.113.7", "domain: 203.0.113.7"),
    ("example.com##.ad-banner", "unsupported: cosmetic rule"),
    ("##.generic-ad", "unsupported: cosmetic rule"),
    ("example.org#@#.ad", "unsupported: cosmetic rule"),  # a cosmetic exception
    ("/banner/ads.", "unsupported: not anchored to a host (matches anywhere in a URL)"),
    ("-ad-300x250.", "unsupported: not anchored to a host (matches anywhere in a URL)"),
    ("/ads[0-9]+\\.js/", "unsupported: regular expression rule"),
    ("||bad.test/*/ads^", "unsupported: wildcard '*' inside the rule"),
    ("||", "rejected: no host after '||'"),
    ("||^", "rejected: no host after '||'"),
    ("||bad.test^$important,all", "domain: bad.test"),
    ("||bad.test^$domain=example.org", "unsupported: option $domain=example.org narrows the rule"),
    ("||bad.test^$badfilter", "unsupported: option $badfilter cancels another rule"),
    ("# a hash comment", "comment"),
    ("", "blank"),
    ("||bad.test^$", "rejected: empty option list after '$'"),
    ("example.com#$#abort-on-property-read ads", "unsupported: cosmetic rule"),  # a scriptlet
    ('example.com$$script[tag-content="ad"]', "unsupported: cosmetic rule (HTML filter)"),
    ("||bad.test?q=1", "url: bad.test/?q=1"),
    ("|ws://bad.test^", "unsupported: start-anchored rule that is not an http(s) URL"),
    ("@@||allowed.test/path^", "exception url: allowed.test/path"),
    ("||BAD.test^$DOC", "domain: BAD.test"),  # as written; option names are case-insensitive
    ("||bad.test^$~third-party", "unsupported: option $~third-party narrows the rule"),
    ("_chartbeat.js", "unsupported: not anchored to a host (matches anywhere in a URL)"),  # not a host
    ("||[2001:db8::5]^", "domain: [2001:db8::5]"),
    (
        "||bad.test^$redirect=noopjs",
        "unsupported: option $redirect=noopjs rewrites the request instead of blocking it",
    ),
    ("||bad.test^|", "domain: bad.test"),
    ("|http://bad.test/x|", "url: http://bad.test/x"),
    ("||*.bad.test^", "unsupported: wildcard '*' inside the rule"),
    ("||.bad.test^", "rejected: host starts with '.'"),
]


def test_adblock(tmp_path):
    check_lines(tmp_path, "filters.txt", "adblock", ADBLOCK_RULES)
