"""Verdicts in the library: stable ids, flood thresholds with a history, the rule that decides a state (the
latest active one), lapsing rules, and the audit log that is only ever appended to."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crawler.corpus.synthetic import response_record, write_warc
from crawler.ingest import ingest
from pipelines.lists import add_list
from pipelines.matching import match_snapshot
from pipelines.store import open_store, store_time
from pipelines.verdicts import (
    VERDICT_ID_SQL,
    FloodPolicy,
    apply_rules,
    confirm,
    list_verdicts,
    refresh_verdicts,
    reject,
    verdict_id,
)


def build(folder, links: list[str], entries: str, snapshot: str = "S"):
    corpus = folder / f"{snapshot}.warc.gz"
    page = "".join(f"<a href='{link}'>x</a>" for link in links).encode()
    write_warc(corpus, [response_record(f"https://www.example.org/{snapshot}", page)], gzipped=True)
    db = folder / "db.duckdb"
    ingest(db, snapshot, [corpus], workers=1, show_progress=False)
    (folder / "list.txt").write_text(entries)
    add_list(db, "block", str(folder / "list.txt"))
    return db


def states(con) -> dict[str, str]:
    return {row["url"]: row["state"] for row in list_verdicts(con, limit=10_000).rows}


def test_the_id_is_the_documented_hash_of_the_identity(tmp_path):
    db = build(tmp_path, ["http://a.test/1"], "a.test\n")
    with open_store(db) as con:
        match_snapshot(con, "S")
        row = con.execute(
            f"SELECT verdict_id, {VERDICT_ID_SQL}, snapshot, url, list_name, entry_kind, entry, detected_via"
            " FROM verdicts"
        ).fetchall()
        assert len(row) == 1
        stored, in_sql, *identity = row[0]
        assert stored == in_sql == verdict_id(*identity)
        assert stored == verdict_id("S", "http://a.test/1", "block", "domain", "a.test", "static")
        con.execute("DELETE FROM verdicts")  # derived again from the same inputs: the same id
        refresh_verdicts(con, "S")
        assert con.execute("SELECT verdict_id FROM verdicts").fetchall() == [(stored,)]


def test_an_entry_with_a_history_floods_past_its_factor(tmp_path):
    links = [f"http://a.test/{number}" for number in range(25)]
    db = build(tmp_path, links[:3], "a.test\n")
    policy = FloodPolicy(urls=5, factor=2)
    with open_store(db) as con:
        first = match_snapshot(con, "S", policy).verdicts
        assert first.floods == () and first.states == {"auto": 3}
    db = build(tmp_path, links[3:5], "a.test\n", snapshot="T")  # 5 URLs now: not over max(5, 2 x 3)
    with open_store(db) as con:
        assert match_snapshot(con, "T", policy).verdicts.floods == ()
    db = build(tmp_path, links[5:], "a.test\n", snapshot="U")  # 25 URLs: over max(5, 2 x 5)
    with open_store(db) as con:
        summary = match_snapshot(con, "U", policy).verdicts
        [flood] = summary.floods
        assert (flood.entry, flood.urls, flood.previous, flood.threshold, flood.held) == ("a.test", 25, 5, 10, 20)
        assert summary.states == {"needs_review": 20}
        assert "a.test' flags 25 URLs (it flagged 5 before; threshold 10): its 20 new verdicts wait" in flood.line()
        counts = con.execute("SELECT urls FROM entry_counts ORDER BY counted_at, urls").fetchall()
        assert [count for (count,) in counts] == [3, 5, 25]


def test_the_latest_active_rule_decides_and_a_lapsed_rule_stops_counting(tmp_path):
    db = build(tmp_path, ["http://a.test/1", "http://a.test/2"], "a.test\n")
    with open_store(db) as con:
        match_snapshot(con, "S")
        ids = {row["url"]: row["verdict_id"] for row in list_verdicts(con).rows}
        until = store_time() + timedelta(days=1)
        reject(con, [ids["http://a.test/1"]], reviewer="ana", reason="other", scope="host", until=until)
        assert states(con) == {"http://a.test/1": "false_positive", "http://a.test/2": "suppressed"}
        confirm(con, [ids["http://a.test/2"]], reviewer="bo")  # later, narrower: wins for its verdict
        assert states(con) == {"http://a.test/1": "false_positive", "http://a.test/2": "confirmed"}
        con.execute("UPDATE review_rules SET until = ? WHERE decision = 'reject'", [until - timedelta(days=2)])
        apply_rules(con)
        assert states(con) == {"http://a.test/1": "auto", "http://a.test/2": "confirmed"}


def test_the_audit_log_is_only_appended_to(tmp_path):
    db = build(tmp_path, ["http://a.test/1"], "a.test\n")
    with open_store(db) as con:
        match_snapshot(con, "S")
        [row] = list_verdicts(con).rows
        confirm(con, [row["verdict_id"]], reviewer="ana", note="seen")
        before = con.execute("SELECT * FROM audit_log ORDER BY audit_id").fetchall()
        reject(con, [row["verdict_id"]], reviewer="bo", reason="benign_context")
        after = con.execute("SELECT * FROM audit_log ORDER BY audit_id").fetchall()
        assert after[: len(before)] == before and len(after) == len(before) + 1
        assert after[-1][2:4] == ("bo", "reject")


def test_bad_review_input_is_refused(tmp_path):
    from pipelines.verdicts import ReviewRefused, UnknownVerdict

    db = build(tmp_path, ["http://a.test/1"], "a.test\n")
    with open_store(db) as con:
        match_snapshot(con, "S")
        [row] = list_verdicts(con).rows
        with pytest.raises(ReviewRefused, match="unknown reason 'nope'"):
            reject(con, [row["verdict_id"]], reviewer="ana", reason="nope")
        with pytest.raises(ReviewRefused, match="a confirmation covers a verdict or its entry, not a host"):
            confirm(con, [row["verdict_id"]], reviewer="ana", scope="host")
        with pytest.raises(UnknownVerdict, match="no verdict 'vmissing'"):
            confirm(con, [row["verdict_id"], "vmissing"], reviewer="ana")
        assert con.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 0  # nothing half done


def test_a_rerun_with_nothing_new_derives_nothing_and_a_new_version_is_seen(tmp_path):
    db = build(tmp_path, ["http://a.test/1"], "a.test\n")
    with open_store(db) as con:
        match_snapshot(con, "S")
        stamp = con.execute("SELECT refreshed_at, inputs FROM verdict_refreshes").fetchall()
        assert match_snapshot(con, "S").verdicts.states == {"auto": 1}
        assert con.execute("SELECT refreshed_at, inputs FROM verdict_refreshes").fetchall() == stamp  # skipped
    (tmp_path / "list.txt").write_text("# the same entry, a new version\na.test\n")
    add_list(db, "block", str(tmp_path / "list.txt"))
    with open_store(db) as con:
        match_snapshot(con, "S")  # the same counts, other versions: derived again
        assert con.execute("SELECT list_version, in_force, state FROM verdicts").fetchall() == [(2, True, "auto")]
