"""Domain lists and static matching: entries cover subdomains, never neighbours; IPs in any notation."""

from __future__ import annotations

import pytest

from crawler.corpus.synthetic import response_record, write_warc
from crawler.ingest import ingest
from pipelines.domain_list import EmptyList, normalize_host_entry, parse_domain_list
from pipelines.lists import add_list_version
from pipelines.matching import UnknownSnapshot, match_snapshot
from pipelines.store import open_store


def test_domain_list_lines_are_all_accounted_for(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text(
        "# header\n\nBad.TEST.\nbad.test  # again\n  sub.other.test \n\u00fcber.test\nhttp://x.test/\n192.0.513\n"
    )
    report = parse_domain_list(path)
    assert [(e.entry, e.entry_kind, e.line_no) for e in report.entries] == [
        ("bad.test", "domain", 3),
        ("sub.other.test", "domain", 5),
        ("xn--ber-goa.test", "domain", 6),
        ("192.0.2.1", "ip", 8),
    ]
    assert (report.duplicates, report.comments, report.blank) == (1, 1, 1)
    assert [(line_no, reason) for line_no, _, reason in report.rejected] == [
        (7, "not a bare domain or IP (looks like a URL or has a port)")
    ]


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("0x7f.1", ("127.0.0.1", "ip")),
        ("2130706433", ("127.0.0.1", "ip")),
        ("2001:DB8::1", ("[2001:db8::1]", "ip")),
        ("xn--BCHER-kva.test", ("xn--bcher-kva.test", "domain")),
    ],
)
def test_entries_are_normalized_like_browser_hosts(written, normalized):
    assert normalize_host_entry(written) == normalized


def test_list_with_no_usable_entry_is_refused(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("# only comments\n")
    con = open_store(tmp_path / "db.duckdb")
    with pytest.raises(EmptyList, match="no usable entry"):
        add_list_version(con, "empty", parse_domain_list(path))


def test_same_content_is_not_a_new_version(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("bad.test\n")
    con = open_store(tmp_path / "db.duckdb")
    first = add_list_version(con, "l", parse_domain_list(path))
    assert add_list_version(con, "l", parse_domain_list(path)).unchanged
    path.write_text("bad.test\nworse.test\n")
    second = add_list_version(con, "l", parse_domain_list(path))
    assert second.version_id > first.version_id and not second.unchanged


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
]
EXPECTED_LISTED = {
    "http://bad.test/",
    "https://www.bad.test/x?y",
    "http://deep.er.bad.test./p",
    "http://good.example.org@bad.test/",
    "http://198.51.100.23/",
}


@pytest.fixture
def matched_store(tmp_path):
    links = "".join(f"<a href='{url}'>x</a>" for url in LINKED_URLS)
    corpus = tmp_path / "c.warc.gz"
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
    listing = tmp_path / "list.txt"
    listing.write_text("bad.test\n198.51.100.23\n")
    con = open_store(db_path)
    add_list_version(con, "sample", parse_domain_list(listing), category="test-harm")
    summary = match_snapshot(con, "S")
    return con, summary


def test_entries_match_subdomains_and_never_neighbours(matched_store):
    con, _ = matched_store
    listed_links = {
        row[0] for row in con.execute("SELECT DISTINCT raw_url FROM links JOIN url_matches USING (url)").fetchall()
    }
    listed = {
        row[0] for row in con.execute("SELECT DISTINCT links.url FROM links JOIN url_matches USING (url)").fetchall()
    }
    assert listed == EXPECTED_LISTED
    assert "http://notbad.test/" not in listed_links


def test_match_records_the_evidence(matched_store):
    con, summary = matched_store
    row = con.execute(
        "SELECT list_name, version_id, category, matched_rule, expression, detected_via FROM url_matches"
        " WHERE url = 'http://deep.er.bad.test./p'"
    ).fetchone()
    assert row == ("sample", 1, "test-harm", "bad.test", "bad.test", "static")
    assert (summary.documents_flagged, summary.links_flagged) == (1, 5)


def test_rematch_after_list_update_drops_old_matches(matched_store, tmp_path):
    con, _ = matched_store
    listing = tmp_path / "list2.txt"
    listing.write_text("198.51.100.23\n")
    add_list_version(con, "sample", parse_domain_list(listing))
    summary = match_snapshot(con, "S")
    assert (summary.urls_matched, summary.documents_flagged, summary.links_flagged) == (1, 0, 1)


def test_unknown_snapshot_is_a_clear_error(matched_store):
    con, _ = matched_store
    with pytest.raises(UnknownSnapshot, match="no snapshot 'nope' \\(known: S\\)"):
        match_snapshot(con, "nope")
