"""The `urls` format.

Synthetic fixtures use reserved names only (*.test, example.org/.com/.net) and documentation IPs.
"""

from __future__ import annotations

from pipelines.lists.formats import parse_list_file
from tests.pipelines.lists.formats.report_checks import check_invariants, reasons, rows, write


def test_urls(tmp_path):
    path = write(
        tmp_path,
        "urls.txt",
        "# comment\n"  # 1
        "http://bad.test:8080/x?y\n"  # 2
        "bad.test/dir/x\n"  # 3
        "bad.test\n"  # 4: a bare host is a URL too (bad.test/)
        "\n"  # 5
        "https://bad.test/a b\n"  # 6
        "HTTP://Example.COM/Path#frag\n"  # 7: as written
        "  203.0.113.9/run.sh  \n",  # 8
    )
    report = parse_list_file(path, "urls")
    assert rows(report) == [
        (2, "url", "http://bad.test:8080/x?y"),
        (3, "url", "bad.test/dir/x"),
        (4, "url", "bad.test"),
        (7, "url", "HTTP://Example.COM/Path#frag"),
        (8, "url", "203.0.113.9/run.sh"),
    ]
    assert (report.comments, report.blank) == (1, 1)
    assert reasons(report.rejected) == [(6, "whitespace inside the URL")]
    check_invariants(report, 8)
