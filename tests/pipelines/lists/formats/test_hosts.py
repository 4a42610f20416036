"""The `hosts` format."""

from __future__ import annotations

from tests.pipelines.lists.formats.report_checks import check_lines, list_text, parse_text

HOSTS_LINES = [  # the preamble of a hosts file names the machine itself: read as comments
    ("# hosts header", "comment"),
    ("127.0.0.1 localhost", "comment"),
    ("::1 localhost ip6-localhost ip6-loopback", "comment"),
    ("0.0.0.0 0.0.0.0", "comment"),
    ("0.0.0.0 bad.test", "exact domain: bad.test"),
    (
        "127.0.0.1\tads.example.com  tracker.example.net # two hosts",
        "exact domain: ads.example.com, tracker.example.net",
    ),
    ("", "blank"),
    ("bad.test", "rejected: no IP before host"),
    ("bad.test other.test", "rejected: hosts line must start with an IP address"),
    ("192.0.2.1", "rejected: IP address without host"),
    ("::1 localhost evil.test", "exact domain: evil.test"),  # the preamble name is skipped, the other kept
    ("2001:db8::2 v6.test", "exact domain: v6.test"),
    ("255.255.255.255 broadcasthost", "comment"),
    ("0.0.0.0 x.test#no-space comment", "exact domain: x.test"),
]


def test_hosts(tmp_path):
    report = check_lines(tmp_path, "hosts", "hosts", HOSTS_LINES)
    assert report.entry_lines() == 5  # line 6 names two hosts


def test_hosts_subdomains_option_widens_every_entry(tmp_path):
    report = parse_text(tmp_path, "hosts", list_text(HOSTS_LINES), "hosts", subdomains=True)
    assert len(report.entries) == 6 and all(entry.subdomains for entry in report.entries)
