"""Which links a crawl queues: unflagged http(s) URLs of the snapshot, not resolved within the TTL (unless a
hash service left them unchecked), optionally only on hosts a watchlist names."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow.parquet as pq
import pytest

from pipelines.crawl.queue import UnknownWatchList, write_crawl_queue
from pipelines.lists import ListSettings, add_list_version, normalize_list, parse_list_file
from pipelines.matching import match_snapshot
from pipelines.store import open_store
from tests.snapshot_helpers import ingest_page


@pytest.fixture
def store(tmp_path):
    links = ["http://bad.test/x", "http://sho.rt.test/abc", "http://www.sho.rt.test/def", "http://fine.test/",
             "ftp://files.test/a", "http://old.test/resolved", "http://unchecked.test/img"]  # fmt: skip
    page = "".join(f"<a href='{link}'>x</a>" for link in links).encode()
    db = ingest_page(tmp_path, page)
    con = open_store(db)
    for name, text, list_type in (("block", "bad.test\n", "block"), ("shorteners", "rt.test\n", "watch")):
        path = tmp_path / f"{name}.txt"
        path.write_text(text)
        add_list_version(con, name, normalize_list(parse_list_file(path, "domains")), ListSettings(list_type=list_type))
    match_snapshot(con, "S")
    now = datetime.now()
    for url, days in (("http://old.test/resolved", 2), ("http://unchecked.test/img", 2)):
        con.execute(
            "INSERT INTO crawl_results (url, crawl_id, outcome, hops, fetched_at) VALUES (?, 'c0', 'resolved', [], ?)",
            [url, now - timedelta(days=days)],
        )
    con.execute(
        "INSERT INTO hash_checks VALUES ('http://unchecked.test/img', 's', 'md5', 'ab', 'unchecked', NULL, NULL,"
        " NULL, 'HTTP 503', current_timestamp)"
    )
    yield con, tmp_path
    con.close()


def queued(con, tmp_path, **options) -> list[str]:
    out = tmp_path / "queue.parquet"
    count = write_crawl_queue(con, "S", out, **options)
    urls = pq.read_table(out).column("url").to_pylist()
    assert count == len(urls)
    return urls


def test_flagged_recent_and_unfetchable_links_are_not_queued(store):
    con, tmp_path = store
    urls = queued(con, tmp_path)
    assert "http://bad.test/x" not in urls  # flagged by a list
    assert "http://old.test/resolved" not in urls  # resolved two days ago
    assert "http://unchecked.test/img" in urls  # its content was left unchecked: asked again
    assert "ftp://files.test/a" not in urls
    assert {"http://fine.test/", "http://sho.rt.test/abc", "https://page.example.org/"} <= set(urls)
    assert "http://old.test/resolved" in queued(con, tmp_path, recheck_after_days=1)


def test_only_hosts_in_a_watchlist_and_limit(store):
    con, tmp_path = store
    assert queued(con, tmp_path, only_hosts_in="shorteners") == ["http://sho.rt.test/abc", "http://www.sho.rt.test/def"]
    assert len(queued(con, tmp_path, limit=2)) == 2
    with pytest.raises(UnknownWatchList, match="no list named 'nope'"):
        queued(con, tmp_path, only_hosts_in="nope")


def test_a_watchlist_flags_nothing(store):
    con, _ = store
    assert con.execute("SELECT count(*) FROM url_matches WHERE list_name = 'shorteners'").fetchone() == (0,)


def test_domains_take_turns_in_the_queue_and_limit_keeps_the_first_urls(tmp_path):
    """In URL order a window of the queue held a few hosts' links, which then waited for their host's places
    (--per-host) while counting against --concurrency: the domains take turns instead."""
    links = [f"http://{host}.test/{page}" for host in ("a", "b", "c") for page in range({"a": 3, "b": 1, "c": 2}[host])]
    db = ingest_page(tmp_path, "".join(f"<a href='{link}'>x</a>" for link in links).encode())
    con = open_store(db)
    try:
        urls = [url for url in queued(con, tmp_path) if ".test/" in url]
        assert urls == ["http://a.test/0", "http://b.test/0", "http://c.test/0", "http://a.test/1", "http://c.test/1",
                        "http://a.test/2"]  # fmt: skip
        assert queued(con, tmp_path, limit=3) == ["http://a.test/0", "http://a.test/1", "http://a.test/2"]
    finally:
        con.close()
