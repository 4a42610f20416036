"""A file's distinct URLs: collected in memory as rows arrive, or derived by DuckDB from the staged batches
when there are too many to hold. Both give the same rows."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pipelines.store.staging as staging
from pipelines.store.staging import StagedSource

LINKS = [
    ("a", "https://www.example.org/a", "https://www.example.org/a"),
    ("a", "//x", None),
    ("img", "http://u@img.test:8080/p.png", "http://u@img.test:8080/p.png"),
    ("a", "http://[2001:db8::1]/v6", "http://[2001:db8::1]/v6"),
    ("a", "http://198.51.100.7/ip", "http://198.51.100.7/ip"),
    ("a", "https://x.b.pages.example.org/", "https://x.b.pages.example.org/"),
    ("a", "ftp://files.test/f", "ftp://files.test/f"),
    ("a", "https://www.example.org/a", "https://www.example.org/a"),
]


def staged_urls(tmp_path, name: str) -> list[dict]:
    source = StagedSource(tmp_path / name, 1, "S")
    source.add_document(
        0, record_id="r0", record_type="response", target_uri="u", url="https://page.example.org/", links=LINKS
    )
    source.add_document(1, record_id="r1", record_type="response", target_uri="u", url=None, links=LINKS[:3])
    files = source.close()
    urls = sorted(staging.read_staged(files["urls"]).to_pylist(), key=lambda row: row["url"])
    hosts = staging.read_staged(files["hosts"]).to_pylist()
    assert len({row["host"] for row in hosts}) == len(hosts)  # distinct, as the store inserts them
    # the hosts of the URLs, with the same registrable domains
    assert sorted(hosts, key=lambda row: row["host"]) == sorted(
        [dict(row) for row in {tuple((k, v) for k, v in row.items() if k != "url") for row in urls if row["host"]}],
        key=lambda row: row["host"],
    )
    return urls


def test_in_memory_and_duckdb_distinct_urls_agree(tmp_path, monkeypatch, private_suffix_list):
    in_memory = staged_urls(tmp_path, "memory")
    monkeypatch.setattr(staging, "DISTINCT_URLS_IN_MEMORY", 0)
    from_duckdb = staged_urls(tmp_path, "duckdb")
    assert in_memory == from_duckdb
    assert len(in_memory) == 7
    by_url = {row["url"]: row for row in in_memory}
    assert by_url["http://u@img.test:8080/p.png"]["host"] == "img.test"
    assert by_url["http://[2001:db8::1]/v6"]["host"] == "[2001:db8::1]"
    assert by_url["https://x.b.pages.example.org/"]["registered_domain"] == "example.org"
    assert by_url["https://x.b.pages.example.org/"]["registered_domain_private"] == "b.pages.example.org"


@pytest.mark.parametrize("group_rows", [200_000, 4])  # the batches' distinct URLs collected once, or group by group
def test_urls_repeated_across_batches_are_staged_once(tmp_path, monkeypatch, group_rows):
    monkeypatch.setattr(staging, "LINKS_PER_BATCH", 3)  # a batch after every document below
    monkeypatch.setattr(staging, "URLS_PER_DISTINCT_GROUP", group_rows)
    source = StagedSource(tmp_path / "batches", 1, "S")
    for record_no in range(4):
        source.add_document(
            record_no, record_id=f"r{record_no}", record_type="response", target_uri="u", url=None, links=LINKS
        )
    files = source.close()
    assert len(list(staging.stream_staged(files["links"]))) == 4
    urls = staging.read_staged(files["urls"]).column("url").to_pylist()
    assert sorted(urls) == sorted({url for _, _, url in LINKS if url is not None})


def _urlish(prefixes: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(
        st.builds(
            lambda prefix, rest: prefix + rest,
            st.sampled_from(prefixes),
            st.text(alphabet="ab.-_0/:@[]?#\\%é", max_size=24),
        ),
        max_size=12,
    )


# lists of http(s) URLs only (the split path), and lists mixing in what only the regex handles
_URLISH = st.one_of(
    _urlish(["http://", "https://"]), _urlish(["http://", "https://", "HTTP://", "ftp://", "http:/", "x:", ""])
)


@settings(max_examples=1500, deadline=None)
@given(_URLISH)
def test_hosts_split_off_plain_urls_are_what_the_regex_extracts(urls):
    array = pa.array(urls, pa.string())
    by_regex = pc.struct_field(pc.extract_regex(array, staging._HOST_OF_URL_RE2), [0]) if urls else array
    assert staging.hosts_of_urls(array).to_pylist() == by_regex.to_pylist()


def test_hosts_of_urls_takes_the_regex_for_authorities_with_more_than_a_host():
    urls = [
        "http://a.test/x",
        "https://u:p@b.test:8080/",
        "http://[2001:db8::1]:81/",
        "https://c.test?q",
        "http://d.test",
    ]
    assert staging.hosts_of_urls(pa.array(urls)).to_pylist() == [
        "a.test",
        "b.test",
        "[2001:db8::1]",
        "c.test",
        "d.test",
    ]
