"""Matching in shards on an engine: every kind of entry, a new list version, the same matches as in one
process; the shards' files are removed after."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pipelines.matching import compiled
from pipelines.matching.driver import match_snapshot
from tests.pipelines.matching.test_matching import flagged, load, match_rows, store  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(not compiled.available(), reason="the compiled kernel is not built")


@dataclass
class _Outcome:
    manifest: dict | None
    error: str | None = None


class InProcessEngine:
    """What an engine does for the match (crawler/engines runs the units in its workers), here in turn."""

    def __init__(self, workers: int) -> None:
        self.workers, self.units = workers, []

    def run(self, function, items):
        for item in items:
            self.units.append(item)
            yield _Outcome(function(item))


def test_shards_give_the_matches_of_one_process(store):  # noqa: F811 - the fixture imported above
    con, db_path, lists, _corpus = store
    engine = InProcessEngine(3)
    match_snapshot(con, "S", engine=engine)
    assert len(engine.units) == 3  # the lists share the file's URLs: one pass, in three shards
    assert "http://bad.test/" in flagged(con) and "https://hashed.example.net/secret/page.html" in flagged(con)
    # a new version of one list: its changes matched in shards too
    (lists / "domains.txt").write_text("198.51.100.23\nok.test\nnotbad.test\n")
    load(con, "doms", lists / "domains.txt", "domains", category="test-harm")
    match_snapshot(con, "S", engine=engine)
    assert "http://notbad.test/" in flagged(con) and "http://bad.test/" not in flagged(con)
    rows = match_rows(con)
    assert not list((db_path.with_name(db_path.name + ".parts") / "tmp").glob("match-*"))
    con.execute("DELETE FROM url_matches")
    con.execute("DELETE FROM matched_sources")
    con.execute("DELETE FROM match_state")
    match_snapshot(con, "S")  # the same lists, from scratch, in this process
    assert match_rows(con) == rows
