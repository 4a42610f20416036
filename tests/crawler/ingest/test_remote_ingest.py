"""Remote corpus files: streamed from a loopback mirror into the same rows as the local files, resumed where a
connection drops, polite to the host, and never recorded short."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from crawler.ingest import RemoteOptions, SourceSpecError, expand_sources, ingest
from tests.cli_runner import run
from tests.corpus_mirror import CRAWL, build_cc_tree, corpus_mirror
from tests.crawler.ingest.corpora import table_contents

LOOPBACK = RemoteOptions(allow_network=("127.0.0.0/8",), rate=1000, backoff=0.01)
SOURCE_COLUMNS = "sha256, size, format, status, records, documents, links, bad_records, error"


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("mirror")
    return root, build_cc_tree(root)


@pytest.fixture
def mirror(tree):
    with corpus_mirror(tree[0]) as serving:
        yield serving


def rows(db: Path) -> dict[str, list[tuple]]:
    contents = table_contents(db)
    with duckdb.connect(str(db), read_only=True) as con:
        contents["sources"] = con.execute(f"SELECT {SOURCE_COLUMNS} FROM sources ORDER BY source_id").fetchall()
    return contents


def ingest_urls(db: Path, urls: list[str], options: RemoteOptions = LOOPBACK, workers: int = 1, **more):
    return ingest(db, "S", urls, remote=options, workers=workers, show_progress=False, **more)


def one_file(tree, mirror, tmp_path) -> tuple[str, str, Path]:
    """The first WARC: its mirror path, URL, and a local ingest of it for reference."""
    relative = tree[1][0]
    local_db = tmp_path / "local.duckdb"
    ingest(local_db, "S", [tree[0] / relative], workers=1, show_progress=False)
    return f"/{relative}", mirror.url(relative), local_db


def test_sampled_files_give_the_same_rows_as_the_local_files(tree, mirror, tmp_path):
    remote_db, local_db = tmp_path / "remote.duckdb", tmp_path / "local.duckdb"
    sources = [f"cc:{CRAWL}/warc"]
    summary = ingest_urls(remote_db, sources, workers=2, sample=3, seed=1, cc_base_url=mirror.base_url)
    assert summary.files == 3 and not summary.failed
    sampled = expand_sources(sources, sample=3, seed=1, cc_base_url=mirror.base_url, options=LOOPBACK)
    local = [tree[0] / source.url.removeprefix(mirror.base_url + "/") for source in sampled]
    ingest(local_db, "S", local, workers=1, show_progress=False)
    assert rows(remote_db) == rows(local_db)
    with duckdb.connect(str(remote_db), read_only=True) as con:
        recorded = con.execute("SELECT remote_url, etag, remote_length, size FROM sources ORDER BY 1").fetchall()
    assert [url for url, *_ in recorded] == sorted(source.url for source in sampled)
    assert all(etag and length == size for _url, etag, length, size in recorded)


def test_the_sample_is_the_same_files_every_run_sorted(mirror):
    def sample(seed: int) -> list[str]:
        found = expand_sources([f"cc:{CRAWL}/warc"], sample=3, seed=seed, cc_base_url=mirror.base_url, options=LOOPBACK)
        return [source.url for source in found]

    assert sample(1) == sample(1) == sorted(sample(1))
    assert len(sample(1)) == 3
    assert len({tuple(sample(seed)) for seed in range(6)}) > 1


def test_an_ingested_remote_file_is_skipped_by_url_etag_and_length(tree, mirror, tmp_path):
    db = tmp_path / "r.duckdb"
    url = mirror.url(tree[1][1])
    assert ingest_urls(db, [url]).files == 1
    again = ingest_urls(db, [url])
    assert (again.files, again.skipped) == (0, 1)


def test_a_dropped_connection_is_resumed_from_the_byte_reached(tree, mirror, tmp_path):
    path, url, local_db = one_file(tree, mirror, tmp_path)
    mirror.faults.drop_at[path] = 5000
    db = tmp_path / "r.duckdb"
    summary = ingest_urls(db, [url])
    assert not summary.failed
    gets = mirror.gets(path)
    assert [(get.status, get.headers.get("Range")) for get in gets] == [(200, None), (206, "bytes=5000-")]
    assert gets[1].headers["If-Range"].startswith('"')  # the ETag the first answer gave
    assert rows(db) == rows(local_db)


def test_503_with_retry_after_is_waited_out(tree, mirror, tmp_path):
    path, url, local_db = one_file(tree, mirror, tmp_path)
    mirror.faults.unavailable[path] = 1
    mirror.faults.retry_after = "1"
    db = tmp_path / "r.duckdb"
    started = time.monotonic()
    summary = ingest_urls(db, [url])
    assert not summary.failed
    assert time.monotonic() - started >= 1.0
    assert [get.status for get in mirror.gets(path)] == [503, 200]
    assert rows(db) == rows(local_db)


def test_a_range_answered_with_200_is_read_past_what_was_delivered(tree, mirror, tmp_path):
    path, url, local_db = one_file(tree, mirror, tmp_path)
    mirror.faults.drop_at[path] = 7000
    mirror.faults.ignore_range.add(path)
    db = tmp_path / "r.duckdb"
    assert not ingest_urls(db, [url]).failed
    assert [get.status for get in mirror.gets(path)] == [200, 200]
    assert rows(db) == rows(local_db)


def test_a_file_shorter_than_advertised_fails_clearly(tree, mirror, tmp_path):
    path, url, _local_db = one_file(tree, mirror, tmp_path)
    mirror.faults.short_by[path] = 100
    db = tmp_path / "r.duckdb"
    summary = ingest_urls(db, [url])
    assert summary.failed
    [(where, status, error)] = summary.problems
    assert (where, status) == (url, "failed")
    assert url in error and "bytes" in error
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT status, documents FROM sources").fetchall() == [("failed", 0)]
        assert con.execute("SELECT count(*) FROM documents").fetchone() == (0,)


def test_a_file_changed_mid_read_fails_clearly(tree, mirror, tmp_path):
    path, url, _local_db = one_file(tree, mirror, tmp_path)
    mirror.faults.drop_at[path] = 5000
    mirror.faults.changed_after_first.add(path)
    db = tmp_path / "r.duckdb"
    summary = ingest_urls(db, [url])
    [(_where, status, error)] = summary.problems
    assert status == "failed" and "changed" in error and url in error
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM documents").fetchone() == (0,)


def test_requests_name_linksweep_in_the_user_agent(tree, mirror, tmp_path):
    ingest_urls(tmp_path / "r.duckdb", [mirror.url(tree[1][2])])
    assert all(request.headers["User-Agent"].startswith("linksweep/") for request in mirror.requests)


def test_requests_to_one_host_keep_to_the_rate(tree, mirror, tmp_path):
    started = time.monotonic()
    ingest_urls(
        tmp_path / "r.duckdb",
        [mirror.url(path) for path in tree[1][:3]],
        RemoteOptions(allow_network=("127.0.0.0/8",), rate=4.0),
    )
    assert len(mirror.requests) == 6  # a HEAD and a GET a file
    assert time.monotonic() - started >= (6 - 1) / 4.0


def test_loopback_is_refused_unless_its_network_is_allowed(mirror):
    with pytest.raises(SourceSpecError, match="address policy"):
        expand_sources([f"{mirror.base_url}/crawl-data/x.warc.gz"])


def test_a_private_address_is_refused_without_allow_network():
    with pytest.raises(SourceSpecError, match="address policy"):
        expand_sources(["https://10.1.2.3/crawl-data/x.warc.gz"])
    assert expand_sources(["https://10.1.2.3/x.warc.gz"], allow_network=["10.0.0.0/8"])


def test_plain_http_beyond_loopback_is_refused_without_allow_http():
    url = "http://192.0.2.7/crawl-data/x.warc.gz"  # TEST-NET-1, opened below so that only the scheme is refused
    with pytest.raises(SourceSpecError, match="loopback addresses only"):
        expand_sources([url], allow_network=["192.0.2.0/24"])
    assert [str(source) for source in expand_sources([url], allow_network=["192.0.2.0/24"], allow_http=True)] == [url]


def test_a_listing_file_names_urls_and_paths(tree, mirror, tmp_path):
    listing = tmp_path / "sources.txt"
    local = tree[0] / tree[1][3]
    listing.write_text(f"# corpus\n{mirror.url(tree[1][2])}\n\n{local}  # a local copy\n")
    found = expand_sources([f"@{listing}"], options=LOOPBACK)
    assert [str(source) for source in found] == [mirror.url(tree[1][2]), str(local)]


def test_the_command_line_takes_cc_sources(tree, mirror, tmp_path):
    db = tmp_path / "cli.duckdb"
    args = ["ingest", "--snapshot", "S", "--no-progress", f"cc:{CRAWL}/wat", "--sample", "2", "--seed", "3"]
    result = run(db, *args, "--cc-base-url", mirror.base_url, "--allow-network", "127.0.0.0/8", "--workers", "1")
    assert "ingested 2 files" in result.output
    refused = run(db, "ingest", "--snapshot", "S", f"cc:{CRAWL}/wat", "--cc-base-url", mirror.base_url, expect=2)
    assert "address policy" in refused.output
