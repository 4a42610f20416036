"""The `dnsmasq` format.

Synthetic fixtures use reserved names only (*.test, example.org/.com/.net) and documentation IPs.
"""

from __future__ import annotations

from pipelines.lists.formats import parse_list_file
from tests.pipelines.lists.formats.report_checks import check_invariants, reasons, rows, write


def test_dnsmasq(tmp_path):
    path = write(
        tmp_path,
        "dnsmasq.conf",
        "# comment\n"  # 1
        "address=/bad.test/0.0.0.0\n"  # 2
        "server=/a.test/b.example.org/\n"  # 3
        "local=/.c.test/\n"  # 4
        "address=/*.d.test/\n"  # 5
        "server=/good.test/#\n"  # 6: sends good.test to the normal servers: an exception
        "cache-size=1000\n"  # 7
        "no-resolv\n"  # 8
        "address=/bad.test\n"  # 9
        "address=//0.0.0.0\n"  # 10
        "server=198.51.100.53\n"  # 11
        "address=/#/0.0.0.0\n"  # 12
        "\n"  # 13
        "address=/e.test/::\n",  # 14
    )
    report = parse_list_file(path, "dnsmasq")
    assert rows(report) == [
        (2, "domain", "bad.test"),
        (3, "domain", "a.test"),
        (3, "domain", "b.example.org"),
        (4, "domain", "c.test"),
        (5, "domain", "d.test"),
        (6, "domain", "good.test", "exception"),
        (14, "domain", "e.test"),
    ]
    assert (report.comments, report.blank) == (1, 1)
    assert reasons(report.rejected) == [
        (9, "missing the closing '/' after the domains"),
        (10, "empty domain between '/'"),
    ]
    assert reasons(report.unsupported) == [
        (7, "dnsmasq directive cache-size does not name blocked domains"),
        (8, "dnsmasq directive no-resolv does not name blocked domains"),
        (11, "dnsmasq server= without /domain/ names no domain"),
        (12, "'#' stands for every domain"),
    ]
    check_invariants(report, 14)
