"""The `wildcard` format.

Synthetic fixtures use reserved names only (*.test, example.org/.com/.net) and documentation IPs.
"""

from __future__ import annotations

from pipelines.lists.formats import parse_list_file
from tests.pipelines.lists.formats.report_checks import check_invariants, reasons, rows, write


def test_wildcard(tmp_path):
    path = write(
        tmp_path,
        "wildcard.txt",
        "# comment\n*.bad.test\nexample.org\n! comment\nbad.*.test\n*.\n**.x.test\n*.192.0.2.1\n\n*.a.test/x\n",
    )
    report = parse_list_file(path, "wildcard")
    assert rows(report) == [(2, "domain", "bad.test"), (3, "domain", "example.org"), (8, "domain", "192.0.2.1")]
    assert (report.comments, report.blank) == (2, 1)
    assert reasons(report.rejected) == [
        (5, "'*' is only allowed as a leading '*.'"),
        (6, "no domain after '*.'"),
        (7, "'*' is only allowed as a leading '*.'"),
        (10, "looks like a URL, not a domain"),
    ]
    check_invariants(report, 10)
