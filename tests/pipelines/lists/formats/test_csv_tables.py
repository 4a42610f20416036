"""The CSV formats: `urlhaus-csv` and `csv`.

Synthetic fixtures use reserved names only (*.test, example.org/.com/.net) and documentation IPs.
"""

from __future__ import annotations

import pytest

from pipelines.lists.formats import ListFormatError, parse_list_file
from tests.pipelines.lists.formats.report_checks import check_invariants, reasons, rows, write

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
