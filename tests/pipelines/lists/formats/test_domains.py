"""The `domains` format."""

from __future__ import annotations

from tests.pipelines.lists.formats.report_checks import check_invariants, check_lines, parse_text, reasons, rows

DOMAIN_LINES = [
    ("# a comment", "comment"),
    ("", "blank"),
    ("bad.test", "domain: bad.test"),
    ("  Mixed.Example.ORG.  ", "domain: Mixed.Example.ORG."),  # kept as written, only stripped
    ("192.0.2.1 # inline comment", "domain: 192.0.2.1"),
    ("! bang comment", "comment"),
    ("2001:db8::1", "domain: 2001:db8::1"),
    ("198.51.100.0/24", "cidr: 198.51.100.0/24"),
    ("bad.test/dir", "rejected: looks like a URL, use --format urls"),
    ("two.test three.test", "rejected: several tokens"),
    ("0.0.0.0 bad.test", "rejected: several tokens: looks like a hosts-file line, use --format hosts"),
    ("bad.test#frag", "rejected: '#' inside the entry"),
    ("||ad.test^", "rejected: looks like an adblock rule, use --format adblock"),
    (" \t", "blank"),
    ("*.wild.test", "rejected: looks like a wildcard entry, use --format wildcard"),
    ("address=/d.test/0.0.0.0", "rejected: looks like a dnsmasq directive, use --format dnsmasq"),
    ("bücher.example", "domain: bücher.example"),  # Unicode is the canonical layer's business
]


def test_domains(tmp_path):
    report = check_lines(tmp_path, "domains.txt", "domains", DOMAIN_LINES)
    assert report.unsupported == [] and report.format == "domains" and report.decided_by is None


def test_domains_free_text_title_line_is_rejected_not_fatal(tmp_path):
    report = parse_text(tmp_path, "titled.txt", "Malware list by Example\n# License: none\n\nbad.test\nexample.net\n")
    assert report.format == "domains"
    assert rows(report) == [(4, "domain", "bad.test"), (5, "domain", "example.net")]
    assert reasons(report.rejected) == [(1, "several tokens: a title line (4 words), not a domain")]
    check_invariants(report, 5)
