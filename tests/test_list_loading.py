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


def test_update_keeps_the_format_auto_decided(tmp_path):
    db = tmp_path / "l.duckdb"
    urls = [f"http://bad{i}.test/path/{i}" for i in range(30)]
    path = write(tmp_path, "l.txt", "\n".join(urls) + "\n")
    assert "format auto: urls" in run(db, "blocklist", "add", "u", str(path)).output
    assert "format urls" in run(db, "blocklist", "show", "u").output  # the decision is recorded
    # the next version starts with bare domains: sniffed again it would read as a domain list
    path.write_text("\n".join([f"new{i}.test" for i in range(150)] + urls) + "\n")
    updated = run(db, "blocklist", "update", "u")
    assert "(urls): 180 entries accepted" in updated.output and "loaded as version 2" in updated.output


def test_a_version_that_rejects_many_more_lines_is_refused(tmp_path):
    db = tmp_path / "l.duckdb"
    path = write(tmp_path, "l.txt", "".join(f"http://bad{i}.test/p\n" for i in range(40)))
    run(db, "blocklist", "add", "u", str(path), "--format", "urls")
    path.write_text("".join(f"bad{i}.test\n" for i in range(40)))
    # --format given again: read as domains from now on, nothing rejected
    assert "loaded as version 2" in run(db, "blocklist", "update", "u", "--format", "domains").output
    path.write_text("".join(f"http://bad{i}.test/p\n" for i in range(40)) + "extra.test\n")
    refused = run(db, "blocklist", "update", "u", expect=1)
    assert "40 lines rejected or unsupported where version 2 of u had 0" in refused.output
    assert "u keeps version 2" in refused.output and "--force" in refused.output
    latest = run(db, "sql", "SELECT max(version) FROM list_versions WHERE list_name = 'u'", "--format", "csv")
    assert latest.output.split()[-1] == "2"
    forced = run(db, "blocklist", "update", "u", "--force")
    assert "loaded as version 3" in forced.output


def test_versions_are_numbered_per_list_and_hashlists_update_and_show(tmp_path):
    db = tmp_path / "l.duckdb"
    first = write(tmp_path, "a.txt", "a.test\n")
    second = write(tmp_path, "b.txt", "b.test\n")
    assert "blocklist a: loaded as version 1" in run(db, "blocklist", "add", "a", str(first)).output
    assert "allowlist b: loaded as version 1" in run(db, "allowlist", "add", "b", str(second)).output
    first.write_text("a.test\naa.test\n")
    assert "blocklist a: loaded as version 2" in run(db, "blocklist", "update", "a").output
    hashes = write(tmp_path, "h.txt", "d41d8cd98f00b204e9800998ecf8427e\n")
    assert "hashlist h: loaded as version 1" in run(db, "hashlist", "add", "h", str(hashes), "--algo", "md5").output
    hashes.write_text("d41d8cd98f00b204e9800998ecf8427e\n0cc175b9c0f1b6a831c399e269772661\n")
    assert "hashlist h: loaded as version 2" in run(db, "hashlist", "update", "h").output
    assert "hashlist h: unchanged, still version 2" in run(db, "hashlist", "update", "h").output
    shown = run(db, "hashlist", "show", "h").output
    assert shown.startswith("hashlist h: category -, format hashes-md5")
    assert "h" not in run(db, "blocklist", "list").output.split()
    assert "is a hashlist" in run(db, "blocklist", "update", "h", expect=2).output
    status = run(db, "status").output
    assert "blocklist a: version 2" in status and "hashlist h: version 2" in status
