"""Ingest runs: idempotent reruns, --force, bad files recorded without stopping, kill -9 then rerun, workers."""

from __future__ import annotations

import gc
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from tqdm import tqdm

import crawler.ingest.commit
import crawler.ingest.memory
import crawler.ingest.pool
from crawler.corpus import SourceTask
from crawler.corpus.synthetic import response_record, warcinfo_record, write_warc
from crawler.ingest import MissingInput, ingest
from pipelines.matching import match_snapshot
from pipelines.store import open_store
from tests.pipelines.matching.test_matching import flagged, load

TABLES_COMPARED = {
    "sources": "source_id, snapshot, path, size, sha256, format, reader, status, records, documents, links, "
    "bad_records, error",
    "documents": "*",
    "links": "*",
    "urls": "*",
    "hosts": "*",
}


def make_corpus(folder: Path, files: int, pages: int, seed: int = 7) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for file_no in range(files):
        records = [warcinfo_record(f"part-{file_no}.warc.gz")]
        for page_no in range(pages):
            links = "".join(
                f"<a href='https://h{rng.randrange(5000)}.example.org/p/{rng.randrange(10**6)}'>l</a> "
                f"<img src='/img/{rng.randrange(1000)}.png'> filler text {'lorem ipsum ' * 20}"
                for _ in range(40)
            )
            body = f"<html><body>{links}</body></html>".encode()
            records.append(response_record(f"https://site{file_no}.test/page/{page_no}", body))
        path = folder / f"part-{file_no:02d}.warc.gz"
        write_warc(path, records, gzipped=True, level=1)
        paths.append(path)
    return paths


def table_contents(db_path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return {
            table: sorted(con.execute(f"SELECT {columns} FROM {table}").fetchall(), key=repr)
            for table, columns in TABLES_COMPARED.items()
        }
    finally:
        con.close()


def test_rerun_skips_files_already_ingested(tmp_path, db_path):
    corpus = make_corpus(tmp_path / "corpus", files=2, pages=3)
    first = ingest(db_path, "S1", corpus, workers=1, show_progress=False)
    before = table_contents(db_path)
    again = ingest(db_path, "S1", corpus, workers=1, show_progress=False)
    assert (first.files, first.skipped, again.files, again.skipped) == (2, 0, 0, 2)
    assert table_contents(db_path) == before


def test_same_content_under_another_name_is_skipped(tmp_path, db_path):
    [original] = make_corpus(tmp_path / "corpus", files=1, pages=2)
    copy = tmp_path / "elsewhere" / "renamed.warc.gz"
    copy.parent.mkdir()
    copy.write_bytes(original.read_bytes())
    ingest(db_path, "S1", [original], workers=1, show_progress=False)
    assert ingest(db_path, "S1", [copy], workers=1, show_progress=False).skipped == 1


def test_force_rereads_without_duplicating(tmp_path, db_path):
    corpus = make_corpus(tmp_path / "corpus", files=2, pages=3)
    ingest(db_path, "S1", corpus, workers=1, show_progress=False)
    before = table_contents(db_path)
    forced = ingest(db_path, "S1", corpus, workers=1, force=True, show_progress=False)
    assert forced.files == 2
    assert table_contents(db_path) == before


def test_same_file_in_two_snapshots_is_two_sources(tmp_path, db_path):
    corpus = make_corpus(tmp_path / "corpus", files=1, pages=2)
    ingest(db_path, "S1", corpus, workers=1, show_progress=False)
    ingest(db_path, "S2", corpus, workers=1, show_progress=False)
    con = duckdb.connect(str(db_path), read_only=True)
    assert con.execute("SELECT snapshot, documents FROM sources ORDER BY snapshot").fetchall() == [("S1", 2), ("S2", 2)]


@pytest.mark.parametrize("workers", [1, 2])  # with readers, a file's status is recorded after its rows and URLs
def test_bad_file_is_recorded_and_the_run_goes_on(tmp_path, db_path, workers):
    make_corpus(tmp_path / "corpus", files=2, pages=2)
    bad = tmp_path / "corpus" / "part-01b.warc.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage that is not gzip at all")
    summary = ingest(db_path, "S1", [tmp_path / "corpus"], workers=workers, show_progress=False)
    assert summary.files == 3 and summary.failed
    assert [(Path(path).name, status) for path, status, _ in summary.problems] == [("part-01b.warc.gz", "failed")]
    con = duckdb.connect(str(db_path), read_only=True)
    rows = con.execute("SELECT path, status, error, documents FROM sources ORDER BY path").fetchall()
    assert [(Path(r[0]).name, r[1], r[3]) for r in rows] == [
        ("part-00.warc.gz", "done", 2),
        ("part-01.warc.gz", "done", 2),
        ("part-01b.warc.gz", "failed", 0),
    ]
    assert "does not decompress" in rows[2][2]


def test_missing_path_is_an_error_before_anything_runs(tmp_path, db_path):
    with pytest.raises(MissingInput, match="no-such-folder: no such file or folder"):
        ingest(db_path, "S1", [tmp_path / "no-such-folder"], workers=1, show_progress=False)


def test_hidden_files_in_folders_are_ignored(tmp_path, db_path):
    make_corpus(tmp_path / "corpus", files=1, pages=1)
    (tmp_path / "corpus" / ".DS_Store").write_bytes(b"junk")
    assert ingest(db_path, "S1", [tmp_path / "corpus"], workers=1, show_progress=False).problems == []


def test_two_workers_give_the_same_tables_as_one(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", files=3, pages=4)
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    ingest(one, "S1", corpus, workers=1, show_progress=False)
    summary = ingest(two, "S1", corpus, workers=2, show_progress=False)
    assert summary.files == 3 and not summary.failed
    assert table_contents(one) == table_contents(two)


def make_overlapping_corpus(folder: Path, files: int) -> list[Path]:
    """Files whose URLs and hosts overlap their neighbours' and everyone's."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for file_no in range(files):
        shared = [
            "https://everyone.example.org/all",
            f"https://pairs.example.org/even/{file_no // 2}",
            f"https://pairs.example.org/odd/{(file_no + 1) // 2}",
            f"https://host{file_no // 2}.example.org/own/{file_no}",
        ]
        own = [f"https://f{file_no}.example.org/{n}" for n in range(30)]
        body = "".join(f"<a href='{url}'>x</a>" for url in shared + own).encode()
        path = folder / f"part-{file_no:02d}.warc.gz"
        write_warc(path, [response_record(f"https://site{file_no}.test/", body)], gzipped=True)
        paths.append(path)
    return paths


@pytest.mark.parametrize(("workers", "most_at_once"), [(1, 1), (2, 2)])
def test_files_rows_are_committed_two_at_a_time_beside_the_readers(tmp_path, monkeypatch, workers, most_at_once):
    corpus = make_overlapping_corpus(tmp_path / "corpus", files=6)
    reference = tmp_path / "reference.duckdb"
    ingest(reference, "S1", corpus, workers=1, show_progress=False)
    commit_rows = crawler.ingest.commit.commit_source_rows
    lock, running, most, threads = threading.Lock(), [0], [0], set()
    two_at_once = threading.Event()

    def slow_commit_rows(*args, **options):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            threads.add(threading.current_thread().name)
            if running[0] >= 2:
                two_at_once.set()
        try:
            if workers > 1:  # the first commit waits for a second one, however slow the machine is
                two_at_once.wait(timeout=20)
            time.sleep(0.15)  # long enough for the next files to arrive meanwhile (and make a third one possible)
            commit_rows(*args, **options)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(crawler.ingest.commit, "commit_source_rows", slow_commit_rows)
    db = tmp_path / "x.duckdb"
    summary = ingest(db, "S1", corpus, workers=workers, show_progress=False)
    assert summary.files == 6 and not summary.failed
    assert most[0] == most_at_once
    assert (threads == {threading.current_thread().name}) == (workers == 1)  # one worker: all in this thread
    assert table_contents(db) == table_contents(reference)


def children_of(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            children.append(int(stat.parent.name))
    return children


def alive(pids: list[int]) -> list[int]:
    living = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.append(pid)
    return living


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_then_rerun_gives_the_tables_of_an_uninterrupted_run(tmp_path, workers):
    corpus = make_corpus(tmp_path / "corpus", files=6, pages=150)
    reference_db, killed_db = tmp_path / "reference.duckdb", tmp_path / "killed.duckdb"
    ingest(reference_db, "S1", corpus, workers=1, show_progress=False)

    command = [
        sys.executable,
        "-m",
        "crawler.cli",
        "--db",
        str(killed_db),
        "ingest",
        "--snapshot",
        "S1",
        "--workers",
        str(workers),
        "--no-progress",
        *map(str, corpus),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[3]
    )
    # kill once the first file is committed (its staging folder removed) and the third is being read
    staging = killed_db.with_name(killed_db.name + ".staging") / "S1"
    deadline = time.monotonic() + 60
    while (
        not ((staging / "3").exists() and not (staging / "1").exists())
        and process.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.002)
    readers = children_of(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert len(readers) == (workers if workers > 1 else 0)
    # no reader process outlives the killed ingest
    deadline = time.monotonic() + 10
    while alive(readers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(readers) == []

    con = duckdb.connect(str(killed_db), read_only=True)
    statuses = [row[0] for row in con.execute("SELECT status FROM sources ORDER BY source_id").fetchall()]
    con.close()
    assert "pending" in statuses and "done" in statuses  # the kill really came mid-run

    rerun = ingest(killed_db, "S1", corpus, workers=1, show_progress=False)
    assert rerun.skipped == statuses.count("done")
    assert table_contents(killed_db) == table_contents(reference_db)


def test_identical_files_in_one_run_are_ingested_once(tmp_path, db_path):
    [original] = make_corpus(tmp_path / "corpus", files=1, pages=2)
    twin = tmp_path / "corpus" / "twin.warc.gz"
    twin.write_bytes(original.read_bytes())
    summary = ingest(db_path, "S1", [tmp_path / "corpus"], workers=2, show_progress=False)
    assert (summary.files, summary.skipped, summary.documents) == (1, 1, 2)
    con = duckdb.connect(str(db_path), read_only=True)
    assert con.execute("SELECT count(*), min(path) FROM sources").fetchone() == (1, str(original.resolve()))


class _GarbageConnection:
    """A DuckDB connection in a reference cycle: garbage that only the cycle collector frees."""

    def __init__(self) -> None:
        self.me = self
        self.connection = duckdb.connect()
        self.connection.execute("CREATE TABLE t AS SELECT range AS i FROM range(100000)")


def test_forked_readers_leave_the_callers_garbage_alone(tmp_path, monkeypatch):
    """Readers are forked from the caller. Garbage DuckDB connections it left behind (a library user's, an
    earlier test's) must not be finalized in a reader: DuckDB's destructor joins threads that only exist in
    the parent, and the reader died of a segfault."""
    sample = Path(__file__).resolve().parents[3] / "data" / "sample" / "corpus"
    started = crawler.ingest.pool._init_worker

    def start_and_collect(*args):  # what any allocation in the reader may trigger, made certain
        started(*args)
        gc.enable()
        gc.collect()

    monkeypatch.setattr(crawler.ingest.pool, "_init_worker", start_and_collect)
    gc.collect()
    gc.disable()  # the garbage stays uncollected until the readers are forked and inherit it
    try:
        for _ in range(5):
            _GarbageConnection()
        summary = ingest(tmp_path / "x.duckdb", "S", [sample], workers=2, show_progress=False)
    finally:
        gc.enable()
    assert summary.files == len(list(sample.iterdir())) and summary.problems == [] and summary.links > 0
    gc.collect()


def test_progress_bar_counts_every_byte_and_problems_are_printed_either_way(tmp_path, capsys):
    make_corpus(tmp_path / "corpus", files=2, pages=3)
    (tmp_path / "corpus" / "broken.warc").write_bytes(b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 9\r\n\r\nab")
    total = sum(path.stat().st_size for path in (tmp_path / "corpus").iterdir())
    ingest(tmp_path / "shown.duckdb", "S", [tmp_path / "corpus"], workers=1, show_progress=True)
    shown = capsys.readouterr().err
    done = tqdm.format_sizeof(total)
    assert f"100%|██████████| {done}/{done}" in shown and "broken.warc: partial" in shown
    ingest(tmp_path / "silent.duckdb", "S", [tmp_path / "corpus"], workers=1, show_progress=False)
    silent = capsys.readouterr().err
    assert "100%" not in silent and "broken.warc: partial" in silent


class _BusyCounter:
    """The readers' shared byte counter as the parent sees it while they work: bigger at every read."""

    def __init__(self) -> None:
        self.reads = 0

    @property
    def value(self) -> int:
        self.reads += 1
        return 100 * self.reads


class _Bar:
    def __init__(self) -> None:
        self.n = 0

    def update(self, n: float = 1) -> None:
        self.n += n


def test_the_pool_passes_on_every_byte_its_readers_count_however_they_interleave(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    pool = crawler.ingest.pool.ReaderPool.__new__(crawler.ingest.pool.ReaderPool)
    # the files are missing: each read fails at once and counts no bytes, so only the busy counter moves
    pool.counter, pool.executor = _BusyCounter(), ThreadPoolExecutor(1)
    tasks = [SourceTask(i, "S", str(tmp_path / f"missing-{i}"), str(tmp_path / str(i)), None) for i in (1, 2)]
    bar = _Bar()
    try:
        results = list(pool.results(tasks, bar))
    finally:
        pool.executor.shutdown()
    assert [result.source_id for result in results] == [1, 2]
    assert pool.counter.reads >= 3 and bar.n == 100 * pool.counter.reads  # the last value the pool read


class _KilledBetweenUrlsAndRows(Exception):
    """Stands for a kill -9 after a source's URLs were committed and before its rows were."""


def _killed_at_source_3(killed_db: Path, corpus: list[Path], workers: int) -> tuple[list, int, int]:
    """An ingest that a patched commit step stops with _KilledBetweenUrlsAndRows at source 3: the sources' status,
    and the URLs and documents source 3 left recorded."""
    with pytest.raises(_KilledBetweenUrlsAndRows):
        ingest(killed_db, "S1", corpus, workers=workers, show_progress=False)
    con = duckdb.connect(str(killed_db), read_only=True)
    try:
        statuses = con.execute("SELECT source_id, status FROM sources ORDER BY source_id").fetchall()
        recorded_by_3 = con.execute("SELECT count(*) FROM urls WHERE first_source = 3").fetchone()[0]
        documents_of_3 = con.execute("SELECT count(*) FROM documents WHERE source_id = 3").fetchone()[0]
    finally:
        con.close()
    return statuses, recorded_by_3, documents_of_3


def test_kill_between_a_files_urls_and_its_rows_then_rerun_gives_the_tables_of_an_uninterrupted_run(
    tmp_path, monkeypatch
):
    corpus = make_corpus(tmp_path / "corpus", files=4, pages=20)
    reference_db, killed_db = tmp_path / "reference.duckdb", tmp_path / "killed.duckdb"
    ingest(reference_db, "S1", corpus, workers=1, show_progress=False)

    commit_rows = crawler.ingest.commit.commit_source_rows

    def killed_at_source_3(con, source_id, staged, outcome):
        if source_id == 3:
            raise _KilledBetweenUrlsAndRows
        commit_rows(con, source_id, staged, outcome)

    monkeypatch.setattr(crawler.ingest.commit, "commit_source_rows", killed_at_source_3)
    statuses, recorded_by_3, documents_of_3 = _killed_at_source_3(killed_db, corpus, workers=1)
    monkeypatch.undo()
    assert statuses == [(1, "done"), (2, "done"), (3, "pending"), (4, "pending")]
    assert recorded_by_3 > 0 and documents_of_3 == 0

    rerun = ingest(killed_db, "S1", corpus, workers=1, show_progress=False)
    assert (rerun.skipped, rerun.files) == (2, 2)
    assert table_contents(killed_db) == table_contents(reference_db)


def test_kill_after_a_files_rows_before_its_urls_then_rerun_gives_the_tables_of_an_uninterrupted_run(
    tmp_path, monkeypatch
):
    """With reader processes, a file's rows are committed beside its URLs: killed after the rows, the file is
    still pending (never done without its URLs), and the rerun records them as an uninterrupted run does."""
    corpus = make_corpus(tmp_path / "corpus", files=4, pages=20)
    reference_db, killed_db = tmp_path / "reference.duckdb", tmp_path / "killed.duckdb"
    ingest(reference_db, "S1", corpus, workers=1, show_progress=False)

    commit_rows, record_urls = crawler.ingest.commit.commit_source_rows, crawler.ingest.commit.record_new_urls
    rows_of_3 = threading.Event()

    def commit_rows_and_tell(con, source_id, staged, outcome, **options):
        commit_rows(con, source_id, staged, outcome, **options)
        if source_id == 3:
            rows_of_3.set()

    def killed_before_the_urls_of_3(con, source_id, staged):
        if source_id == 3:
            assert rows_of_3.wait(30)
            raise _KilledBetweenUrlsAndRows
        record_urls(con, source_id, staged)

    monkeypatch.setattr(crawler.ingest.commit, "commit_source_rows", commit_rows_and_tell)
    monkeypatch.setattr(crawler.ingest.commit, "record_new_urls", killed_before_the_urls_of_3)
    statuses, recorded_by_3, documents_of_3 = _killed_at_source_3(killed_db, corpus, workers=2)
    monkeypatch.undo()
    # file 2's status is recorded once its rows are seen committed, which the kill may have come before
    assert statuses[0] == (1, "done") and statuses[1][1] in ("done", "pending")
    assert statuses[2:] == [(3, "pending"), (4, "pending")] and (recorded_by_3, documents_of_3) == (0, 20)

    rerun = ingest(killed_db, "S1", corpus, workers=1, show_progress=False)
    done = [status for _source, status in statuses].count("done")
    assert (rerun.skipped, rerun.files) == (done, 4 - done)
    assert table_contents(killed_db) == table_contents(reference_db)


def test_urls_recorded_without_a_key_are_not_recorded_again(tmp_path, db_path):
    """Rows another tool added to `urls` without url_key are compared by their URL string."""
    corpus = make_overlapping_corpus(tmp_path / "corpus", files=2)
    con = open_store(db_path)
    con.execute("INSERT INTO urls (url, host) VALUES ('https://everyone.example.org/all', 'everyone.example.org')")
    con.close()
    ingest(db_path, "S1", corpus, workers=1, show_progress=False)
    con = duckdb.connect(str(db_path), read_only=True)
    counts = dict(con.execute("SELECT url, count(*) FROM urls GROUP BY url").fetchall())
    keyless = con.execute("SELECT url FROM urls WHERE url_key IS NULL").fetchall()
    con.close()
    assert set(counts.values()) == {1} and "https://everyone.example.org/all" in counts
    assert keyless == [("https://everyone.example.org/all",)] and len(counts) == 68


def test_a_store_held_elsewhere_fails_the_parallel_ingest_without_leaving_readers_or_hashers(tmp_path, monkeypatch):
    import multiprocessing

    from pipelines.store import StoreLocked

    corpus = make_corpus(tmp_path / "corpus", files=3, pages=2)
    db_path = tmp_path / "held.duckdb"
    open_store(db_path).close()
    monkeypatch.setenv("LINKSWEEP_LOCK_WAIT", "0.3")  # held for longer than the wait for the store
    hold = f"import duckdb, time; c = duckdb.connect({str(db_path)!r}); print('ready'); time.sleep(60)"
    holder = subprocess.Popen(
        [sys.executable, "-c", hold],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        # the traceback kept in `raised` holds ingest's frame: what ingest did not shut down is still there
        with pytest.raises(StoreLocked) as raised:
            ingest(db_path, "S1", corpus, workers=2, show_progress=False)
    finally:
        holder.kill()
        holder.wait()
    assert "in use by another process" in str(raised.value)
    assert multiprocessing.active_children() == []  # the reader pool was shut down
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("sha256")]


def test_a_hostile_page_is_ingested_with_its_links_and_a_warning_on_its_file(tmp_path, db_path):
    pytest.importorskip("crawler.corpus._fastlinks", reason="the C extension is not built")
    # 40,000 nested custom elements closed by end tags that match none: building the tree is quadratic (in
    # lexbor too); the links come from the tokenizer alone and the file says so
    hostile = (
        b"<html><body><a href='https://first.test/'>f</a>"
        + b"<x-a>" * 40_000
        + b"</x-b>" * 40_000
        + b"<img src='/deep.png'><a href='https://last.test/'>l</a>"
    )
    path = tmp_path / "hostile.warc.gz"
    write_warc(
        path,
        [
            warcinfo_record("hostile.warc.gz"),
            response_record("https://h.test/hostile", hostile),
            response_record("https://h.test/plain", b"<a href='https://plain.test/'>p</a>"),
        ],
        gzipped=True,
    )
    summary = ingest(db_path, "S1", [path], workers=1, show_progress=False)
    assert not summary.failed and summary.documents == 2
    con = duckdb.connect(str(db_path), read_only=True)
    links = con.execute(
        "SELECT d.target_uri, l.url FROM links l JOIN documents d USING (doc_id) ORDER BY 1, 2"
    ).fetchall()
    assert links == [
        ("https://h.test/hostile", "https://first.test/"),
        ("https://h.test/hostile", "https://h.test/deep.png"),
        ("https://h.test/hostile", "https://last.test/"),
        ("https://h.test/plain", "https://plain.test/"),
    ]
    status, bad_records, notes = con.execute("SELECT status, bad_records, bad_record_errors FROM sources").fetchone()
    assert status == "done" and bad_records == 0
    assert len(notes) == 1 and notes[0].startswith("warning: record 1 at offset ")
    assert "nests too deep to build its tree: links of every element the tokenizer met" in notes[0]


@pytest.mark.parametrize("workers", [1, 2])
def test_arrow_buffers_of_an_ingest_come_from_malloc_and_the_callers_pool_is_restored(tmp_path, monkeypatch, workers):
    """Arrow's default pool (mimalloc) backs its arenas with huge pages the kernel zeroes on first touch: an
    ingest's readers, in this process or forked, allocate from malloc instead, and the caller gets its pool back."""
    import pyarrow as pa

    sample = Path(__file__).resolve().parents[3] / "data" / "sample" / "corpus"
    read = crawler.ingest.pool.read_source

    def read_and_tell_the_pool(task, on_progress=None):
        result = read(task, on_progress)
        result.note_warning(f"pool: {pa.default_memory_pool().backend_name}")  # recorded with the file
        return result

    monkeypatch.setattr(crawler.ingest.pool, "read_source", read_and_tell_the_pool)
    callers_pool = pa.default_memory_pool()
    summary = ingest(tmp_path / "x.duckdb", "S", [sample], workers=workers, show_progress=False)
    assert summary.files > 1 and summary.problems == []
    con = duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True)
    try:
        pools = con.execute("SELECT list(DISTINCT bad_record_errors[-1]) FROM sources").fetchone()[0]
    finally:
        con.close()
    assert pools == ["warning: pool: system"]
    assert pa.default_memory_pool().backend_name == callers_pool.backend_name != "system"


def test_an_ingest_keeps_freed_memory_and_restores_glibc_defaults_after(tmp_path, monkeypatch):
    """While an ingest runs, glibc keeps the heap a file's reading frees for the next file (instead of trimming
    it and faulting it in again); afterwards its default thresholds are back and the kept memory handed back,
    also when the ingest fails."""
    calls = []

    class RecordingLibc:
        def mallopt(self, parameter, value):
            calls.append(("mallopt", parameter, value))
            return 1

        def malloc_trim(self, pad):
            calls.append(("malloc_trim", pad))
            return 1

    monkeypatch.setattr(crawler.ingest.memory, "_glibc", RecordingLibc)
    during = []
    read = crawler.ingest.pool.read_source

    def read_and_look(task, on_progress=None):
        during.append(list(calls))
        return read(task, on_progress)

    monkeypatch.setattr(crawler.ingest.pool, "read_source", read_and_look)
    sample = Path(__file__).resolve().parents[3] / "data" / "sample" / "corpus"
    kept = [("mallopt", -3, 32 * 1024 * 1024), ("mallopt", -1, 512 * 1024 * 1024)]
    restored = [("mallopt", -3, 128 * 1024), ("mallopt", -1, 128 * 1024), ("malloc_trim", 0)]
    assert ingest(tmp_path / "x.duckdb", "S", [sample], workers=1, show_progress=False).problems == []
    assert during and all(seen == kept for seen in during)
    assert calls == kept + restored
    calls.clear()
    with pytest.raises(MissingInput):
        ingest(tmp_path / "x.duckdb", "S", [tmp_path / "absent.warc.gz"], workers=1, show_progress=False)
    assert calls == kept + restored


def test_an_ingest_imports_neither_pyarrow_compute_nor_lexbor(tmp_path):
    """pyarrow.compute's import costs every ingest ~0.05 s (pipelines/arrow/kernels.py calls the kernels by name):
    nothing on the ingest path may bring it back, not even an Array method that imports it on first use.
    selectolax's lexbor is imported only for the pages the compiled scanner leaves to it (none in the sample)."""
    sample = Path(__file__).resolve().parents[3] / "data" / "sample" / "corpus"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from crawler.ingest import ingest\n"
        f"summary = ingest(Path({str(tmp_path / 'x.duckdb')!r}), 'S', [{str(sample)!r}], workers=1,"
        " show_progress=False)\n"
        "assert summary.links > 0 and not summary.problems, summary.line()\n"
        "print(sorted(name for name in ('pyarrow.compute', 'selectolax.lexbor') if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_pending_files_recorded_urls_are_matched_for_the_files_that_link_to_them(tmp_path, monkeypatch, match_kernel):
    """A parallel ingest records each file's URLs before its rows, and commits files' rows concurrently: killed
    at the wrong moment, file 3's rows are in but not file 2's, while the URL both link to was first recorded
    by file 2. Matching must still flag file 3's link."""
    import crawler.ingest.commit

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number, links in ((1, ["https://fine.example.org/"]), (2, ["http://bad.test/x"]), (3, ["http://bad.test/x"])):
        html = "".join(f"<a href='{url}'>x</a>" for url in links).encode()
        write_warc(
            corpus / f"c{number}.warc.gz", [response_record(f"https://p{number}.example.org/", html)], gzipped=True
        )
    commit_rows = crawler.ingest.commit.commit_source_rows

    def rows_of_2_never_committed(con, source_id, staged, outcome):
        if source_id != 2:
            commit_rows(con, source_id, staged, outcome)

    monkeypatch.setattr(crawler.ingest.commit, "commit_source_rows", rows_of_2_never_committed)
    db_path = tmp_path / "db.duckdb"
    ingest(db_path, "S", [corpus], workers=1, show_progress=False)
    monkeypatch.undo()
    (tmp_path / "domains.txt").write_text("bad.test\n")
    con = open_store(db_path)
    assert con.execute("SELECT source_id, status FROM sources ORDER BY 1").fetchall() == [
        (1, "done"),
        (2, "pending"),
        (3, "done"),
    ]
    assert con.execute("SELECT first_source FROM urls WHERE url = 'http://bad.test/x'").fetchall() == [(2,)]
    load(con, "doms", tmp_path / "domains.txt", "domains")
    summary = match_snapshot(con, "S")
    assert flagged(con) == {"http://bad.test/x"} and summary.links_flagged == 1
    con.close()
    ingest(db_path, "S", [corpus], workers=1, show_progress=False)  # the rerun commits file 2's rows
    con = open_store(db_path)
    assert match_snapshot(con, "S").links_flagged == 2
    con.close()
