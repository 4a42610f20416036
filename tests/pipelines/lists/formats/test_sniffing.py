"""Auto-detection: the format `auto` picks, and the sentence saying why."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from pipelines.lists.formats import parse_list_file, sniff_format
from tests.pipelines.lists.formats.report_checks import rows, write

AUTO_SAMPLES = {
    "domains": ("list.txt", "# c\nbad.test\nexample.org\n192.0.2.1\n"),
    "urls": ("list.txt", "# c\nbad.test/a\nhttp://example.org/b\nexample.net/c?d\n"),
    "hosts": ("hosts", "# c\n127.0.0.1 localhost\n0.0.0.0 bad.test\n0.0.0.0 example.org\n"),
    "adblock": ("list.txt", "! Title: x\n||bad.test^\n||example.org^$third-party\n"),
    "dnsmasq": ("list.conf", "# c\naddress=/bad.test/0.0.0.0\nserver=/example.org/\n"),
    "wildcard": ("list.txt", "# c\n*.bad.test\n*.example.org\n"),
    "urlhaus-csv": ("u.csv", '# c\n# id,dateadded,url,url_status\n"1","2024","http://bad.test/","online"\n'),
    "csv": ("c.csv", "domain,added\nbad.test,2024\n"),
    "sha256": ("h.txt", f"{hashlib.sha256(b'a').hexdigest()}\n{hashlib.sha256(b'b').hexdigest()}\n"),
    "sha1": ("h.txt", f"{hashlib.sha1(b'a').hexdigest()}\n"),
    "md5": ("h.txt", f"{hashlib.md5(b'a').hexdigest()}\n"),
    "ut1": ("phishing_expressions", "^a.*b$\n"),
}


@pytest.mark.parametrize("expected", sorted(AUTO_SAMPLES))
def test_auto_detects_every_format(tmp_path, expected):
    name, text = AUTO_SAMPLES[expected]
    path = write(tmp_path, name, text)
    decided, reason = sniff_format(path)
    assert decided == expected
    assert reason and reason[0].islower() and len(reason) > 20
    report = parse_list_file(path)
    assert (report.format, report.decided_by) == (expected, reason)
    assert report.entries or report.unsupported
    gzipped = parse_list_file(write(tmp_path, name + ".gz", gzip.compress(text.encode())))
    assert gzipped.format == expected and gzipped.entries == report.entries


def test_auto_detection_corner_cases(tmp_path):
    # a uBlock Origin list that starts with bare hosts: the '!' header and later '||' rules decide
    ubo = write(
        tmp_path, "ubo.txt", "! Title: x\n" + "".join(f"h{i}.test\n" for i in range(300)) + "||bad.test/x^$all\n"
    )
    assert sniff_format(ubo)[0] == "adblock"
    assert rows(parse_list_file(ubo))[-1] == (302, "url", "bad.test/x")
    # a plain domain list with '!' comments and no adblock rule stays a domain list
    assert sniff_format(write(tmp_path, "bang.txt", "! Title: x\nbad.test\nexample.org\n"))[0] == "domains"
    assert sniff_format(write(tmp_path, "abp.txt", "[Adblock Plus 2.0]\nexample.org\n"))[0] == "adblock"
    # CIDR ranges in an IP list do not make it a URL list
    assert sniff_format(write(tmp_path, "ips.txt", "192.0.2.0/24\n198.51.100.0/24\n203.0.113.5\n"))[0] == "domains"
    assert sniff_format(tmp_path) == ("ut1", "it is a folder, read as a UT1 category folder")


def test_hosts_reason_sentence(tmp_path):
    _, reason = sniff_format(write(tmp_path, "hosts", "0.0.0.0 bad.test\n0.0.0.0 example.org\n"))
    assert reason == "most entry lines look like '0.0.0.0 host' (hosts file): 2 of the first 2"
