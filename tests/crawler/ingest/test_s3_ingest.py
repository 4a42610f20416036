"""s3:// corpus sources: objects, prefixes and cc: listings read from a loopback S3 endpoint (moto) into the same
rows as the local files, resumed with a ranged GetObject pinned to the ETag, with credentials from the
environment sent to that endpoint only, and the endpoint's address checked before any request."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

from crawler.ingest import RemoteOptions, RemoteReadError, SourceSpecError, expand_sources, ingest
from tests.cli_runner import run
from tests.corpus_mirror import CRAWL, build_cc_tree, corpus_mirror
from tests.crawler.ingest.test_remote_ingest import rows

BUCKET_URL = "s3://corpus"


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("s3tree")
    warcs = build_cc_tree(root, warcs=4, wats=2, pages=30)
    files = sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
    return root, warcs, files


@pytest.fixture(scope="module")
def endpoint(tree):
    pytest.importorskip("boto3", reason="boto3 (the s3 extra) is not installed")
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    from tests.s3_endpoint import s3_endpoint

    with s3_endpoint() as serving:
        serving.put_tree(tree[0], tree[2])
        yield serving


@pytest.fixture
def s3(endpoint, monkeypatch, tmp_path):
    """Fake credentials in the environment, and nothing else of AWS's: no profile, no files, no endpoint."""
    from tests.s3_endpoint import ACCESS_KEY, SECRET_KEY

    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    endpoint.requests.clear()
    return endpoint


def options(endpoint) -> RemoteOptions:
    return RemoteOptions(allow_network=("127.0.0.0/8",), rate=1000, backoff=0.01, s3_endpoint_url=endpoint.url)


def local_rows(tree, relative: list[str], tmp_path) -> dict:
    db = tmp_path / "local.duckdb"
    ingest(db, "S", [tree[0] / path for path in relative], workers=1, show_progress=False)
    return rows(db)


def test_s3_objects_give_the_same_rows_as_the_local_files(tree, s3, tmp_path):
    chosen = tree[1][:2]
    db = tmp_path / "s3.duckdb"
    summary = ingest(db, "S", [f"{BUCKET_URL}/{path}" for path in chosen], remote=options(s3), show_progress=False)
    assert summary.files == 2 and not summary.failed
    assert rows(db) == local_rows(tree, chosen, tmp_path)
    with duckdb.connect(str(db), read_only=True) as con:
        recorded = con.execute("SELECT remote_url, etag, remote_length, size FROM sources ORDER BY 1").fetchall()
    assert [url for url, *_ in recorded] == [f"{BUCKET_URL}/{path}" for path in sorted(chosen)]
    assert all(etag and length == size for _url, etag, length, size in recorded)


def test_the_endpoint_may_come_from_the_environment(tree, s3, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.url)
    from_env = RemoteOptions(allow_network=("127.0.0.0/8",), rate=1000)
    summary = ingest(tmp_path / "s3.duckdb", "S", [f"{BUCKET_URL}/{tree[1][2]}"], remote=from_env, workers=1)
    assert summary.files == 1 and not summary.failed and s3.requests
    with pytest.raises(SourceSpecError, match="address policy"):
        expand_sources([f"{BUCKET_URL}/{tree[1][2]}"])  # the same endpoint, loopback not opened


def test_a_prefix_names_every_object_under_it_sorted(tree, s3):
    found = expand_sources([f"{BUCKET_URL}/crawl-data/{CRAWL}/segments/"], options=options(s3))
    expected = sorted(f"{BUCKET_URL}/{path}" for path in tree[2] if "/segments/" in path)
    assert [source.url for source in found] == expected and len(expected) == 6


def test_cc_sources_read_the_listing_and_the_files_from_s3(tree, s3, tmp_path):
    db = tmp_path / "cli.duckdb"
    args = ["ingest", "--snapshot", "S", "--no-progress", "--workers", "1", f"cc:{CRAWL}/warc", "--sample", "2"]
    more = ["--cc-base-url", BUCKET_URL, "--s3-endpoint-url", s3.url, "--allow-network", "127.0.0.0/8"]
    assert "ingested 2 files" in run(db, *args, *more).output
    sampled = expand_sources([f"cc:{CRAWL}/warc"], sample=2, cc_base_url=BUCKET_URL, options=options(s3))
    relative = [source.url.removeprefix(f"{BUCKET_URL}/") for source in sampled]
    assert rows(db) == local_rows(tree, relative, tmp_path)
    assert any(request.path.endswith("/warc.paths.gz") for request in s3.requests)


def test_a_dropped_stream_resumes_with_a_ranged_get_pinned_to_the_etag(tree, s3, tmp_path):
    relative = tree[1][0]
    path = f"/corpus/{relative}"
    s3.drop_at[path] = 5000
    db = tmp_path / "s3.duckdb"
    summary = ingest(db, "S", [f"{BUCKET_URL}/{relative}"], remote=options(s3), workers=1, show_progress=False)
    assert not summary.failed
    gets = s3.gets(path)
    assert [(get.status, get.headers.get("Range")) for get in gets] == [(200, None), (206, "bytes=5000-")]
    assert gets[1].headers["If-Match"].startswith('"')
    assert rows(db) == local_rows(tree, [relative], tmp_path)


def test_an_object_changed_mid_read_fails_clearly(tree, s3, tmp_path):
    relative = tree[1][3]
    path, url = f"/corpus/{relative}", f"{BUCKET_URL}/{relative}"
    original = (tree[0] / relative).read_bytes()
    s3.drop_at[path] = 5000
    s3.before_drop[path] = lambda: s3.client.put_object(Bucket="corpus", Key=relative, Body=original + b"\n")
    db = tmp_path / "s3.duckdb"
    try:
        summary = ingest(db, "S", [url], remote=options(s3), workers=1, show_progress=False)
    finally:
        s3.client.put_object(Bucket="corpus", Key=relative, Body=original)
    [(_where, status, error)] = summary.problems
    assert status == "failed" and "changed" in error and url in error
    assert [get.status for get in s3.gets(path)] == [200, 412]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM documents").fetchone() == (0,)


def test_credentials_go_to_the_s3_endpoint_only(tree, s3, tmp_path):
    from tests.s3_endpoint import ACCESS_KEY, SECRET_KEY

    with corpus_mirror(tree[0]) as mirror:
        listing = tmp_path / "sources.txt"
        listing.write_text(f"{BUCKET_URL}/{tree[1][1]}\n{mirror.url(tree[1][2])}\n")
        summary = ingest(
            tmp_path / "s3.duckdb", "S", [f"@{listing}"], remote=options(s3), workers=1, show_progress=False
        )
        assert summary.files == 2 and not summary.failed
        assert mirror.requests and s3.requests
        for request in mirror.requests:
            assert "Authorization" not in request.headers
            assert not any(ACCESS_KEY in value or SECRET_KEY in value for value in request.headers.values())
    assert all(ACCESS_KEY in request.headers["Authorization"] for request in s3.requests)
    assert not any(SECRET_KEY in value for request in s3.requests for value in request.headers.values())


def test_without_credentials_requests_go_unsigned(tree, s3, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    expand_sources([f"{BUCKET_URL}/crawl-data/{CRAWL}/segments/"], options=options(s3))
    assert s3.requests and not any("Authorization" in request.headers for request in s3.requests)


def test_an_endpoint_on_a_refused_address_fails_before_any_request(tree, s3, tmp_path):
    with corpus_mirror(tree[0]) as stand_in:  # a loopback server in the endpoint's place, to count requests
        refused = RemoteOptions(s3_endpoint_url=stand_in.base_url)
        for spec in (f"{BUCKET_URL}/{tree[1][0]}", f"{BUCKET_URL}/crawl-data/", f"cc:{CRAWL}/warc"):
            with pytest.raises(SourceSpecError, match="address policy"):
                expand_sources([spec], cc_base_url=BUCKET_URL, options=refused)
        result = run(
            tmp_path / "cli.duckdb",
            *("ingest", "--snapshot", "S", f"{BUCKET_URL}/{tree[1][0]}", "--s3-endpoint-url", stand_in.base_url),
            expect=2,
        )
        assert "address policy" in result.output
        assert stand_in.requests == []


def test_every_request_passes_the_address_policy_when_sent(tree, s3):
    # past the expansion's check (a library caller may skip it): the client's own hook refuses the request
    from crawler.corpus import probe_remote

    with pytest.raises(RemoteReadError, match="address policy"):
        probe_remote(f"{BUCKET_URL}/{tree[1][0]}", RemoteOptions(s3_endpoint_url=s3.url))
    assert s3.requests == []


def test_without_boto3_an_s3_source_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 raises ImportError
    with pytest.raises(SourceSpecError, match=r"pip install -e '\.\[s3\]'"):
        expand_sources([f"{BUCKET_URL}/x.warc.gz"])
    result = run(tmp_path / "cli.duckdb", "ingest", "--snapshot", "S", f"{BUCKET_URL}/x.warc.gz", expect=2)
    assert "pip install -e '.[s3]'" in result.output
