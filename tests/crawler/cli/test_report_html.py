"""`linksweep report html`, opened in a real headless browser (Debian's chromium, kept off the network): no console
error, no request but the file itself, every plot drawn, and every number shown equal to what `linksweep sql`
answers on the same store. Reserved names only; the store is built through the CLI (crawl results and a run are
inserted, as no crawl or `run` takes place here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from crawler.cli.errors import ExitCode
from crawler.corpus.synthetic import response_record, write_warc
from pipelines.export import host_sha256, url_sha256
from tests.cli_runner import run
from tests.diff_helpers import FIRST, SECOND, two_snapshots
from tests.headless_browser import chromium_missing, open_page

pytestmark = pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or "")

THIRD = "SYN-2026-03"
FLOOD = [f"http://flood.test/p{n}" for n in range(3)]
EXPORTED = "('auto', 'confirmed')"
# What the page shows, evaluated in it: each plot's marks (drawn: a box of some size) and each number
PAGE_FACTS = """({
  svgs: [...document.querySelectorAll('svg')].map(svg => ({
    label: svg.getAttribute('aria-label'),
    drawn: [...svg.querySelectorAll('.mark')]
      .filter(m => { const box = m.getBBox(); return box.width > 0 && box.height > 0; }).length,
  })),
  metrics: [...document.querySelectorAll('[data-metric]')].map(e => [e.dataset.metric, e.dataset.value, e.textContent]),
  text: document.body.innerText,
})"""


def sql(db: Path, query: str) -> list[list]:
    output = run(db, "sql", query, "--format", "jsonl").output
    return [list(json.loads(line).values()) for line in output.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    db = two_snapshots(folder)
    corpus = folder / "c3"
    corpus.mkdir()
    write_warc(corpus / "page.warc.gz", [response_record("https://www.example.org/3", "".join(
        f"<a href='{url}'>x</a>" for url in ["http://keep.test/a", *FLOOD]).encode())], gzipped=True)  # fmt: skip
    (corpus / "broken.warc.gz").write_bytes(b"\x1f\x8b\x08\x00 this is no gzip member")
    run(db, "ingest", "--snapshot", THIRD, str(corpus), expect=ExitCode.INPUTS_FAILED)
    (folder / "flood.txt").write_text("flood.test\n")
    run(db, "blocklist", "add", "flood", str(folder / "flood.txt"), "--category", "test-flood")
    run(db, "match", "--snapshot", THIRD, "--flood-urls", "2", expect=ExitCode.REVIEW_NEEDED)
    with duckdb.connect(str(db)) as con:
        con.execute(
            """
            INSERT INTO crawl_results (url, crawl_id, outcome, error_class, fetched_at) VALUES
              ('https://www.example.org/ok', 'c1', 'resolved', NULL, TIMESTAMP '2026-12-01 10:00:00'),
              ('https://a.example.org/', 'c1', 'error', 'timeout', TIMESTAMP '2026-12-01 10:00:01'),
              ('https://b.example.org/', 'c1', 'error', 'dns', TIMESTAMP '2026-12-01 10:00:02'),
              ('https://c.example.org/', 'c1', 'error', 'timeout', TIMESTAMP '2026-12-01 10:00:03');
            INSERT INTO runs (run_id, config_sha256, snapshot, status, exit_code, started_at, finished_at)
              VALUES (1, 'ab', 'SYN-2026-03', 'done', 10, TIMESTAMP '2026-12-01 09:00:00',
                      TIMESTAMP '2026-12-01 09:05:00');
            INSERT INTO run_stages (run_id, stage, status, started_at, seconds) VALUES
              (1, 'ingest', 'done', TIMESTAMP '2026-12-01 09:00:00', 12.5),
              (1, 'match', 'done', TIMESTAMP '2026-12-01 09:00:13', 3.25),
              (1, 'html', 'done', TIMESTAMP '2026-12-01 09:00:17', 0.5);
            """
        )
    return db


def expected_numbers(db: Path, snapshot: str, previous: str) -> dict[str, int]:
    """Every number the page should show, as `linksweep sql` answers it (queries written apart from the page's)."""
    where = f"snapshot = '{snapshot}'"
    found: dict[str, int] = {}
    [[files, done, partial, failed, pending, documents, links, bad]] = sql(db, f"""
        SELECT count(*), count(*) FILTER (status = 'done'), count(*) FILTER (status = 'partial'),
               count(*) FILTER (status = 'failed'), count(*) FILTER (status = 'pending'), sum(documents),
               sum(links), sum(bad_records) FROM sources WHERE {where}""")  # fmt: skip
    found |= {"files.files": files, "files.done": done, "files.partial": partial, "files.failed": failed,
              "files.pending": pending, "files.documents": documents, "files.links": links,
              "files.bad_records": bad, "files.failed_or_partial": failed + partial}  # fmt: skip
    states = ("auto", "needs_review", "confirmed", "false_positive", "suppressed", "expired")
    counted = dict(map(tuple, sql(db, f"SELECT state, count(*) FROM verdicts WHERE {where} GROUP BY state")))
    found |= {f"verdicts.state.{state}": counted.get(state, 0) for state in states}
    found["review.needs_review"] = counted.get("needs_review", 0)
    [[found["verdicts.flagged_urls"], found["hosts.flagged"]]] = sql(
        db, f"SELECT count(DISTINCT url), count(DISTINCT host) FROM verdicts WHERE {where} AND state IN {EXPORTED}"
    )
    lists = sql(db, f"SELECT DISTINCT list_name, coalesce(category, '') FROM verdicts WHERE {where}")
    for name, category, state, count in sql(db, f"""
        SELECT l.list_name, l.category, s.state, count(v.verdict_id)
        FROM (SELECT DISTINCT list_name, coalesce(category, '') AS category FROM verdicts WHERE {where}) AS l
        CROSS JOIN (SELECT unnest({list(states)}) AS state) AS s
        LEFT JOIN verdicts AS v ON v.{where} AND v.list_name = l.list_name AND coalesce(v.category, '') = l.category
             AND v.state = s.state GROUP BY ALL"""):  # fmt: skip
        found[f"verdicts.list.{name}.{category}.{state}"] = count
    for name, flagged, waiting in sql(
        db,
        f"""
        SELECT name, (SELECT count(*) FROM verdicts WHERE snapshot = name AND state IN {EXPORTED}),
               (SELECT count(*) FROM verdicts WHERE snapshot = name AND state = 'needs_review') FROM snapshots""",
    ):
        found |= {f"trend.{name}.flagged": flagged, f"trend.{name}.needs_review": waiting}
    diff_lists = sql(db, f"SELECT DISTINCT list_name, coalesce(category, '') FROM verdicts WHERE snapshot IN"
                         f" ('{snapshot}', '{previous}') AND state IN {EXPORTED}")  # fmt: skip
    for key, condition in [("diff.total", "true")] + [
        (f"diff.list.{name}.{category}", f"list_name = '{name}' AND coalesce(category, '') = '{category}'")
        for name, category in diff_lists
    ]:
        for column in ("url", "host"):
            now, before = (
                f"SELECT {column} FROM verdicts WHERE snapshot = '{name}' AND state IN {EXPORTED} AND {condition}"
                for name in (snapshot, previous)
            )
            for change, query in (
                ("new", f"{now} EXCEPT {before}"),
                ("persisting", f"{now} INTERSECT {before}"),
                ("gone", f"{before} EXCEPT {now}"),
            ):
                [[found[f"{key}.{change}_{column}s"]]] = sql(db, f"SELECT count(*) FROM ({query})")
    hosts = sql(db, f"SELECT host, count(DISTINCT url) FROM verdicts WHERE {where} AND state IN {EXPORTED}"
                    " GROUP BY host ORDER BY 2 DESC, host")  # fmt: skip
    found |= {f"hosts.rank.{rank}": count for rank, (_, count) in enumerate(hosts, 1)}
    found |= {f"crawl.outcome.{o}": n for o, n in sql(db, "SELECT outcome, count(*) FROM crawl_results GROUP BY 1")}
    found |= {
        f"crawl.error.{c}": n
        for c, n in sql(db, "SELECT error_class, count(*) FROM crawl_results WHERE error_class IS NOT NULL GROUP BY 1")
    }
    waiting = sql(db, f"SELECT count(*) FROM verdicts WHERE {where} AND state = 'needs_review'"
                      " GROUP BY list_name, entry_kind, entry ORDER BY 1 DESC, list_name, entry")  # fmt: skip
    found |= {f"review.waiting.{rank}": count for rank, [count] in enumerate(waiting, 1)}
    assert lists  # the snapshot has verdicts: the comparison means something
    return found


@pytest.fixture(scope="module")
def pages(store, tmp_path_factory) -> dict[str, tuple[Path, object]]:
    folder = tmp_path_factory.mktemp("pages")
    visits = {}
    for name, extra in (("plain", ()), ("redacted", ("--redact",))):
        out = folder / f"{name}.html"
        done = run(store, "report", "html", "--snapshot", THIRD, "--out", str(out), *extra)
        assert str(out) in done.output
        visits[name] = (out, open_page(out, PAGE_FACTS))
    return visits


@pytest.mark.parametrize("name", ["plain", "redacted"])
def test_the_page_loads_nothing_and_logs_no_error(pages, name):
    out, visit = pages[name]
    assert visit.errors == []
    assert visit.requests == [out.resolve().as_uri()]


@pytest.mark.parametrize("name", ["plain", "redacted"])
def test_every_plot_is_drawn(pages, name):
    svgs = pages[name][1].value["svgs"]
    labels = {svg["label"] for svg in svgs}
    assert {"verdicts by state", "verdicts per snapshot", "crawl outcomes", "seconds per stage"} <= labels
    assert {"flagged URLs per host", "verdicts waiting, by list entry", "crawl error classes"} <= labels
    assert [svg for svg in svgs if svg["drawn"] == 0] == []


@pytest.mark.parametrize("name", ["plain", "redacted"])
def test_every_number_shown_is_what_sql_answers(store, pages, name):
    expected = expected_numbers(store, THIRD, SECOND)
    shown = pages[name][1].value["metrics"]
    assert len(shown) >= 50
    for metric, value, text in shown:
        assert metric in expected, metric
        assert (metric, int(value)) == (metric, expected[metric])
        assert text == f"{expected[metric]:,}"
    assert {metric for metric, _, _ in shown} >= {"files.failed", "review.needs_review", "diff.total.new_urls"}


def test_the_redacted_page_names_no_host_and_no_url(store, pages):
    redacted = pages["redacted"][0].read_text()
    plain = pages["plain"][0].read_text()
    for host in ("keep.test", "flood.test", "mixed.test", "new.test", "phish.test"):
        named = re.compile(rf"(?<![\w.-]){re.escape(host)}(?![\w-])")  # not list names: `phish.test-phishing`
        assert named.search(plain), host
        assert not named.search(redacted), host
    assert host_sha256("http://keep.test/a") in redacted  # the hashes stand in their place
    assert url_sha256("http://keep.test/a") in redacted


def test_the_page_shows_the_run_the_diff_and_failed_files(pages):
    text = pages["plain"][1].value["text"]
    assert f"From {SECOND} to {THIRD}" in text
    assert "broken.warc.gz" in text
    assert "Run 1, started 2026-12-01 09:00:00: done, exit 10." in text
    assert "http://keep.test/a" in text  # persisting


def test_previous_names_the_snapshot_to_diff_against(store, tmp_path):
    out = tmp_path / "r.html"
    run(store, "report", "html", "--snapshot", THIRD, "--out", str(out), "--previous", FIRST)
    assert f"From <b>{FIRST}</b> to <b>{THIRD}</b>" in out.read_text()


def test_an_unknown_snapshot_exits_2_and_writes_nothing(store, tmp_path):
    out = tmp_path / "r.html"
    run(store, "report", "html", "--snapshot", "NOPE", "--out", str(out), expect=ExitCode.USAGE)
    assert not out.exists()


def test_the_check_catches_a_page_that_fetches(tmp_path):
    """The browser check can fail: a page with an outside image logs the refusal (or a request)."""
    page = tmp_path / "fetching.html"
    page.write_text('<!DOCTYPE html><html><body><img src="https://example.org/x.png"></body></html>')
    visit = open_page(page, "1")
    assert visit.errors or visit.requests != [page.resolve().as_uri()]
