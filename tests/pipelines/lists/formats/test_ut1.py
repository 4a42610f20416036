"""The `ut1` format: a UT1 category folder, or one of its files."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from pipelines.lists.formats import ListFormatError, parse_list_file
from tests.pipelines.lists.formats.report_checks import check_invariants, parse_text, reasons, rows, write


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
    domains = parse_text(tmp_path, "malware_domains", "bad.test\n", "ut1")
    assert rows(domains) == [(1, "domain", "bad.test", "malware_domains")]
    urls = parse_text(tmp_path, "malware_urls.3", "bad.test/x\n", "ut1")
    assert rows(urls) == [(1, "url", "bad.test/x", "malware_urls.3")]
    report = parse_text(tmp_path, "malware_expressions", "^a.*b$\n")
    assert (report.format, report.entries, len(report.unsupported)) == ("ut1", [], 1)
    with pytest.raises(ListFormatError, match=r"blocked\.txt: not a UT1 file name"):
        parse_text(tmp_path, "blocked.txt", "bad.test\n", "ut1")
    empty = tmp_path / "empty-category"
    empty.mkdir()
    with pytest.raises(ListFormatError, match="no UT1 domains, urls or expressions file"):
        parse_list_file(empty)
