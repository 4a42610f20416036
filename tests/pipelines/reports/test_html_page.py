"""The HTML report's pieces without a browser: text is escaped in charts and pages, the file appears whole or not
at all, and the numbers `status` shares with it read on a store that has crawl results."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.reports import ReportNotWritable, write_html_report
from pipelines.reports.html.svg import bar_chart, line_chart
from pipelines.store import open_store, store_status
from tests.diff_helpers import SECOND, two_snapshots

HOSTILE = "<script>alert(1)</script>&\"'"


def test_chart_text_is_escaped():
    for chart in (bar_chart(HOSTILE, [(HOSTILE, 3)]), line_chart(HOSTILE, [HOSTILE], [(HOSTILE, [1])])):
        assert "<script>" not in chart
        assert "&lt;script&gt;" in chart
        assert 'class="mark"' in chart


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    db = two_snapshots(tmp_path_factory.mktemp("page"))
    with duckdb.connect(str(db)) as con:
        con.execute(
            "INSERT INTO crawl_results (url, crawl_id, outcome, error_class, error, fetched_at) VALUES"
            " ('http://keep.test/a', 'c1', 'error', ?, 'timeout', TIMESTAMP '2026-12-01 10:00:00')",
            [HOSTILE],
        )
    return db


def test_status_reads_a_store_with_crawl_results(store):
    with open_store(store, read_only=True) as con:
        status = store_status(con, SECOND)
        assert status.crawl.outcomes == [("error", 1)]  # the error class is hostile text
        assert status.snapshots.fetchall()[0][0] == SECOND


def test_the_page_escapes_what_the_store_holds(store, tmp_path):
    out = tmp_path / "r.html"
    with open_store(store, read_only=True) as con:
        assert write_html_report(con, SECOND, out) == out
    page = out.read_text()
    assert "<script" not in page and page.startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left


def test_an_unwritable_destination_leaves_nothing(store, tmp_path):
    (tmp_path / "file").write_text("")
    with open_store(store, read_only=True) as con, pytest.raises(ReportNotWritable, match="cannot write"):
        write_html_report(con, SECOND, tmp_path / "file" / "r.html")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
