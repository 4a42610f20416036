"""The syntax layer of blocklist formats: every line is an entry, a comment, blank, rejected or unsupported.

Synthetic fixtures use reserved names only (*.test, example.org/.com/.net) and documentation IPs.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.lists.formats import (
    FORMATS,
    FormatReport,
    ListFormatError,
    RawEntry,
    parse_list_file,
    sniff_format,
)

MULTI_ENTRY_FORMATS = {"hosts", "dnsmasq"}  # one line may name several hosts


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def rows(report: FormatReport) -> list[tuple]:
    """Entries as (line, kind, value), with exception / subdomains / file only when not the default."""
    out = []
    for entry in report.entries:
        row: tuple = (entry.line_no, entry.kind, entry.value)
        if entry.exception:
            row += ("exception",)
        if not entry.subdomains:
            row += ("exact",)
        if entry.file is not None:
            row += (entry.file,)
        out.append(row)
    return out


def reasons(items: list[tuple[int, str, str]]) -> list[tuple[int, str]]:
    return [(line_no, reason) for line_no, _, reason in items]


def physical_lines(path: Path) -> int:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def check_invariants(report: FormatReport, lines: int | None = None) -> None:
    """Every line accounted for once; line numbers in range and never in two categories."""
    if lines is not None:
        assert report.lines == lines
    assert report.accounted_lines() == report.lines
    files = {entry.file for entry in report.entries}
    if len(files) > 1:  # a UT1 folder: line numbers are per file, checked per file by the caller
        return
    entry_lines = [entry.line_no for entry in report.entries]
    rejected = [line_no for line_no, _, _ in report.rejected]
    unsupported = [line_no for line_no, _, _ in report.unsupported]
    if report.format not in MULTI_ENTRY_FORMATS:
        assert len(entry_lines) == len(set(entry_lines))
    assert len(rejected) == len(set(rejected)) and len(unsupported) == len(set(unsupported))
    assert not (set(entry_lines) & set(rejected)) and not (set(entry_lines) & set(unsupported))
    assert not (set(rejected) & set(unsupported))
    assert all(1 <= line_no <= report.lines for line_no in [*entry_lines, *rejected, *unsupported])


# ---------------------------------------------------------------------------------------------------------------
# data model and reading


def test_formats_and_data_model():
    assert FORMATS == (
        "domains",
        "urls",
        "hosts",
        "ut1",
        "adblock",
        "dnsmasq",
        "wildcard",
        "urlhaus-csv",
        "csv",
        "sha256",
        "sha1",
        "md5",
        "auto",
    )
    entry = RawEntry(3, "domain", "bad.test")
    assert (entry.exception, entry.subdomains, entry.file) == (False, True, None)
    with pytest.raises(AttributeError):
        entry.value = "other.test"  # frozen
    assert not hasattr(entry, "__dict__")  # slots
    assert issubclass(ListFormatError, ValueError)


def test_gzip_crlf_and_bom_give_the_same_entries(tmp_path):
    text = "# list\nbad.test\n\n192.0.2.1\nexample.org\n"
    plain = write(tmp_path, "plain.txt", text)
    variants = [
        write(tmp_path, "list.gz", gzip.compress(text.encode())),
        write(tmp_path, "crlf.txt", text.replace("\n", "\r\n")),
        write(tmp_path, "bom.txt", b"\xef\xbb\xbf" + text.encode()),
        write(tmp_path, "all.txt.gz", gzip.compress(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())),
        write(tmp_path, "noeol.txt", text.rstrip("\n")),
    ]
    expected = parse_list_file(plain, "domains")
    assert rows(expected) == [(2, "domain", "bad.test"), (4, "domain", "192.0.2.1"), (5, "domain", "example.org")]
    assert (expected.comments, expected.blank, expected.lines) == (1, 1, 5)
    for path in variants:
        report = parse_list_file(path, "domains")
        assert rows(report) == rows(expected), path.name
        assert (report.comments, report.blank, report.lines) == (1, 1, 5), path.name
        assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()  # of the file bytes as stored
        assert parse_list_file(path).format == "domains"


def test_undecodable_lines_are_rejected_and_the_rest_is_read(tmp_path):
    path = write(tmp_path, "latin1.txt", b"bad.test\ncaf\xe9.test\nexample.org\n")
    report = parse_list_file(path, "domains")
    assert rows(report) == [(1, "domain", "bad.test"), (3, "domain", "example.org")]
    assert reasons(report.rejected) == [(2, "undecodable bytes (not UTF-8)")]
    check_invariants(report, 3)


def test_whole_file_problems_raise_list_format_error(tmp_path):
    binary = write(tmp_path, "blob.bin", b"\x00\x01\x02PK\x03\x04")
    with pytest.raises(ListFormatError, match=r"blob\.bin: binary data"):
        parse_list_file(binary, "domains")
    with pytest.raises(ListFormatError, match=r"missing\.txt: cannot read"):
        parse_list_file(tmp_path / "missing.txt", "domains")
    with pytest.raises(ListFormatError, match="unknown list format 'json'"):
        parse_list_file(write(tmp_path, "x.txt", "bad.test\n"), "json")
    broken_gzip = write(tmp_path, "broken.gz", gzip.compress(b"bad.test\n" * 100)[:30])
    with pytest.raises(ListFormatError, match="corrupt gzip"):
        parse_list_file(broken_gzip, "domains")
    with pytest.raises(ListFormatError, match="UT1"):
        parse_list_file(tmp_path, "domains")  # a folder is only a UT1 category


def test_an_empty_file_has_no_lines(tmp_path):
    report = parse_list_file(write(tmp_path, "empty.txt", ""))
    assert (report.format, report.lines, report.entries, report.accounted_lines()) == ("domains", 0, [], 0)


# ---------------------------------------------------------------------------------------------------------------
# one test per format


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


def test_adblock(tmp_path):
    lines = [
        "[Adblock Plus 2.0]",  # 1 comment
        "! Title: test list",  # 2 comment
        "||ads.example.com^",  # 3
        "||track.test^$third-party",  # 4 unsupported
        "@@||good.example.org^$document",  # 5 exception
        "||bad.test/path/x.js^",  # 6
        "||bad.test:8080^",  # 7 port: a URL
        "|https://bad.test/dl^",  # 8
        "example.net",  # 9 bare host (uBO)
        "203.0.113.7",  # 10 bare IP
        "example.com##.ad-banner",  # 11 cosmetic
        "##.generic-ad",  # 12 cosmetic
        "example.org#@#.ad",  # 13 cosmetic exception
        "/banner/ads.",  # 14 not anchored
        "-ad-300x250.",  # 15 not anchored
        "/ads[0-9]+\\.js/",  # 16 regex
        "||bad.test/*/ads^",  # 17 wildcard
        "||",  # 18 broken
        "||^",  # 19 broken
        "||bad.test^$important,all",  # 20
        "||bad.test^$domain=example.org",  # 21
        "||bad.test^$badfilter",  # 22
        "# a hash comment",  # 23 comment
        "",  # 24 blank
        "||bad.test^$",  # 25 broken
        "example.com#$#abort-on-property-read ads",  # 26 cosmetic (scriptlet)
        'example.com$$script[tag-content="ad"]',  # 27 cosmetic (HTML filter)
        "||bad.test?q=1",  # 28
        "|ws://bad.test^",  # 29
        "@@||allowed.test/path^",  # 30 exception URL
        "||BAD.test^$DOC",  # 31 as written; option names are case-insensitive
        "||bad.test^$~third-party",  # 32
        "_chartbeat.js",  # 33 not a host
        "||[2001:db8::5]^",  # 34
        "||bad.test^$redirect=noopjs",  # 35
        "||bad.test^|",  # 36
        "|http://bad.test/x|",  # 37
        "||*.bad.test^",  # 38
        "||.bad.test^",  # 39
    ]
    report = parse_list_file(write(tmp_path, "filters.txt", "\n".join(lines) + "\n"), "adblock")
    assert rows(report) == [
        (3, "domain", "ads.example.com"),
        (5, "domain", "good.example.org", "exception"),
        (6, "url", "bad.test/path/x.js"),
        (7, "url", "bad.test:8080/"),
        (8, "url", "https://bad.test/dl"),
        (9, "domain", "example.net"),
        (10, "domain", "203.0.113.7"),
        (20, "domain", "bad.test"),
        (28, "url", "bad.test/?q=1"),
        (30, "url", "allowed.test/path", "exception"),
        (31, "domain", "BAD.test"),
        (34, "domain", "[2001:db8::5]"),
        (36, "domain", "bad.test"),
        (37, "url", "http://bad.test/x"),
    ]
    assert (report.comments, report.blank) == (3, 1)
    assert reasons(report.rejected) == [
        (18, "no host after '||'"),
        (19, "no host after '||'"),
        (25, "empty option list after '$'"),
        (39, "host starts with '.'"),
    ]
    assert reasons(report.unsupported) == [
        (4, "option $third-party narrows the rule"),
        (11, "cosmetic rule"),
        (12, "cosmetic rule"),
        (13, "cosmetic rule"),
        (14, "not anchored to a host (matches anywhere in a URL)"),
        (15, "not anchored to a host (matches anywhere in a URL)"),
        (16, "regular expression rule"),
        (17, "wildcard '*' inside the rule"),
        (21, "option $domain=example.org narrows the rule"),
        (22, "option $badfilter cancels another rule"),
        (26, "cosmetic rule"),
        (27, "cosmetic rule (HTML filter)"),
        (29, "start-anchored rule that is not an http(s) URL"),
        (32, "option $~third-party narrows the rule"),
        (33, "not anchored to a host (matches anywhere in a URL)"),
        (35, "option $redirect=noopjs rewrites the request instead of blocking it"),
        (38, "wildcard '*' inside the rule"),
    ]
    check_invariants(report, 39)


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


URLHAUS_DUMP = (
    "################################################################\n"  # 1
    "# abuse.ch URLhaus Database Dump (CSV - recent URLs)           #\n"  # 2
    "################################################################\n"  # 3
    "#\n"  # 4
    "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"  # 5
    '"1","2024-01-01 00:00:00","http://198.51.100.7:8080/bin.sh","online","2024-01-01 00:00:00",'
    '"malware_download","elf,mips","https://urlhaus.abuse.ch/url/1/","tester"\n'  # 6
    '"2","2024-01-01 00:00:01","https://bad.test/a,b?c=1","offline","","malware_download","exe",'
    '"https://urlhaus.abuse.ch/url/2/","tester"\n'  # 7
    '"3","short row"\n'  # 8
    '"4","2024-01-01 00:00:02","","online","","malware_download","","https://urlhaus.abuse.ch/url/4/","x"\n'  # 9
    '"5","2024-01-01 00:00:03","http://bad.test/open\n'  # 10: quote left open
    "\n"  # 11
    '"6","2024-01-01 00:00:04","bad.test/x","online","","malware_download","","https://urlhaus.abuse.ch/","x"\n'  # 12
)


def test_urlhaus_csv_with_banner_header(tmp_path):
    report = parse_list_file(write(tmp_path, "csv.txt", URLHAUS_DUMP), "urlhaus-csv")
    assert rows(report) == [
        (6, "url", "http://198.51.100.7:8080/bin.sh"),
        (7, "url", "https://bad.test/a,b?c=1"),
        (12, "url", "bad.test/x"),
    ]
    assert (report.comments, report.blank) == (5, 1)
    assert reasons(report.rejected) == [
        (8, "expected 9 fields, found 2"),
        (9, "empty url field"),
        (10, "quoted CSV field left open"),
    ]
    check_invariants(report, 12)


def test_urlhaus_csv_plain_header_finds_url_by_name(tmp_path):
    text = 'URL,id,threat\n"http://bad.test/1","1","malware_download"\n"bad.test/2","2","x"\n'
    report = parse_list_file(write(tmp_path, "urlhaus.csv", text), "urlhaus-csv")
    assert rows(report) == [(2, "url", "http://bad.test/1"), (3, "url", "bad.test/2")]
    assert report.comments == 1  # the header row
    with pytest.raises(ListFormatError, match=r"nourl\.csv: no CSV header naming a 'url' column"):
        parse_list_file(write(tmp_path, "nourl.csv", "id,host\n1,bad.test\n"), "urlhaus-csv")


def test_csv_host_and_path_columns(tmp_path):
    text = (
        "# Title: splunk lookup\n"
        '"host","path","message","updated"\n'
        '"bad.test","/a/b","detected","2024-01-01"\n'
        '"example.org","","detected","2024-01-01"\n'
        '"","/x","detected","2024-01-01"\n'
        '"extra.test","/","detected","2024","surplus"\n'
    )
    report = parse_list_file(write(tmp_path, "lookup.csv", text), "csv")
    assert rows(report) == [(3, "url", "bad.test/a/b"), (4, "url", "example.org")]
    assert report.comments == 2  # the # line and the header row
    assert reasons(report.rejected) == [(5, "empty host field"), (6, "expected 4 fields, found 5")]
    check_invariants(report, 6)


def test_csv_column_choice_delimiters_and_kinds(tmp_path):
    semicolon = write(tmp_path, "semi.csv", "Domain;added\nbad.test;2024\nbad.test/x;2024\nhttp://a.test;1\n")
    report = parse_list_file(semicolon, "csv")
    assert rows(report) == [(2, "domain", "bad.test"), (3, "url", "bad.test/x"), (4, "url", "http://a.test")]
    tab = write(tmp_path, "tab.tsv", "id\tlink\n1\thttps://bad.test/a,b\n")
    assert rows(parse_list_file(tab, "csv")) == [(2, "url", "https://bad.test/a,b")]
    both = write(tmp_path, "both.csv", "host,url,note\nexample.org,http://bad.test/p,n\n")
    assert rows(parse_list_file(both, "csv")) == [(2, "url", "http://bad.test/p")]
    assert rows(parse_list_file(both, "csv", column="HOST")) == [(2, "domain", "example.org")]
    with pytest.raises(ListFormatError, match=r"both\.csv: no CSV column 'target'; columns: host, url, note"):
        parse_list_file(both, "csv", column="target")
    nothing = write(tmp_path, "nothing.csv", "id,when\n1,2024\n")
    with pytest.raises(ListFormatError, match=r"nothing\.csv: no CSV column among .*; columns: id, when"):
        parse_list_file(nothing, "csv")


@pytest.mark.parametrize(("algorithm", "length"), [("sha256", 64), ("sha1", 40), ("md5", 32)])
def test_hashes(tmp_path, algorithm, length):
    full = hashlib.new(algorithm, b"http://bad.test/").hexdigest()
    assert len(full) == length
    path = write(
        tmp_path,
        f"list.{algorithm}",
        f"# {algorithm} list\n"  # 1
        f"{full.upper()}\n"  # 2: stored lowercase
        f"{full[:8]}  a prefix\n"  # 3: anything after whitespace is ignored
        f"{full}0\n"  # 4: too long (odd as well, but length is reported first)
        f"{full[:9]}\n"  # 5: odd
        f"{full[:6]}\n"  # 6: too short
        "\n"  # 7
        f"{'g' * length}\n",  # 8: not hex
    )
    report = parse_list_file(path, algorithm)
    assert report.hash_algorithm == algorithm
    assert rows(report) == [(2, "hash", full), (3, "hash", full[:8])]
    assert (report.comments, report.blank) == (1, 1)
    assert reasons(report.rejected) == [
        (4, f"longer than a {algorithm} digest ({length} hex digits)"),
        (5, "odd number of hex digits"),
        (6, "hash prefix shorter than 8 hex digits"),
        (8, "not hexadecimal"),
    ]
    check_invariants(report, 8)


def test_ut1_category_folder(tmp_path):
    folder = tmp_path / "malware"
    folder.mkdir()
    write(folder, "domains.gz", gzip.compress(b"bad.test\n192.0.2.1\n"))
    write(folder, "domains.2", "two.test\nnot a domain\n")
    write(folder, "domains.10", "ten.test\n")
    write(folder, "urls", "bad.test/dir/x\n\nexample.org/p\n")
    write(folder, "expressions", "^[0-9]+/search\\?q=[0-9]+$\n")
    write(folder, "usage", "black\nmalware sites\n")
    write(folder, "README.html", "<p>not a list</p>\n")  # not a UT1 list file: ignored
    report = parse_list_file(folder)
    assert (report.format, report.decided_by) == ("ut1", "it is a folder, read as a UT1 category folder")
    assert rows(report) == [
        (1, "domain", "bad.test", "domains.gz"),
        (2, "domain", "192.0.2.1", "domains.gz"),
        (1, "domain", "two.test", "domains.2"),
        (1, "domain", "ten.test", "domains.10"),
        (1, "url", "bad.test/dir/x", "urls"),
        (3, "url", "example.org/p", "urls"),
    ]
    assert reasons(report.rejected) == [(2, "domains.2: several tokens: free text (3 words), not a domain")]
    assert reasons(report.unsupported) == [(1, "expressions: UT1 regular expression: not supported, skipped")]
    assert (report.comments, report.blank, report.lines) == (2, 1, 11)  # the usage file's lines are comments
    check_invariants(report)
    expected = hashlib.sha256()
    for name in sorted(["domains.gz", "domains.2", "domains.10", "urls", "expressions", "usage"]):
        data, encoded = (folder / name).read_bytes(), name.encode()
        expected.update(len(encoded).to_bytes(8, "big") + encoded + len(data).to_bytes(8, "big") + data)
    assert report.sha256 == expected.hexdigest()
    assert parse_list_file(folder, "ut1").entries == report.entries


def test_ut1_single_files_by_name(tmp_path):
    domains = write(tmp_path, "malware_domains", "bad.test\n")
    assert rows(parse_list_file(domains, "ut1")) == [(1, "domain", "bad.test", "malware_domains")]
    urls = write(tmp_path, "malware_urls.3", "bad.test/x\n")
    assert rows(parse_list_file(urls, "ut1")) == [(1, "url", "bad.test/x", "malware_urls.3")]
    expressions = write(tmp_path, "malware_expressions", "^a.*b$\n")
    report = parse_list_file(expressions)
    assert (report.format, report.entries, len(report.unsupported)) == ("ut1", [], 1)
    with pytest.raises(ListFormatError, match=r"blocked\.txt: not a UT1 file name"):
        parse_list_file(write(tmp_path, "blocked.txt", "bad.test\n"), "ut1")
    empty = tmp_path / "empty-category"
    empty.mkdir()
    with pytest.raises(ListFormatError, match="no UT1 domains, urls or expressions file"):
        parse_list_file(empty)


# ---------------------------------------------------------------------------------------------------------------
# auto-detection

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


# ---------------------------------------------------------------------------------------------------------------
# properties

_FRAGMENTS = st.sampled_from(
    [
        "bad.test",
        "0.0.0.0",
        "192.0.2.1",
        "2001:db8::1",
        "||",
        "^",
        "$",
        "third-party",
        "@@",
        "##",
        "#",
        "!",
        "*.",
        "/",
        "address=",
        "server=",
        ",",
        '"',
        " ",
        "\t",
        "a1b2c3d4",
        "url",
        "example.org",
        "=",
        "|",
        ":8080",
        "\ufffd",
        "\r",
    ]
)
_LINES = st.lists(st.lists(_FRAGMENTS, max_size=6).map("".join), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_LINES, list_format=st.sampled_from([name for name in FORMATS if name != "ut1"]))
def test_every_line_is_accounted_for_once(tmp_path, lines, list_format):
    path = tmp_path / "random_list.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    try:
        report = parse_list_file(path, list_format)
    except ListFormatError as error:
        assert list_format in ("csv", "urlhaus-csv", "auto") and str(path) in str(error)
        return
    check_invariants(report, physical_lines(path))


def test_a_large_domain_list_parses_completely(tmp_path):
    """220k lines (4 MB): every line becomes an entry (speed is measured in bench/match.py, not here)."""
    path = tmp_path / "big.txt"
    path.write_text("".join(f"host-{i:06d}.subdomain.example-{i % 97}.test\n" for i in range(220_000)))
    assert path.stat().st_size > 4_000_000
    report = parse_list_file(path)
    assert len(report.entries) == 220_000 and report.format == "domains"
    assert report.entries[-1].line_no == 220_000


# ---------------------------------------------------------------------------------------------------------------
# real lists (../shared/realdata/blocklists, INVENTORY.md section 2)

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
