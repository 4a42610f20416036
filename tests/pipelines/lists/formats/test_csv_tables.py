"""The CSV formats: `urlhaus-csv` and `csv`."""

from __future__ import annotations

import pytest

from pipelines.lists.formats import ListFormatError, parse_list_file
from tests.pipelines.lists.formats.report_checks import check_lines, parse_text, rows, write

URLHAUS_DUMP = [
    ("################################################################", "comment"),
    ("# abuse.ch URLhaus Database Dump (CSV - recent URLs)           #", "comment"),
    ("################################################################", "comment"),
    ("#", "comment"),
    ("# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter", "comment"),
    (
        '"1","2024-01-01 00:00:00","http://198.51.100.7:8080/bin.sh","online","2024-01-01 00:00:00",'
        '"malware_download","elf,mips","https://urlhaus.abuse.ch/url/1/","tester"',
        "url: http://198.51.100.7:8080/bin.sh",
    ),
    (
        '"2","2024-01-01 00:00:01","https://bad.test/a,b?c=1","offline","","malware_download","exe",'
        '"https://urlhaus.abuse.ch/url/2/","tester"',
        "url: https://bad.test/a,b?c=1",
    ),
    ('"3","short row"', "rejected: expected 9 fields, found 2"),
    (
        '"4","2024-01-01 00:00:02","","online","","malware_download","","https://urlhaus.abuse.ch/url/4/","x"',
        "rejected: empty url field",
    ),
    ('"5","2024-01-01 00:00:03","http://bad.test/open', "rejected: quoted CSV field left open"),
    ("", "blank"),
    (
        '"6","2024-01-01 00:00:04","bad.test/x","online","","malware_download","","https://urlhaus.abuse.ch/","x"',
        "url: bad.test/x",
    ),
]

SPLUNK_LOOKUP = [
    ("# Title: splunk lookup", "comment"),
    ('"host","path","message","updated"', "comment"),  # the header row
    ('"bad.test","/a/b","detected","2024-01-01"', "url: bad.test/a/b"),
    ('"example.org","","detected","2024-01-01"', "url: example.org"),
    ('"","/x","detected","2024-01-01"', "rejected: empty host field"),
    ('"extra.test","/","detected","2024","surplus"', "rejected: expected 4 fields, found 5"),
]


def test_urlhaus_csv_with_banner_header(tmp_path):
    check_lines(tmp_path, "csv.txt", "urlhaus-csv", URLHAUS_DUMP)


def test_urlhaus_csv_plain_header_finds_url_by_name(tmp_path):
    text = 'URL,id,threat\n"http://bad.test/1","1","malware_download"\n"bad.test/2","2","x"\n'
    report = parse_text(tmp_path, "urlhaus.csv", text, "urlhaus-csv")
    assert rows(report) == [(2, "url", "http://bad.test/1"), (3, "url", "bad.test/2")]
    assert report.comments == 1  # the header row
    with pytest.raises(ListFormatError, match=r"nourl\.csv: no CSV header naming a 'url' column"):
        parse_text(tmp_path, "nourl.csv", "id,host\n1,bad.test\n", "urlhaus-csv")


def test_csv_host_and_path_columns(tmp_path):
    check_lines(tmp_path, "lookup.csv", "csv", SPLUNK_LOOKUP)


def test_csv_column_choice_delimiters_and_kinds(tmp_path):
    semicolon = "Domain;added\nbad.test;2024\nbad.test/x;2024\nhttp://a.test;1\n"
    report = parse_text(tmp_path, "semi.csv", semicolon, "csv")
    assert rows(report) == [(2, "domain", "bad.test"), (3, "url", "bad.test/x"), (4, "url", "http://a.test")]
    tab = parse_text(tmp_path, "tab.tsv", "id\tlink\n1\thttps://bad.test/a,b\n", "csv")
    assert rows(tab) == [(2, "url", "https://bad.test/a,b")]
    both = write(tmp_path, "both.csv", "host,url,note\nexample.org,http://bad.test/p,n\n")
    assert rows(parse_list_file(both, "csv")) == [(2, "url", "http://bad.test/p")]
    assert rows(parse_list_file(both, "csv", column="HOST")) == [(2, "domain", "example.org")]
    with pytest.raises(ListFormatError, match=r"both\.csv: no CSV column 'target'; columns: host, url, note"):
        parse_list_file(both, "csv", column="target")
    with pytest.raises(ListFormatError, match=r"nothing\.csv: no CSV column among .*; columns: id, when"):
        parse_text(tmp_path, "nothing.csv", "id,when\n1,2024\n", "csv")
