"""Loading lists into the store: public suffixes refused, the format kept across versions, versions numbered per
list, bounded memory for large lists. Every name is under `.test` or a public suffix of the bundled PSL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb
import pytest

from pipelines.lists.entries import normalize_list
from pipelines.lists.formats import parse_list_file
from tests.cli_runner import run

T = TypeVar("T")


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


def test_networks_wider_than_a_slash_8_are_rejected(tmp_path):
    path = write(tmp_path, "l.txt", "0.0.0.0/0\n128.0.0.0/1\n10.0.0.0/8\n203.0.113.0/24\n")
    parsed = normalize_list(parse_list_file(path, "domains"))
    assert [expression.expression for expression in parsed.expressions] == ["10.0.0.0/8", "203.0.113.0/24"]
    assert [reason.split(" (")[0] for _, _, reason in parsed.rejected] == ["a network wider than /8"] * 2
    assert "--allow-wide-networks" in parsed.rejected[0][2]
    db = tmp_path / "l.duckdb"
    assert "4 entries accepted" in run(db, "blocklist", "add", "n", str(path), "--allow-wide-networks").output
    path.write_text("0.0.0.0/0\n198.51.100.0/24\n")
    assert "2 entries accepted" in run(db, "blocklist", "update", "n").output


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
    assert "is a hashlist" in run(db, "allowlist", "remove", "h", expect=2).output
    assert "is a blocklist" in run(db, "hashlist", "show", "a", expect=2).output
    assert "is a blocklist" in run(db, "hashlist", "add", "a", str(hashes), "--algo", "md5", expect=2).output
    assert "is a hashlist" in run(db, "blocklist", "add", "h", str(first), expect=2).output
    status = run(db, "status").output
    assert "blocklist a: version 2" in status and "hashlist h: version 2" in status
    assert "hashlist h: removed (2 versions" in run(db, "hashlist", "remove", "h").output


def test_the_public_suffix_check_agrees_with_the_registrable_domain_walk():
    from pipelines.urls import bundled_suffix_list, is_icann_public_suffix, registrable_domains

    names = ["com", "co.uk", "bad.co.uk", "github.io", "x.github.io", "www.ck", "other.ck", "a.b.ck", "bad.test"]
    for rule in bundled_suffix_list()._nodes:
        names += [rule, f"x.{rule}"]
    for name in names:
        walk = "." not in name or registrable_domains(name).icann is None
        assert is_icann_public_suffix(name) == walk, name


def load(db: Path, path: Path, *, name: str = "l", list_format: str = "auto"):
    from pipelines.lists.versions import ListSettings, load_list_version
    from pipelines.store import open_store

    con = open_store(db)
    try:
        return load_list_version(con, name, path, ListSettings(list_format=list_format))
    finally:
        con.close()


def transient_peak(work: Callable[[], T]) -> tuple[T, int]:
    """What `work()` returns, and Python's peak memory while it ran above what stays allocated after it (bounded
    caches such as canonical_host's)."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = work()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak - current


def transient_python_memory_of_a_load(tmp_path: Path, lines: int) -> int:
    """Python's transient peak while loading a list of `lines` domains."""
    path = tmp_path / f"l{lines}.txt"
    path.write_text("".join(f"h{i}.d{i % 97}.test\n" for i in range(lines)))
    (_, summary), peak = transient_peak(lambda: load(tmp_path / f"l{lines}.duckdb", path, list_format="domains"))
    assert summary.entries == lines
    return peak


def test_batches_and_reads_of_any_size_give_the_same_report(tmp_path, monkeypatch):
    import gzip
    import hashlib

    from pipelines.lists.formats import reader as list_reader

    samples = [  # (file, format, bytes): read a line and 3 bytes at a time, every line straddles a boundary
        ("title.txt", "domains", b"My list of bad sites here\nbad.test\n\n# c\nbad.test/x\nworse.test\n"),
        ("hosts.txt", "hosts", b"127.0.0.1 localhost\n0.0.0.0 a.test b.test\r\n0.0.0.0\n0.0.0.0 c.test # x\n"),
        ("abp.txt", "adblock", b"[Adblock Plus]\n! c\n||a.test^\n||b.test^$third-party\nx.test##.ad\n@@||ok.test^\n"),
        ("urlhaus.csv", "urlhaus-csv", b"# c\n# id,dateadded,url,url_status\n1,d,http://a.test/x,online\n2,d\n"),
        ("generic.csv", "csv", b'# c\n\nname,url\nx,http://a.test/\ny,"http://b.test/\nz,c.test\n'),
        ("hashes.txt", "sha1", b"# c\n" + b"a" * 40 + b"\nnot-hex\n" + b"b" * 40 + b"\n"),
        ("undecodable.txt", "domains", b"a.test\nb\xff.test\n\xef\xbb\xbfc.test\nlast.test"),
    ]
    for name, _, data in samples:
        (tmp_path / name).write_bytes(data)
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(data))
    (tmp_path / "utf16.txt").write_bytes("a.test\r\nb.test\n".encode("utf-16"))
    ut1 = tmp_path / "ut1"
    ut1.mkdir()
    (ut1 / "domains").write_text("a.test\nb.test\nbad/x\n")
    (ut1 / "domains.1").write_text("b.test\nc.test\n")
    (ut1 / "urls").write_text("a.test/x\n")
    paths = [(tmp_path / name, list_format) for name, list_format, _ in samples]
    paths += [(tmp_path / f"{name}.gz", list_format) for name, list_format, _ in samples]
    paths += [(tmp_path / "utf16.txt", "domains"), (ut1, "ut1")]

    def reports():
        return [parse_list_file(path, list_format) for path, list_format in paths]

    whole = reports()
    monkeypatch.setattr(list_reader, "BATCH_LINES", 1)
    monkeypatch.setattr(list_reader, "READ_BYTES", 3)
    assert reports() == whole
    sha256s = [hashlib.sha256(data).hexdigest() for _, _, data in samples]
    assert [report.sha256 for report in whole[: len(samples)]] == sha256s


def test_a_load_that_fails_midway_leaves_no_entries_and_keeps_the_version(tmp_path, monkeypatch):
    from pipelines.lists.formats import reader as list_reader

    monkeypatch.setattr(list_reader, "BATCH_LINES", 10)
    db = tmp_path / "l.duckdb"
    path = write(tmp_path, "l.txt", "".join(f"h{i}.test\n" for i in range(5)))
    run(db, "blocklist", "add", "l", str(path))
    path.write_bytes(b"".join(f"n{i}.test\n".encode() for i in range(100)) + b"\x00binary\n")
    failed = run(db, "blocklist", "update", "l", expect=2)
    assert "binary data" in failed.output
    counts = run(db, "sql", "SELECT count(*), count(DISTINCT version_id) FROM list_entries", "--format", "csv")
    assert counts.output.split()[-1] == "5,1"
    # entries a killed load left behind (no version names them) are dropped by the next load
    path.write_text("".join(f"h{i}.test\n" for i in range(6)))
    assert "loaded as version 2" in run(db, "blocklist", "update", "l").output


def test_duplicates_are_dropped_across_batches_keeping_the_first(tmp_path, monkeypatch):
    from pipelines.lists.formats import reader as list_reader

    monkeypatch.setattr(list_reader, "BATCH_LINES", 2)
    db = tmp_path / "l.duckdb"
    path = write(tmp_path, "l.txt", "http://a.test/x\nb.test/y/\nhttp://A.test/x\nb.test/y/\nc.test/z?q\nc.test/z?q\n")
    _, summary = load(db, path, list_format="urls")
    assert (summary.entries, summary.duplicates, summary.by_kind) == (3, 3, {"url": 3})
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT line_no, expression FROM list_entries ORDER BY 1, 2").fetchall()
    assert rows == [(1, "a.test/x"), (1, "a.test/x/"), (2, "b.test/y/"), (5, "c.test/z?q")]


def transient_python_memory_of_a_hashlist_add(tmp_path: Path, lines: int) -> int:
    """Python's transient peak while `hashlist add` loads a list of `lines` sha256 hashes (with a label each)."""
    import hashlib

    path = tmp_path / f"h{lines}.txt"
    path.write_text("".join(f"{hashlib.sha256(str(i).encode()).hexdigest()} file-{i}\n" for i in range(lines)))
    db = tmp_path / f"h{lines}.duckdb"
    result, peak = transient_peak(lambda: run(db, "hashlist", "add", "h", str(path), "--algo", "sha256"))
    assert f"{lines:,} entries accepted" in result.output, result.output
    assert "hashlist h: loaded as version 1" in result.output, result.output
    return peak


@pytest.mark.parametrize(
    "transient_memory_of_a_load",
    [transient_python_memory_of_a_load, transient_python_memory_of_a_hashlist_add],
    ids=["domain-list", "hash-list"],
)
def test_loading_a_list_holds_one_batch_of_it_in_memory(tmp_path, monkeypatch, transient_memory_of_a_load):
    from pipelines.lists.formats import reader as list_reader

    monkeypatch.setattr(list_reader, "BATCH_LINES", 5_000)
    small = transient_memory_of_a_load(tmp_path, 20_000)
    large = transient_memory_of_a_load(tmp_path, 80_000)
    # the peak follows the batch, not the list: four times the lines, not four times the memory (reading the
    # whole list first made it grow with the list, about 600 bytes an entry for domains, 800 for hashes)
    assert large < small * 1.5, (small, large)
