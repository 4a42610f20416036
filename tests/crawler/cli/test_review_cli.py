"""The review loop through the CLI, on synthetic snapshots (reserved names only): a rejected false positive stays
out of later exports until undone, a flooding entry waits for review (exit 10), a two-reviewer list needs two
different reviewers, and a new list version never rewrites a reviewed verdict. No test opens a connection."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from crawler.cli.errors import ExitCode
from crawler.corpus.synthetic import response_record, write_warc
from tests.cli_runner import run
from tests.report_helpers import FIXTURES, XSD

PLANTED = {
    "fp": ["http://fp.example.org/a", "http://fp.example.org/b"],  # a false positive: listed by mistake
    "bad": ["http://bad.test/x"],
}


# the review loop and report bundles are local: any connection or name lookup fails the test (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("no_network")


def corpus(folder: Path, name: str, pages: dict[str, list[str]]) -> Path:
    """A WARC of pages (URL -> the links it holds)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.warc.gz"
    records = [
        response_record(url, "".join(f"<a href='{link}'>x</a>" for link in links).encode())
        for url, links in pages.items()
    ]
    write_warc(path, records, gzipped=True)
    return path


def exported_links(db: Path, snapshot: str, out: Path, expect: int = 0, *extra: str) -> set[str]:
    run(db, "export", "--snapshot", snapshot, "--out", str(out), *extra, expect=expect)
    return {row["link_url"] for row in csv.DictReader(out.open())}


def verdicts(db: Path, *filters: str) -> list[dict]:
    return json.loads(run(db, "review", "list", "--json", "--limit", "100000", *filters).output)["verdicts"]


def verdict_of(db: Path, url: str) -> dict:
    [found] = [verdict for verdict in verdicts(db) if verdict["url"] == url]
    return found


@pytest.fixture
def store(tmp_path):
    db = tmp_path / "db.duckdb"
    lists = tmp_path / "block.txt"
    lists.write_text("fp.example.org\nbad.test\n")
    run(
        db,
        "ingest",
        "--snapshot",
        "S1",
        str(corpus(tmp_path / "c1", "p", {"https://www.example.org/": sum(PLANTED.values(), [])})),
    )
    run(db, "blocklist", "add", "block", str(lists), "--category", "test-harm")
    run(db, "match", "--snapshot", "S1")
    return db


def test_a_host_rejection_stays_out_of_later_exports_until_undone(store, tmp_path):
    everything = {*PLANTED["fp"], *PLANTED["bad"]}
    assert exported_links(store, "S1", tmp_path / "before.csv") == everything
    rejected = verdict_of(store, PLANTED["fp"][0])["verdict_id"]
    done = run(
        store, "review", "reject", rejected, "--reason", "false_positive", "--scope", "host", "--reviewer", "ana"
    )
    assert f"{rejected}: auto -> false_positive (2 verdicts changed)" in done.output
    assert exported_links(store, "S1", tmp_path / "after.csv") == set(PLANTED["bad"])
    assert verdict_of(store, PLANTED["fp"][1])["state"] == "suppressed"  # covered by the rule, not named
    # a later snapshot with another URL on that host: the rule applies to it as it is matched
    run(
        store,
        "ingest",
        "--snapshot",
        "S2",
        str(corpus(tmp_path / "c2", "q", {"https://www.example.org/2": ["http://fp.example.org/c", *PLANTED["bad"]]})),
    )
    run(store, "match", "--snapshot", "S2")
    assert exported_links(store, "S2", tmp_path / "s2.csv") == set(PLANTED["bad"])
    [log] = json.loads(run(store, "review", "log", "--json").output)
    assert (log["reviewer"], log["action"], log["scope"], log["before_state"], log["after_state"]) == (
        "ana",
        "reject",
        "host",
        "auto",
        "false_positive",
    )
    run(store, "review", "undo", str(log["audit_id"]), "--reviewer", "bo")
    assert exported_links(store, "S1", tmp_path / "undone.csv") == everything
    run(store, "match", "--snapshot", "S2")  # states are brought up to date on every run, too
    assert exported_links(store, "S2", tmp_path / "s2-undone.csv") == {"http://fp.example.org/c", *PLANTED["bad"]}
    actions = [entry["action"] for entry in json.loads(run(store, "review", "log", "--json").output)]
    assert actions == ["undo", "reject"]  # the history stays


def test_a_flooding_entry_waits_for_review_until_confirmed(store, tmp_path):
    flood = [f"http://flood.test/p{number}" for number in range(5_000)]
    pages = {f"https://www.example.org/f{page}": flood[page::5] for page in range(5)}
    run(store, "ingest", "--snapshot", "S1", str(corpus(tmp_path / "c3", "flood", pages)))
    (tmp_path / "block.txt").write_text("fp.example.org\nbad.test\nflood.test\n")
    run(store, "blocklist", "update", "block")
    matched = run(store, "match", "--snapshot", "S1", expect=ExitCode.REVIEW_NEEDED)
    assert "block entry 'flood.test' flags 5,000 URLs (a new entry; threshold 1,000)" in matched.output
    assert "5,000 verdicts await review" in matched.output
    out = tmp_path / "r.csv"
    assert not exported_links(store, "S1", out, ExitCode.REVIEW_NEEDED) & set(flood)
    assert len(exported_links(store, "S1", tmp_path / "all.csv", ExitCode.OK, "--include-review")) == 5_003
    run(store, "match", "--snapshot", "S1", expect=ExitCode.REVIEW_NEEDED)  # still waiting: still exit 10
    assert "verdicts of S1: 3 auto, 5,000 needs_review; review them:" in run(store, "status").output
    held = verdicts(store, "--state", "needs_review")
    assert len(held) == 5_000 and {verdict["entry"] for verdict in held} == {"flood.test"}
    run(store, "review", "confirm", held[0]["verdict_id"], "--scope", "entry", "--note", "checked the entry")
    assert set(flood) <= exported_links(store, "S1", out)
    run(store, "match", "--snapshot", "S1")  # nothing waits: exit 0


def test_a_two_reviewer_list_ignores_a_single_rejection(tmp_path):
    db = tmp_path / "db.duckdb"
    (tmp_path / "hotline.txt").write_text("bad.test\n")
    run(
        db, "ingest", "--snapshot", "S1", str(corpus(tmp_path / "c", "p", {"https://www.example.org/": PLANTED["bad"]}))
    )
    run(db, "blocklist", "add", "hotline", str(tmp_path / "hotline.txt"), "--two-reviewers")
    run(db, "match", "--snapshot", "S1")
    target = verdict_of(db, PLANTED["bad"][0])["verdict_id"]
    first = run(db, "review", "reject", target, "--reason", "list_error", "--reviewer", "ana")
    assert "takes effect when a second, different reviewer rejects it too" in first.output
    assert verdict_of(db, PLANTED["bad"][0])["state"] == "auto"
    assert exported_links(db, "S1", tmp_path / "one.csv") == set(PLANTED["bad"])
    again = run(db, "review", "reject", target, "--reason", "list_error", "--reviewer", "ana", expect=ExitCode.USAGE)
    assert "a second, different reviewer must reject it too" in again.output
    run(db, "review", "reject", target, "--reason", "list_error", "--reviewer", "bo")
    assert verdict_of(db, PLANTED["bad"][0])["state"] == "false_positive"
    assert exported_links(db, "S1", tmp_path / "two.csv") == set()
    # undoing the second reviewer's rejection brings the verdict back
    second = json.loads(run(db, "review", "log", "--json").output)[0]
    assert second["action"] == "second-reject"
    run(db, "review", "undo", str(second["audit_id"]), "--reviewer", "bo")
    assert verdict_of(db, PLANTED["bad"][0])["state"] == "auto"


def test_a_new_list_version_never_rewrites_a_reviewed_verdict(store, tmp_path):
    confirmed = verdict_of(store, PLANTED["bad"][0])
    run(store, "review", "confirm", confirmed["verdict_id"], "--reviewer", "ana")
    (tmp_path / "block.txt").write_text("other.test\n")  # both entries dropped
    run(store, "blocklist", "update", "block")
    run(store, "match", "--snapshot", "S1")
    assert verdict_of(store, PLANTED["bad"][0])["state"] == "confirmed"  # a person decided: it stays
    assert {verdict_of(store, url)["state"] for url in PLANTED["fp"]} == {"expired"}
    assert exported_links(store, "S1", tmp_path / "r.csv") == set(PLANTED["bad"])
    (tmp_path / "block.txt").write_text("fp.example.org\nbad.test\n")  # back: the same verdicts, in force again
    run(store, "blocklist", "update", "block")
    run(store, "match", "--snapshot", "S1")
    assert {verdict_of(store, url)["state"] for url in PLANTED["fp"]} == {"auto"}
    assert verdict_of(store, PLANTED["bad"][0])["verdict_id"] == confirmed["verdict_id"]


def test_show_explains_a_verdict_and_review_errors_are_one_line(store):
    target = verdict_of(store, PLANTED["bad"][0])["verdict_id"]
    shown = json.loads(run(store, "review", "show", target, "--json").output)
    assert (shown["list_name"], shown["entry"], shown["list_version"], shown["detected_via"]) == (
        "block",
        "bad.test",
        1,
        "static",
    )
    assert shown["history"] == [] and shown["rule"] is None
    text = run(store, "review", "show", target).output
    assert f"verdict_id: {target}" in text and "state: auto" in text
    unknown = run(store, "review", "show", "vnope", expect=ExitCode.USAGE)
    assert "no verdict 'vnope'" in unknown.output
    assert "no audit entry 99" in run(store, "review", "undo", "99", expect=ExitCode.USAGE).output
    past = run(store, "review", "reject", target, "--reason", "other", "--until", "2001-01-01", expect=ExitCode.USAGE)
    assert "is not in the future" in past.output
    log = run(store, "review", "confirm", target, "--reviewer", "ana")
    audit_id = log.output.split()[1].rstrip(":")
    run(store, "review", "undo", audit_id, "--reviewer", "ana")
    twice = run(store, "review", "undo", audit_id, "--reviewer", "ana", expect=ExitCode.USAGE)
    assert f"audit entry {audit_id} was already undone" in twice.output


def test_confirmed_verdicts_are_reported_once(store, tmp_path):
    """match -> review confirm -> report prepare (validated) -> filed by hand -> prepare again: nothing new."""
    target = verdict_of(store, PLANTED["bad"][0])["verdict_id"]
    ncmec = ["--profile", "ncmec-xml", "--reporter", str(FIXTURES / "reporter.toml"), "--xsd", str(XSD)]
    prepare = ["report", "prepare", "--snapshot", "S1", "--out", str(tmp_path / "out"), *ncmec, "--json"]
    assert json.loads(run(store, *prepare).output)["reports"] == 0  # nothing confirmed yet: auto is not reported
    run(store, "review", "confirm", target, "--reviewer", "ana", "--note", "checked")
    first = json.loads(run(store, *prepare).output)
    assert (first["reports"], first["amendments"]) == (1, 0)
    bundle = tmp_path / "out" / first["bundle_id"]
    document = (bundle / "0001-report.xml").read_text()
    assert PLANTED["bad"][0] in document and "fp.example.org" not in document
    run(store, "report", "filed", str(bundle), "--external-id", "CT-TEST-9")
    second = json.loads(run(store, *prepare).output)
    assert (second["reports"], second["amendments"], second["skipped"]) == (0, 0, 1)
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [first["bundle_id"]]


def test_quiet_keeps_what_was_asked_for(store):
    assert json.loads(run(store, "-q", "review", "list", "--json").output)["total"] == 3
    assert run(store, "-q", "review", "log").output == ""  # an empty log: nothing to print
    target = verdict_of(store, PLANTED["bad"][0])["verdict_id"]
    assert run(store, "-q", "review", "confirm", target).output == ""  # an action: -q silences its summary
    assert target in run(store, "review", "log", "-q").output
