"""Loading lists into the store: public suffixes refused, the format kept across versions, versions numbered per
list, bounded memory for large lists. Every name is under `.test` or a public suffix of the bundled PSL."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main
from pipelines.list_entries import normalize_list
from pipelines.list_formats import parse_list_file


def run(db: Path, *args: str, expect: int = 0):
    result = CliRunner().invoke(main, ["--db", str(db), *args])
    assert result.exit_code == expect, result.output
    return result


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


PUBLIC_SUFFIX_LISTS = [
    ("domains", "com\nco.uk\nbad.test\n"),
    ("wildcard", "*.com\n*.co.uk\n*.bad.test\n"),
    ("adblock", "||com^\n||co.uk^\n||bad.test^\n"),
    ("dnsmasq", "address=/com/0.0.0.0\naddress=/co.uk/0.0.0.0\naddress=/bad.test/0.0.0.0\n"),
    ("hosts", "0.0.0.0 com\n0.0.0.0 co.uk\n0.0.0.0 bad.test\n"),
    ("urls", "http://com/\nhttps://co.uk/\nhttp://bad.test/\n"),
    ("csv", "domain\ncom\nco.uk\nbad.test\n"),
]


@pytest.mark.parametrize(("list_format", "text"), PUBLIC_SUFFIX_LISTS, ids=[row[0] for row in PUBLIC_SUFFIX_LISTS])
def test_public_suffixes_are_rejected_in_every_format(tmp_path, list_format, text):
    path = write(tmp_path, "l.txt", text)
    parsed = normalize_list(parse_list_file(path, list_format))
    assert [expression.expression for expression in parsed.expressions] == ["bad.test/"]
    assert [reason for _, _, reason in parsed.rejected] == [
        "a public suffix (com): it would flag every site under it; --allow-public-suffix loads it",
        "a public suffix (co.uk): it would flag every site under it; --allow-public-suffix loads it",
    ]
    allowed = normalize_list(parse_list_file(path, list_format), allow_public_suffix=True)
    assert sorted(expression.expression for expression in allowed.expressions) == ["bad.test/", "co.uk/", "com/"]


def test_url_entries_with_a_path_and_private_section_suffixes_stay(tmp_path):
    # a private-section suffix is a company's shared hosting domain: lists block such services on purpose
    path = write(tmp_path, "l.txt", "http://co.uk/bad/path\nhttp://github.io/\nblogspot.com\n")
    parsed = normalize_list(parse_list_file(path, "urls"))
    assert [expression.expression for expression in parsed.expressions] == [
        "co.uk/bad/path",
        "co.uk/bad/path/",
        "github.io/",
        "blogspot.com/",
    ]
    assert parsed.rejected == []


def test_allow_public_suffix_on_the_command_line_is_kept_for_updates(tmp_path):
    db = tmp_path / "l.duckdb"
    path = write(tmp_path, "l.txt", "com\nbad.test\n")
    refused = run(db, "blocklist", "add", "l", str(path))
    assert "1 rejected" in refused.output and "public suffix (com)" in refused.output
    assert "2 entries accepted" in run(db, "blocklist", "add", "l", str(path), "--allow-public-suffix").output
    path.write_text("com\nbad.test\nworse.test\n")
    assert "3 entries accepted" in run(db, "blocklist", "update", "l").output
