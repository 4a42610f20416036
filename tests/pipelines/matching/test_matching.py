"""Lists and static matching: one expression model for domain, IP, URL, CIDR and hashed entries; allowlists
override; matching is incremental and gives what a from-scratch match gives."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from crawler.corpus.synthetic import response_record, write_warc
from crawler.ingest import ingest
from pipelines.lists import (
    EmptyList,
    ListSettings,
    add_list_version,
    host_entry,
    normalize_list,
    parse_list_file,
    remove_list,
)
from pipelines.matching.driver import match_snapshot
from pipelines.store import UnknownSnapshot, open_store


@pytest.fixture(autouse=True)
def _each_kernel(match_kernel):
    """Every test here runs with the SQL kernel and with the compiled one."""


def load(con, name: str, path: Path, list_format: str = "auto", **settings) -> int:
    subdomains = settings.pop("subdomains", False)
    parsed = normalize_list(parse_list_file(path, list_format, subdomains=subdomains))
    list_settings = ListSettings(list_format=list_format, subdomains=subdomains, **settings)
    return add_list_version(con, name, parsed, list_settings).version_id


def test_domain_list_lines_are_all_accounted_for(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text(
        "# header\n\nBad.TEST.\nbad.test  # again\n  sub.other.test \n\u00fcber.test\nbad_host!.test\n192.0.513\n"
    )
    parsed = normalize_list(parse_list_file(path, "domains"))
    assert [(e.entry_kind, e.expression, e.line_no) for e in parsed.expressions] == [
        ("domain", "bad.test/", 3),
        ("domain", "sub.other.test/", 5),
        ("domain", "xn--ber-goa.test/", 6),
        ("ip", "192.0.2.1/", 8),
    ]
    assert (parsed.entries, parsed.duplicates, parsed.comments, parsed.blank) == (4, 1, 1, 1)
    assert [(line_no, reason) for line_no, _, reason in parsed.rejected] == [(7, "not a valid host name")]


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("0xC6.51.100.1", ("198.51.100.1", "ip")),
        ("3325256705", ("198.51.100.1", "ip")),
        ("2001:DB8::1", ("[2001:db8::1]", "ip")),
        ("xn--BCHER-kva.test", ("xn--bcher-kva.test", "domain")),
        ("%62ad.test", ("bad.test", "domain")),
    ],
)
def test_entries_are_normalized_like_browser_hosts(written, normalized):
    assert host_entry(written) == normalized


def test_list_with_no_usable_entry_is_refused(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("# only comments\n")
    con = open_store(tmp_path / "db.duckdb")
    with pytest.raises(EmptyList, match="no usable entry"):
        load(con, "empty", path, "domains")


def test_same_content_is_not_a_new_version(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("bad.test\n")
    con = open_store(tmp_path / "db.duckdb")
    first = load(con, "l", path)
    assert load(con, "l", path) == first
    path.write_text("bad.test\nworse.test\n")
    assert load(con, "l", path) > first


LINKED_URLS = [
    "http://bad.test/",  # listed host
    "https://WWW.Bad.Test:443/x?y#z",  # subdomain, case, default port
    "http://deep.er.bad.test./p",  # deeper subdomain, trailing dot
    "http://notbad.test/",  # neighbour: a different label
    "http://bad.test.example.org/",  # neighbour: the name inside another domain
    "http://bad.test@good.example.org/",  # userinfo does not make the host
    "http://good.example.org@bad.test/",  # ... but the host after it counts
    "http://0xC6.51.100.23/",  # listed IP written in hex
    "http://198.51.100.24/",  # neighbouring IP
    "http://files.example.org/dl/payload.bin?id=7",  # under a listed URL prefix
    "http://files.example.org/dlx/other",  # not under it (segment boundary)
    "http://203.0.113.77/bins/x",  # inside a listed CIDR range
    "http://203.0.114.1/",  # outside it
    "https://hashed.example.net/secret/page.html",  # its expression hashed in a hash list
    "https://hashed.example.net/public/",  # same host, other path
    "https://cdn.ok.test/img.png",  # allowlisted subdomain of a blocked domain
]


@pytest.fixture
def store(tmp_path):
    links = "".join(f"<a href='{url}'>x</a>" for url in LINKED_URLS)
    corpus = tmp_path / "corpus" / "c.warc.gz"
    corpus.parent.mkdir()
    write_warc(
        corpus,
        [
            response_record("https://page.example.org/", links.encode()),
            response_record("https://sub.bad.test/landing", b"<p>listed page</p>"),
        ],
        gzipped=True,
    )
    db_path = tmp_path / "db.duckdb"
    ingest(db_path, "S", [corpus], workers=1, show_progress=False)
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "domains.txt").write_text("bad.test\n198.51.100.23\nok.test\n")
    (lists / "urls.txt").write_text("files.example.org/dl\n")
    (lists / "ips.txt").write_text("203.0.113.0/24\n")
    digest = hashlib.sha256(b"hashed.example.net/secret/").hexdigest()
    (lists / "hashes.sha256").write_text(f"{digest[:8]}\n")  # a 32-bit hash prefix, as Safe Browsing ships
    (lists / "allow.txt").write_text("cdn.ok.test\n")
    con = open_store(db_path)
    load(con, "doms", lists / "domains.txt", "domains", category="test-harm")
    load(con, "urls", lists / "urls.txt", "urls")
    load(con, "ips", lists / "ips.txt", "domains")
    load(con, "hashes", lists / "hashes.sha256", "sha256")
    load(con, "allow", lists / "allow.txt", "domains", list_type="allow")
    yield con, db_path, lists, corpus
    con.close()


def flagged(con) -> set[str]:
    """Links whose URL has a block match not overridden by an allow match."""
    return {
        row[0]
        for row in con.execute(
            """
            SELECT DISTINCT links.raw_url FROM links JOIN url_matches AS m USING (url)
            WHERE m.effect = 'block' AND links.url NOT IN (SELECT url FROM url_matches WHERE effect = 'allow')
            """
        ).fetchall()
    }


def test_every_kind_of_entry_matches_and_never_a_neighbour(store):
    con, *_ = store
    summary = match_snapshot(con, "S")
    assert flagged(con) == {
        "http://bad.test/",
        "https://WWW.Bad.Test:443/x?y#z",
        "http://deep.er.bad.test./p",
        "http://good.example.org@bad.test/",
        "http://0xC6.51.100.23/",
        "http://files.example.org/dl/payload.bin?id=7",
        "http://203.0.113.77/bins/x",
        "https://hashed.example.net/secret/page.html",
    }
    assert summary.urls_allowed == 1  # cdn.ok.test: blocked by ok.test, allowed by the allowlist
    assert (summary.documents_flagged, summary.links_flagged) == (1, 8)


def test_matches_record_list_version_entry_and_expression(store):
    con, *_ = store
    match_snapshot(con, "S")
    rows = con.execute(
        """
        SELECT list_name, category, matched_rule, expression, rule_expression, entry_kind, effect, line_no
        FROM url_matches WHERE url IN ('http://deep.er.bad.test./p', 'http://files.example.org/dl/payload.bin?id=7',
            'http://203.0.113.77/bins/x', 'https://hashed.example.net/secret/page.html', 'https://cdn.ok.test/img.png')
        ORDER BY list_name, url
        """
    ).fetchall()
    prefix = hashlib.sha256(b"hashed.example.net/secret/").hexdigest()[:8]
    assert rows == [
        ("allow", None, "cdn.ok.test", "cdn.ok.test/", "cdn.ok.test/", "domain", "allow", 1),
        ("doms", "test-harm", "bad.test", "bad.test/", "bad.test/", "domain", "block", 1),
        ("doms", "test-harm", "ok.test", "ok.test/", "ok.test/", "domain", "block", 3),
        ("hashes", None, prefix, "hashed.example.net/secret/", prefix, "hash", "block", 1),
        ("ips", None, "203.0.113.0/24", "203.0.113.77", "203.0.113.0/24", "cidr", "block", 1),
        ("urls", None, "files.example.org/dl", "files.example.org/dl/", "files.example.org/dl/", "url", "block", 1),
    ]


def test_hosts_files_block_exact_hosts_unless_widened(store):
    con, _, lists, _ = store
    for name in ("doms", "urls", "ips", "hashes", "allow"):
        remove_list(con, name)
    (lists / "hosts").write_text("127.0.0.1 localhost\n0.0.0.0 bad.test\n")
    load(con, "hosts", lists / "hosts", "hosts")
    match_snapshot(con, "S")
    assert flagged(con) == {"http://bad.test/", "http://good.example.org@bad.test/"}
    load(con, "hosts", lists / "hosts", "hosts", subdomains=True)  # same bytes, wider reading: same version
    (lists / "hosts").write_text("0.0.0.0 bad.test\n")
    load(con, "hosts", lists / "hosts", "hosts", subdomains=True)
    match_snapshot(con, "S")
    assert "http://deep.er.bad.test./p" in flagged(con)


def test_adblock_exceptions_override(store):
    con, _, lists, _ = store
    (lists / "abp.txt").write_text("[Adblock Plus 2.0]\n||bad.test^\n@@||www.bad.test^\n##.ad-banner\n")
    load(con, "abp", lists / "abp.txt")
    match_snapshot(con, "S")
    effects = dict(
        con.execute(
            "SELECT effect, count(*) FROM url_matches WHERE list_name = 'abp' GROUP BY effect ORDER BY effect"
        ).fetchall()
    )
    assert effects == {"allow": 1, "block": 5}
    assert "https://WWW.Bad.Test:443/x?y#z" not in flagged(con)


def match_rows(con) -> set[tuple]:
    return set(
        con.execute(
            "SELECT url, version_id, list_name, matched_rule, expression, rule_expression, effect, line_no"
            " FROM url_matches"
        ).fetchall()
    )


def test_incremental_matching_equals_a_fresh_match(store, tmp_path):
    con, db_path, lists, corpus = store
    first = match_snapshot(con, "S")
    assert first.sources_matched == 1
    again = match_snapshot(con, "S")
    assert (again.sources_matched, again.urls_checked, again.lists_updated) == (0, 0, ())
    # a new version: one entry dropped, one added, the rest relabelled
    (lists / "domains.txt").write_text("198.51.100.23\nok.test\nnotbad.test\n")
    load(con, "doms", lists / "domains.txt", "domains", category="test-harm")
    updated = match_snapshot(con, "S")
    assert updated.lists_updated == ("doms",) and updated.sources_matched == 0
    assert "http://notbad.test/" in flagged(con) and "http://bad.test/" not in flagged(con)
    # a second snapshot with the same file and one new file: only the new file's URLs are matched
    other = tmp_path / "other.warc.gz"
    write_warc(
        other, [response_record("https://x.example.org/", b"<a href='http://a.notbad.test/'>x</a>")], gzipped=True
    )
    ingest(db_path, "T", [corpus, other], workers=1, show_progress=False)
    second = match_snapshot(con, "T")
    assert second.sources_matched == 2 and "http://a.notbad.test/" in flagged(con)
    incremental = match_rows(con)
    con.close()

    # the same lists loaded once, matched from scratch
    fresh_db = tmp_path / "fresh.duckdb"
    ingest(fresh_db, "S", [corpus], workers=1, show_progress=False)
    ingest(fresh_db, "T", [corpus, other], workers=1, show_progress=False)
    fresh = open_store(fresh_db)
    load(fresh, "urls", lists / "urls.txt", "urls")
    load(fresh, "ips", lists / "ips.txt", "domains")
    load(fresh, "hashes", lists / "hashes.sha256", "sha256")
    load(fresh, "allow", lists / "allow.txt", "domains", list_type="allow")
    # version ids differ between the stores: compare with the list's latest version standing for it
    fresh.execute("SELECT nextval('list_version_id_seq')")
    load(fresh, "doms", lists / "domains.txt", "domains", category="test-harm")
    match_snapshot(fresh, "S")
    match_snapshot(fresh, "T")
    normalize = {}
    for db in (incremental, match_rows(fresh)):
        normalize[id(db)] = {(row[0], row[2], *row[3:]) for row in db}
    fresh.close()
    assert list(normalize.values())[0] == list(normalize.values())[1]


def test_reingested_file_is_matched_again(store):
    con, db_path, lists, corpus = store
    match_snapshot(con, "S")
    con.close()
    ingest(db_path, "S", [corpus], workers=1, force=True, show_progress=False)
    con = open_store(db_path)
    assert match_snapshot(con, "S").sources_matched == 1
    con.close()


def test_removing_a_list_removes_its_matches(store):
    con, *_ = store
    match_snapshot(con, "S")
    assert remove_list(con, "doms") == 1
    assert con.execute("SELECT count(*) FROM url_matches WHERE list_name = 'doms'").fetchone() == (0,)
    assert "http://bad.test/" not in flagged(con)


def test_unknown_snapshot_is_a_clear_error(store):
    con, *_ = store
    with pytest.raises(UnknownSnapshot, match="no snapshot 'nope' \\(known: S\\)"):
        match_snapshot(con, "nope")


def test_a_url_first_seen_in_an_unmatched_snapshot_is_still_matched(tmp_path):
    """Snapshot T is matched before S, although S's file recorded T's listed URL first."""
    first, second = tmp_path / "s.warc.gz", tmp_path / "t.warc.gz"
    link = b"<a href='http://bad.test/shared'>x</a>"
    write_warc(first, [response_record("https://s.example.org/", link)], gzipped=True)
    write_warc(
        second, [response_record("https://t.example.org/", link + b"<a href='http://ok.test/'>y</a>")], gzipped=True
    )
    db_path = tmp_path / "db.duckdb"
    ingest(db_path, "S", [first], workers=1, show_progress=False)
    ingest(db_path, "T", [second], workers=1, show_progress=False)
    listing = tmp_path / "l.txt"
    listing.write_text("bad.test\n")
    con = open_store(db_path)
    load(con, "l", listing, "domains")
    assert con.execute("SELECT first_source FROM urls WHERE url = 'http://bad.test/shared'").fetchone() == (1,)
    summary = match_snapshot(con, "T")
    assert summary.links_flagged == 1
    assert match_snapshot(con, "S").links_flagged == 1
    assert con.execute("SELECT count(*) FROM url_matches WHERE url = 'http://bad.test/shared'").fetchone() == (1,)
    con.close()
