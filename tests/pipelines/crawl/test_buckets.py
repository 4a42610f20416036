"""Crawl buckets: every registrable domain in exactly one bucket, balanced by link count (the longest-processing-
time rule's bound), the same buckets for the same queue, each bucket published whole."""

from __future__ import annotations

import random

import duckdb
import pytest

from pipelines.crawl import assign_domains, split_queue


def test_a_big_domain_gets_a_bucket_of_its_own_and_the_rest_share_the_others():
    counts = {"big.test": 500, **{f"d{number}.test": 10 for number in range(50)}}
    plan = assign_domains(counts, 2)
    loads = sorted(sum(counts[domain] for domain in bucket) for bucket in plan)
    assert loads == [500, 500]
    assert ["big.test"] in plan  # alone: balancing by hosts would have put 25 more domains with it


@pytest.mark.parametrize("seed", range(5))
def test_every_domain_lands_once_and_no_bucket_exceeds_the_bound(seed):
    rng = random.Random(seed)
    counts = {f"d{number}.test": int(rng.paretovariate(1.2) * 10) for number in range(300)}
    for buckets in (2, 3, 7):
        plan = assign_domains(counts, buckets)
        assert sorted(domain for bucket in plan for domain in bucket) == sorted(counts)
        loads = [sum(counts[domain] for domain in bucket) for bucket in plan]
        best_possible = max(sum(counts.values()) / buckets, max(counts.values()))
        assert max(loads) <= 4 / 3 * best_possible + max(counts.values())  # the LPT bound
        assert assign_domains(dict(reversed(list(counts.items()))), buckets) == plan  # order of input: no matter


def test_split_queue_writes_each_url_once_with_its_domain_in_one_bucket(tmp_path):
    queue = tmp_path / "queue.parquet"
    rows = [(f"http://h{host}.d{domain}.test/p{page}", f"d{domain}.test")
            for domain in range(12) for host in range(domain % 3 + 1) for page in range(domain * 5 + 1)]  # fmt: skip
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE q AS SELECT * FROM (VALUES "
        + ", ".join(f"('{u}', '{d}')" for u, d in rows)
        + ") AS t(url, domain)"
    )
    con.execute(f"COPY q TO '{queue}' (FORMAT parquet)")
    buckets = split_queue(queue, 3)
    read = [con.execute(f"SELECT url, domain FROM read_parquet('{bucket.path}')").fetchall() for bucket in buckets]
    assert sorted(row for bucket in read for row in bucket) == sorted(rows)
    domains = [{domain for _, domain in bucket} for bucket in read]
    assert sum(len(found) for found in domains) == 12  # no domain in two buckets
    assert [bucket.links for bucket in buckets] == [len(bucket) for bucket in read]
    assert max(bucket.links for bucket in buckets) - min(bucket.links for bucket in buckets) <= 56  # one domain
    assert not list(tmp_path.glob(".*partial"))
    assert [bucket.links for bucket in split_queue(queue, 3)] == [bucket.links for bucket in buckets]


def test_the_domains_of_a_bucket_take_turns(tmp_path):
    queue = tmp_path / "queue.parquet"
    rows = [(f"http://{domain}.test/{page}", f"{domain}.test") for domain in "abc" for page in range(3)]
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE q AS SELECT * FROM (VALUES "
        + ", ".join(f"('{u}', '{d}')" for u, d in rows)
        + ") AS t(url, domain)"
    )
    con.execute(f"COPY (SELECT * FROM q ORDER BY url) TO '{queue}' (FORMAT parquet)")
    (bucket,) = split_queue(queue, 1)
    urls = [url for (url,) in con.execute(f"SELECT url FROM read_parquet('{bucket.path}')").fetchall()]
    assert urls[:4] == ["http://a.test/0", "http://b.test/0", "http://c.test/0", "http://a.test/1"]
