"""Ingest with reader processes: rows committed beside the readers, forked readers and the caller's garbage,
the progress they count, a store held elsewhere."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

import crawler.ingest.commit
import crawler.ingest.pool
from crawler.corpus import SourceTask
from crawler.ingest import ingest
from pipelines.store import open_store
from tests.crawler.ingest.corpora import make_corpus, make_overlapping_corpus, table_contents


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
