"""The `dnsmasq` format."""

from __future__ import annotations

from tests.pipelines.lists.formats.report_checks import check_lines

DNSMASQ_LINES = [
    ("# comment", "comment"),
    ("address=/bad.test/0.0.0.0", "domain: bad.test"),
    ("server=/a.test/b.example.org/", "domain: a.test, b.example.org"),
    ("local=/.c.test/", "domain: c.test"),
    ("address=/*.d.test/", "domain: d.test"),
    ("server=/good.test/#", "exception domain: good.test"),  # sends good.test to the normal servers
    ("cache-size=1000", "unsupported: dnsmasq directive cache-size does not name blocked domains"),
    ("no-resolv", "unsupported: dnsmasq directive no-resolv does not name blocked domains"),
    ("address=/bad.test", "rejected: missing the closing '/' after the domains"),
    ("address=//0.0.0.0", "rejected: empty domain between '/'"),
    ("server=198.51.100.53", "unsupported: dnsmasq server= without /domain/ names no domain"),
    ("address=/#/0.0.0.0", "unsupported: '#' stands for every domain"),
    ("", "blank"),
    ("address=/e.test/::", "domain: e.test"),
]


def test_dnsmasq(tmp_path):
    check_lines(tmp_path, "dnsmasq.conf", "dnsmasq", DNSMASQ_LINES)
