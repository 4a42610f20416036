"""The `urls` format."""

from __future__ import annotations

from tests.pipelines.lists.formats.report_checks import check_lines

URL_LINES = [
    ("# comment", "comment"),
    ("http://bad.test:8080/x?y", "url: http://bad.test:8080/x?y"),
    ("bad.test/dir/x", "url: bad.test/dir/x"),
    ("bad.test", "url: bad.test"),  # a bare host is a URL too (bad.test/)
    ("", "blank"),
    ("https://bad.test/a b", "rejected: whitespace inside the URL"),
    ("HTTP://Example.COM/Path#frag", "url: HTTP://Example.COM/Path#frag"),  # as written
    ("  203.0.113.9/run.sh  ", "url: 203.0.113.9/run.sh"),
]


def test_urls(tmp_path):
    check_lines(tmp_path, "urls.txt", "urls", URL_LINES)
