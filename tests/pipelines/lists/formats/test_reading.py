"""Reading list files whatever their format: gzip, line endings, BOM, undecodable bytes, whole-file errors, every
line accounted for once."""

from __future__ import annotations

import gzip
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.lists.formats import FORMATS, ListFormatError, RawEntry, parse_list_file
from tests.pipelines.lists.formats.report_checks import check_invariants, physical_lines, reasons, rows, write


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
