"""The `adblock` format: the rules that block hosts or URL prefixes, and why every other rule is skipped.

Synthetic fixtures use reserved names only (*.test, example.org/.com/.net) and documentation IPs.
"""

from __future__ import annotations

from pipelines.lists.formats import parse_list_file
from tests.pipelines.lists.formats.report_checks import check_invariants, reasons, rows, write


def test_adblock(tmp_path):
    lines = [
        "[Adblock Plus 2.0]",  # 1 comment
        "! Title: test list",  # 2 comment
        "||ads.example.com^",  # 3
        "||track.test^$third-party",  # 4 unsupported
        "@@||good.example.org^$document",  # 5 exception
        "||bad.test/path/x.js^",  # 6
        "||bad.test:8080^",  # 7 port: a URL
        "|https://bad.test/dl^",  # 8
        "example.net",  # 9 bare host (uBO)
        "203.0.113.7",  # 10 bare IP
        "example.com##.ad-banner",  # 11 cosmetic
        "##.generic-ad",  # 12 cosmetic
        "example.org#@#.ad",  # 13 cosmetic exception
        "/banner/ads.",  # 14 not anchored
        "-ad-300x250.",  # 15 not anchored
        "/ads[0-9]+\\.js/",  # 16 regex
        "||bad.test/*/ads^",  # 17 wildcard
        "||",  # 18 broken
        "||^",  # 19 broken
        "||bad.test^$important,all",  # 20
        "||bad.test^$domain=example.org",  # 21
        "||bad.test^$badfilter",  # 22
        "# a hash comment",  # 23 comment
        "",  # 24 blank
        "||bad.test^$",  # 25 broken
        "example.com#$#abort-on-property-read ads",  # 26 cosmetic (scriptlet)
        'example.com$$script[tag-content="ad"]',  # 27 cosmetic (HTML filter)
        "||bad.test?q=1",  # 28
        "|ws://bad.test^",  # 29
        "@@||allowed.test/path^",  # 30 exception URL
        "||BAD.test^$DOC",  # 31 as written; option names are case-insensitive
        "||bad.test^$~third-party",  # 32
        "_chartbeat.js",  # 33 not a host
        "||[2001:db8::5]^",  # 34
        "||bad.test^$redirect=noopjs",  # 35
        "||bad.test^|",  # 36
        "|http://bad.test/x|",  # 37
        "||*.bad.test^",  # 38
        "||.bad.test^",  # 39
    ]
    report = parse_list_file(write(tmp_path, "filters.txt", "\n".join(lines) + "\n"), "adblock")
    assert rows(report) == [
        (3, "domain", "ads.example.com"),
        (5, "domain", "good.example.org", "exception"),
        (6, "url", "bad.test/path/x.js"),
        (7, "url", "bad.test:8080/"),
        (8, "url", "https://bad.test/dl"),
        (9, "domain", "example.net"),
        (10, "domain", "203.0.113.7"),
        (20, "domain", "bad.test"),
        (28, "url", "bad.test/?q=1"),
        (30, "url", "allowed.test/path", "exception"),
        (31, "domain", "BAD.test"),
        (34, "domain", "[2001:db8::5]"),
        (36, "domain", "bad.test"),
        (37, "url", "http://bad.test/x"),
    ]
    assert (report.comments, report.blank) == (3, 1)
    assert reasons(report.rejected) == [
        (18, "no host after '||'"),
        (19, "no host after '||'"),
        (25, "empty option list after '$'"),
        (39, "host starts with '.'"),
    ]
    assert reasons(report.unsupported) == [
        (4, "option $third-party narrows the rule"),
        (11, "cosmetic rule"),
        (12, "cosmetic rule"),
        (13, "cosmetic rule"),
        (14, "not anchored to a host (matches anywhere in a URL)"),
        (15, "not anchored to a host (matches anywhere in a URL)"),
        (16, "regular expression rule"),
        (17, "wildcard '*' inside the rule"),
        (21, "option $domain=example.org narrows the rule"),
        (22, "option $badfilter cancels another rule"),
        (26, "cosmetic rule"),
        (27, "cosmetic rule (HTML filter)"),
        (29, "start-anchored rule that is not an http(s) URL"),
        (32, "option $~third-party narrows the rule"),
        (33, "not anchored to a host (matches anywhere in a URL)"),
        (35, "option $redirect=noopjs rewrites the request instead of blocking it"),
        (38, "wildcard '*' inside the rule"),
    ]
    check_invariants(report, 39)
