"""Every third-party WARC/ARC/WAT file ingests or is reported with a clear error; FastWARC and warcio agree."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from crawler.corpus.source_reader import SourceTask, read_source
from crawler.ingest import ingest

REALDATA = Path(__file__).resolve().parents[4] / "shared" / "realdata"
ARCHIVES = (
    sorted(
        path
        for folder in ("warc", "commoncrawl")
        for path in (REALDATA / folder).rglob("*")
        if path.is_file() and path.name != "SOURCE.txt"
    )
    if REALDATA.is_dir()
    else []
)


def _read(path: Path, tmp_path: Path, readers: tuple[str, ...] | None = None):
    return read_source(SourceTask(1, "R", str(path), str(tmp_path / "staging"), readers=readers))


@pytest.mark.parametrize("path", ARCHIVES, ids=lambda p: str(p.relative_to(REALDATA)))
def test_each_file_ingests_or_reports_a_clear_error(path, tmp_path):
    result = _read(path, tmp_path)
    assert result.status in ("done", "partial", "failed")
    if result.status == "done":
        assert result.error is None and result.records > 0
    else:
        assert result.error and len(result.error) > 10  # says what went wrong, not just a class name


@pytest.mark.parametrize("path", ARCHIVES, ids=lambda p: str(p.relative_to(REALDATA)))
def test_fastwarc_and_warcio_agree_where_both_read_the_file(path, tmp_path):
    fast = _read(path, tmp_path / "fast", readers=("fastwarc",))
    slow = _read(path, tmp_path / "slow", readers=("warcio",))
    if fast.status != "done" or slow.status != "done":
        pytest.skip(f"not read through by both (fastwarc: {fast.status}, warcio: {slow.status})")
    assert (fast.records, fast.documents, fast.links) == (slow.records, slow.documents, slow.links)


def test_whole_folder_ingest_never_crashes_and_records_every_file(realdata, db_path):
    summary = ingest(db_path, "real", [realdata / "warc", realdata / "commoncrawl"], workers=2, show_progress=False)
    con = duckdb.connect(str(db_path), read_only=True)
    statuses = dict(con.execute("SELECT status, count(*) FROM sources GROUP BY status").fetchall())
    every_file = [p for folder in ("warc", "commoncrawl") for p in (realdata / folder).rglob("*") if p.is_file()]
    # the SOURCE.txt files that say where each folder came from are skipped as no corpus files, not failed
    assert {Path(path).name for path, _reason in summary.not_corpus} == {"SOURCE.txt"}
    assert sum(statuses.values()) == summary.files == len(every_file) - len(summary.not_corpus)
    assert statuses.get("pending", 0) == 0
    # the files every reader handles are all read through
    done = {Path(p).name for (p,) in con.execute("SELECT path FROM sources WHERE status = 'done'").fetchall()}
    assert {
        "IAH-20080430204825-00000-blackbook.warc.gz",
        "IAH-20080430204825-00000-blackbook.arc.gz",
        "cc.warc.gz",
        "whirlwind.warc.wat.gz",
        "clueweb-quirk.warc.gz",
        "example-collection-with-lists.warc",
    } <= done
    links = con.execute("SELECT count(*) FROM links").fetchone()[0]
    assert links == summary.links > 100_000
