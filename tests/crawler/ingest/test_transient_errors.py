"""Fault injection: a file that cannot be read the first time (a flaky shared filesystem) is a transient error,
retried by the engine; a malformed one is recorded once. Reaches inside crawler.corpus to fake the read error
(exempted in tests/test_architecture.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from crawler.ingest import ingest


def test_an_unopenable_file_is_retried_and_a_malformed_one_is_recorded_once(tmp_path, monkeypatch):
    """A file that cannot be read (a flaky shared filesystem) is a transient error: its unit runs again. A file
    that reads but is no corpus is a failed source on the first try."""
    import crawler.corpus.source_reader as source_reader

    sample = Path(__file__).resolve().parents[3] / "data" / "sample" / "corpus" / "SAMPLE-00001.warc"
    garbage = tmp_path / "garbage.warc"
    garbage.write_bytes(bytes(range(256)) * 4)  # no format the readers know
    sniff, calls = source_reader.sniff, []

    def flaky_sniff(path):
        calls.append(path)
        if Path(path).name == sample.name and calls.count(path) == 1:
            raise OSError(5, "Input/output error", path)
        return sniff(path)

    monkeypatch.setattr(source_reader, "sniff", flaky_sniff)
    db = tmp_path / "s.duckdb"
    summary = ingest(db, "S", [sample, garbage], workers=1, show_progress=False)
    con = duckdb.connect(str(db), read_only=True)
    rows = dict(con.execute("SELECT path, (status, attempts) FROM sources").fetchall())
    con.close()
    assert rows[str(sample)] == ("done", 2) and rows[str(garbage)][1] == 1
    assert rows[str(garbage)][0] in ("failed", "partial") and len(summary.problems) == 1
