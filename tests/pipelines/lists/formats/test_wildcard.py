"""The `wildcard` format."""

from __future__ import annotations

from tests.pipelines.lists.formats.report_checks import check_lines

WILDCARD_LINES = [
    ("# comment", "comment"),
    ("*.bad.test", "domain: bad.test"),
    ("example.org", "domain: example.org"),
    ("! comment", "comment"),
    ("bad.*.test", "rejected: '*' is only allowed as a leading '*.'"),
    ("*.", "rejected: no domain after '*.'"),
    ("**.x.test", "rejected: '*' is only allowed as a leading '*.'"),
    ("*.192.0.2.1", "domain: 192.0.2.1"),
    ("", "blank"),
    ("*.a.test/x", "rejected: looks like a URL, not a domain"),
]


def test_wildcard(tmp_path):
    check_lines(tmp_path, "wildcard.txt", "wildcard", WILDCARD_LINES)
