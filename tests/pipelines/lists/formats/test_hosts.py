"""The `hosts` format.

Synthetic fixtures use reserved names only (*.test, example.org/.com/.net) and documentation IPs.
"""

from __future__ import annotations

from pipelines.lists.formats import parse_list_file
from tests.pipelines.lists.formats.report_checks import check_invariants, reasons, rows, write

HOSTS_TEXT = (
    "# hosts header\n"  # 1
    "127.0.0.1 localhost\n"  # 2: preamble
    "::1 localhost ip6-localhost ip6-loopback\n"  # 3: preamble
    "0.0.0.0 0.0.0.0\n"  # 4: preamble
    "0.0.0.0 bad.test\n"  # 5
    "127.0.0.1\tads.example.com  tracker.example.net # two hosts\n"  # 6
    "\n"  # 7
    "bad.test\n"  # 8
    "bad.test other.test\n"  # 9
    "192.0.2.1\n"  # 10
    "::1 localhost evil.test\n"  # 11: the preamble name is skipped, the other kept
    "2001:db8::2 v6.test\n"  # 12
    "255.255.255.255 broadcasthost\n"  # 13: preamble
    "0.0.0.0 x.test#no-space comment\n"  # 14
)


def test_hosts(tmp_path):
    report = parse_list_file(write(tmp_path, "hosts", HOSTS_TEXT), "hosts")
    assert rows(report) == [
        (5, "domain", "bad.test", "exact"),
        (6, "domain", "ads.example.com", "exact"),
        (6, "domain", "tracker.example.net", "exact"),
        (11, "domain", "evil.test", "exact"),
        (12, "domain", "v6.test", "exact"),
        (14, "domain", "x.test", "exact"),
    ]
    assert (report.comments, report.blank) == (5, 1)
    assert reasons(report.rejected) == [
        (8, "no IP before host"),
        (9, "hosts line must start with an IP address"),
        (10, "IP address without host"),
    ]
    assert report.entry_lines() == 5  # line 6 names two hosts
    check_invariants(report, 14)


def test_hosts_subdomains_option_widens_every_entry(tmp_path):
    report = parse_list_file(write(tmp_path, "hosts", HOSTS_TEXT), "hosts", subdomains=True)
    assert len(report.entries) == 6 and all(entry.subdomains for entry in report.entries)
