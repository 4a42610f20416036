"""`linksweep diff` on two synthetic snapshots: exactly the planted new, persisting and gone URLs and hosts, over
all lists and per list and category."""

from __future__ import annotations

import json

import pytest

from crawler.cli.errors import ExitCode
from tests.cli_runner import run
from tests.diff_helpers import FIRST, PLANTED_HOSTS, PLANTED_URLS, SECOND, two_snapshots


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return two_snapshots(tmp_path_factory.mktemp("diff"))


def diff_json(db, *args: str) -> dict:
    return json.loads(run(db, "diff", "--from", FIRST, "--to", SECOND, "--json", *args).output)


def test_the_diff_gives_the_planted_sets(store):
    found = diff_json(store)
    assert found["urls"] == PLANTED_URLS
    assert found["hosts"] == PLANTED_HOSTS
    assert found["totals"] == {
        "new_urls": 3, "persisting_urls": 1, "gone_urls": 3, "new_hosts": 2, "persisting_hosts": 2, "gone_hosts": 2,
    }  # fmt: skip


def test_the_diff_counts_per_list_and_category(store):
    lists = {(c["list_name"], c["category"]): c["counts"] for c in diff_json(store)["lists"]}
    assert lists == {
        ("hotline", "test-harm"): {
            "new_urls": 2, "persisting_urls": 1, "gone_urls": 3, "new_hosts": 1, "persisting_hosts": 2,
            "gone_hosts": 2,
        },
        ("phish", "test-phishing"): {
            "new_urls": 1, "persisting_urls": 0, "gone_urls": 0, "new_hosts": 1, "persisting_hosts": 0,
            "gone_hosts": 0,
        },
    }  # fmt: skip


def test_a_diff_backwards_swaps_new_and_gone(store):
    found = json.loads(run(store, "diff", "--from", SECOND, "--to", FIRST, "--json").output)
    assert found["urls"]["new"] == PLANTED_URLS["gone"]
    assert found["urls"]["gone"] == PLANTED_URLS["new"]


def test_limit_keeps_the_first_of_each_set_and_every_count(store):
    found = diff_json(store, "--limit", "1")
    assert found["urls"] == {change: urls[:1] for change, urls in PLANTED_URLS.items()}
    assert found["totals"]["gone_urls"] == 3


def test_the_text_output_names_counts_and_urls(store):
    output = run(store, "diff", "--from", FIRST, "--to", SECOND, "--limit", "2").output
    assert f"{FIRST} -> {SECOND}: URLs 3 new, 1 persisting, 3 gone; hosts 2 new, 2 persisting, 2 gone" in output
    assert "hotline\ttest-harm\t2\t1\t3\t1\t2\t2" in output
    assert "new URLs (first 2):\n  http://mixed.test/new\n  http://new.test/y\n" in output


def test_an_unknown_snapshot_exits_2(store):
    result = run(store, "diff", "--from", FIRST, "--to", "NOPE", expect=ExitCode.USAGE)
    assert "no snapshot 'NOPE'" in result.output
