"""The `domains` format.

Synthetic fixtures use reserved names only (*.test, example.org/.com/.net) and documentation IPs.
"""

from __future__ import annotations

from pipelines.lists.formats import parse_list_file
from tests.pipelines.lists.formats.report_checks import check_invariants, reasons, rows, write


def test_domains(tmp_path):
    path = write(
        tmp_path,
        "domains.txt",
        "# a comment\n"  # 1
        "\n"  # 2
        "bad.test\n"  # 3
        "  Mixed.Example.ORG.  \n"  # 4: kept as written, only stripped
        "192.0.2.1 # inline comment\n"  # 5
        "! bang comment\n"  # 6
        "2001:db8::1\n"  # 7
        "198.51.100.0/24\n"  # 8
        "bad.test/dir\n"  # 9
        "two.test three.test\n"  # 10
        "0.0.0.0 bad.test\n"  # 11
        "bad.test#frag\n"  # 12
        "||ad.test^\n"  # 13
        " \t\n"  # 14
        "*.wild.test\n"  # 15
        "address=/d.test/0.0.0.0\n"  # 16
        "bücher.example\n",  # 17: Unicode is the canonical layer's business
    )
    report = parse_list_file(path, "domains")
    assert rows(report) == [
        (3, "domain", "bad.test"),
        (4, "domain", "Mixed.Example.ORG."),
        (5, "domain", "192.0.2.1"),
        (7, "domain", "2001:db8::1"),
        (8, "cidr", "198.51.100.0/24"),
        (17, "domain", "bücher.example"),
    ]
    assert (report.comments, report.blank) == (2, 2)
    assert reasons(report.rejected) == [
        (9, "looks like a URL, use --format urls"),
        (10, "several tokens"),
        (11, "several tokens: looks like a hosts-file line, use --format hosts"),
        (12, "'#' inside the entry"),
        (13, "looks like an adblock rule, use --format adblock"),
        (15, "looks like a wildcard entry, use --format wildcard"),
        (16, "looks like a dnsmasq directive, use --format dnsmasq"),
    ]
    assert report.unsupported == [] and report.format == "domains" and report.decided_by is None
    check_invariants(report, 17)


def test_domains_free_text_title_line_is_rejected_not_fatal(tmp_path):
    path = write(tmp_path, "titled.txt", "Malware list by Example\n# License: none\n\nbad.test\nexample.net\n")
    report = parse_list_file(path)
    assert report.format == "domains"
    assert rows(report) == [(4, "domain", "bad.test"), (5, "domain", "example.net")]
    assert reasons(report.rejected) == [(1, "several tokens: a title line (4 words), not a domain")]
    check_invariants(report, 5)
