"""Real lists (../shared/realdata/blocklists, INVENTORY.md section 2) read in their formats."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipelines.lists.formats import parse_list_file
from tests.pipelines.lists.formats.report_checks import check_invariants, physical_lines

# path, format, lines, entries, comments, blank, rejected, unsupported. Lines, and (except where noted) entries,
# comments and blank lines are INVENTORY's; the differences come from classifying lines INVENTORY did not:
REAL_LISTS = [
    # INVENTORY's 6,542 entries include "127.0.0.1 localhost" and "::1 localhost": preamble, counted as comments
    ("adaway/hosts.txt", "hosts", 10607, 6540, 2044, 2023, 0, 0),
    ("anudeepND/CoinMiner.txt", "hosts", 5948, 5939, 9, 0, 0, 0),
    ("anudeepND/adservers.txt", "hosts", 42541, 42531, 10, 0, 0, 0),
    ("blocklistproject/malware.ip", "domains", 20922, 20907, 15, 0, 0, 0),  # 265 of them CIDR
    ("blocklistproject/phishing-nl.txt", "domains", 190228, 190215, 12, 1, 0, 0),
    ("blocklistproject/ransomware-ags.txt", "adblock", 1917, 1904, 12, 1, 0, 0),
    ("blocklistproject/ransomware-dnsmasq.txt", "dnsmasq", 1917, 1904, 12, 1, 0, 0),
    ("blocklistproject/ransomware-nl.txt", "domains", 1917, 1904, 12, 1, 0, 0),
    ("blocklistproject/ransomware.txt", "hosts", 1917, 1904, 12, 1, 0, 0),
    ("blocklistproject/scam.txt", "hosts", 8540, 8527, 12, 1, 0, 0),
    ("blocklistproject/smart-tv.txt", "hosts", 90, 77, 12, 1, 0, 0),
    # INVENTORY's 283 entries = 20 host/URL rules + 263 rules narrowed by options, unanchored, regex, ...
    ("easylist-via-adblock-rust/coin-miners.txt", "adblock", 333, 20, 33, 17, 0, 263),
    # INVENTORY's 2,450 entries include the free-text title line 1 ("... list by ..."): rejected here
    ("easylist-via-adblock-rust/disconnect-simple-malware.txt", "domains", 2453, 2449, 2, 1, 1, 0),
    # INVENTORY counts the 13,645 generic cosmetic "##..." lines as comments: 13,921 - 13,645 = 276; its 66,449
    # entries + 13,645 = 48,659 + 31,435
    ("easylist-via-adblock-rust/easylist.txt", "adblock", 80370, 48659, 276, 0, 0, 31435),
    # same for 2 generic "##" lines: 769 - 2 = 767 comments; 55,537 + 2 = 46,559 + 8,980
    ("easylist-via-adblock-rust/easyprivacy.txt", "adblock", 56306, 46559, 767, 0, 0, 8980),
    # INVENTORY counts the header row as an entry ("11125 CSV rows"): here it is a comment
    ("urlhaus-csv/urlhaus.csv", "urlhaus-csv", 11126, 11125, 1, 0, 0, 0),
    ("urlhaus-filter/urlhaus-filter-agh.txt", "adblock", 25774, 25768, 6, 0, 0, 0),
    ("urlhaus-filter/urlhaus-filter-dnsmasq.conf", "dnsmasq", 2695, 2689, 6, 0, 0, 0),
    ("urlhaus-filter/urlhaus-filter-domains.txt", "domains", 25774, 25768, 6, 0, 0, 0),
    ("urlhaus-filter/urlhaus-filter-hosts.txt", "hosts", 2695, 2689, 6, 0, 0, 0),
    ("urlhaus-filter/urlhaus-filter-online.txt", "adblock", 6369, 6363, 6, 0, 0, 0),
    ("urlhaus-filter/urlhaus-filter-splunk-online.csv", "csv", 6370, 6363, 7, 0, 0, 0),  # header row: comment
    ("urlhaus-filter/urlhaus-filter-wildcard.txt", "wildcard", 25774, 25768, 6, 0, 0, 0),
    ("urlhaus-filter/urlhaus-filter.txt", "adblock", 31828, 31822, 6, 0, 0, 0),
    ("ut1/ddos_domains", "domains", 421, 421, 0, 0, 0, 0),
    ("ut1/gambling_domains", "domains", 32131, 32131, 0, 0, 0, 0),
    ("ut1/gambling_urls", "urls", 5, 5, 0, 0, 0, 0),
    ("ut1/hacking_domains", "domains", 271, 271, 0, 0, 0, 0),
    ("ut1/hacking_urls", "urls", 33, 33, 0, 0, 0, 0),
    ("ut1/malware_domains", "domains", 218441, 218441, 0, 0, 0, 0),
    ("ut1/malware_expressions", "ut1", 1, 0, 0, 0, 0, 1),  # INVENTORY's 1 "entry" is a regex: unsupported
    ("ut1/malware_urls", "urls", 19733, 19733, 0, 0, 0, 0),
    ("ut1/phishing_domains", "domains", 218382, 218382, 0, 0, 0, 0),
    ("ut1/phishing_urls", "urls", 19550, 19550, 0, 0, 0, 0),
    ("ut1/shortener_domains", "domains", 4519, 4519, 0, 0, 0, 0),
]


@pytest.mark.parametrize(
    ("name", "list_format", "lines", "entries", "comments", "blank", "rejected", "unsupported"),
    REAL_LISTS,
    ids=[row[0] for row in REAL_LISTS],
)
def test_real_list(realdata, name, list_format, lines, entries, comments, blank, rejected, unsupported):
    path = realdata / "blocklists" / name
    report = parse_list_file(path, list_format)
    assert report.format == list_format and report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    counts = (report.lines, len(report.entries), report.comments, report.blank)
    assert counts + (len(report.rejected), len(report.unsupported)) == (
        lines,
        entries,
        comments,
        blank,
        rejected,
        unsupported,
    )
    check_invariants(report, physical_lines(path))
    assert report.entry_lines() == len(report.entries)  # no real hosts/dnsmasq line names two hosts
    auto = parse_list_file(path)
    assert auto.format == list_format, auto.decided_by
    assert auto.decided_by
    assert auto.entries == report.entries and auto.rejected == report.rejected
    assert auto.unsupported == report.unsupported


def _values(realdata: Path, name: str, **options) -> set[str]:
    report = parse_list_file(realdata / "blocklists" / name, **options)
    return {entry.value.lower() for entry in report.entries}


def test_real_ransomware_list_in_four_formats_gives_the_same_domains(realdata):
    names = ["ransomware-nl.txt", "ransomware-dnsmasq.txt", "ransomware-ags.txt", "ransomware.txt"]
    sets = [_values(realdata, f"blocklistproject/{name}") for name in names]
    assert len(sets[0]) == 1904
    assert all(values == sets[0] for values in sets)


def test_real_urlhaus_filter_forms_agree(realdata):
    domains = _values(realdata, "urlhaus-filter/urlhaus-filter-domains.txt")
    assert len(domains) == 25768
    assert _values(realdata, "urlhaus-filter/urlhaus-filter-wildcard.txt") == domains
    assert _values(realdata, "urlhaus-filter/urlhaus-filter-agh.txt") == domains
    hosts = _values(realdata, "urlhaus-filter/urlhaus-filter-hosts.txt")
    assert hosts == _values(realdata, "urlhaus-filter/urlhaus-filter-dnsmasq.conf")
    assert len(hosts) == 2689 and hosts <= domains  # the hosts form has the domains without the IPs
    # urlhaus-filter.txt: the bare domains/IPs plus has_path=6,051 URL rules and 3 "||host^$all" rules
    full = parse_list_file(realdata / "blocklists" / "urlhaus-filter" / "urlhaus-filter.txt")
    full_domains = {entry.value.lower() for entry in full.entries if entry.kind == "domain"}
    assert sum(entry.kind == "url" for entry in full.entries) == 6051
    assert domains <= full_domains and len(full_domains - domains) == 3
    # the online list as uBO rules and as a Splunk host,path table: the same rules ("host/" is "||host^")
    online = parse_list_file(realdata / "blocklists" / "urlhaus-filter" / "urlhaus-filter-online.txt")
    assert sum(entry.kind == "url" for entry in online.entries) == 3509  # INVENTORY has_path
    splunk = _values(realdata, "urlhaus-filter/urlhaus-filter-splunk-online.csv")
    as_rules = {value[:-1] if value.endswith("/") and value.count("/") == 1 else value for value in splunk}
    assert as_rules == {entry.value.lower() for entry in online.entries}


def test_real_adblock_details(realdata):
    folder = realdata / "blocklists" / "easylist-via-adblock-rust"
    easylist = parse_list_file(folder / "easylist.txt")
    cosmetic = [item for item in easylist.unsupported if item[2].startswith("cosmetic")]
    assert len(cosmetic) == 13645 + 10677  # generic "##" lines + INVENTORY's adblock_cosmetic
    for name, exceptions in (("easylist.txt", 757), ("easyprivacy.txt", 829), ("coin-miners.txt", 8)):
        report = parse_list_file(folder / name)
        narrowed = sum(text.startswith("@@") for _, text, _ in report.unsupported + report.rejected)
        assert sum(entry.exception for entry in report.entries) + narrowed == exceptions  # adblock_exception
        assert all(entry.value for entry in report.entries)
    easyprivacy = parse_list_file(folder / "easyprivacy.txt")
    ported = [e for e in easyprivacy.entries if e.kind == "url" and ":" in e.value.split("://")[-1].split("/")[0]]
    assert len(ported) == 1  # INVENTORY has_port=1, kept as host:port/path


def test_real_ip_list_and_ut1(realdata):
    ips = parse_list_file(realdata / "blocklists" / "blocklistproject" / "malware.ip")
    assert sum(entry.kind == "cidr" for entry in ips.entries) == 265  # INVENTORY cidr=265
    ut1 = realdata / "blocklists" / "ut1"
    for name, kind in (("hacking_domains", "domain"), ("hacking_urls", "url"), ("malware_urls", "url")):
        plain = parse_list_file(ut1 / name)
        as_ut1 = parse_list_file(ut1 / name, "ut1")
        assert {entry.kind for entry in plain.entries} == {kind}
        assert [(e.line_no, e.kind, e.value) for e in as_ut1.entries] == [
            (e.line_no, e.kind, e.value) for e in plain.entries
        ]
        assert {entry.file for entry in as_ut1.entries} == {name}
    malware = [entry.value for entry in parse_list_file(ut1 / "malware_domains").entries]
    phishing = {entry.value for entry in parse_list_file(ut1 / "phishing_domains").entries}
    assert sum(value in phishing for value in malware) == 216898  # INVENTORY: lines also in phishing_domains


def test_real_hosts_subdomains_flag(realdata):
    path = realdata / "blocklists" / "blocklistproject" / "smart-tv.txt"
    assert not any(entry.subdomains for entry in parse_list_file(path, "hosts").entries)
    assert all(entry.subdomains for entry in parse_list_file(path, "hosts", subdomains=True).entries)
