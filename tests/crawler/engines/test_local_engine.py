"""The local engine: forked workers and the caller's garbage, the progress its workers count."""

from __future__ import annotations

import gc
from pathlib import Path

import duckdb
import pytest

import crawler.engines.local
from crawler.engines import TransientUnitError
from crawler.engines.local import LocalEngine
from crawler.ingest import ingest


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
    started = crawler.engines.local._init_worker

    def start_and_collect(*args):  # what any allocation in the reader may trigger, made certain
        started(*args)
        gc.enable()
        gc.collect()

    monkeypatch.setattr(crawler.engines.local, "_init_worker", start_and_collect)
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


def _nothing(item: int) -> dict:
    return {"item": item}


def test_the_pool_passes_on_every_byte_its_workers_count_however_they_interleave():
    from concurrent.futures import ThreadPoolExecutor

    engine = LocalEngine.__new__(LocalEngine)
    # the units count no bytes: only the busy counter moves
    engine.counter, engine.counted_before, engine.executor = _BusyCounter(), 0, ThreadPoolExecutor(1)
    engine.fresh_process, engine.workers, engine.preforked = False, 1, None
    bar = _Bar()
    try:
        outcomes = list(engine.run(_nothing, [1, 2], on_progress=bar.update))
    finally:
        engine.executor.shutdown()
    assert sorted(outcome.manifest["item"] for outcome in outcomes) == [1, 2]
    assert engine.counter.reads >= 2 and bar.n == 100 * engine.counter.reads  # the last value the pool read


def _fails_until(item: tuple[str, int]) -> dict:
    """A unit that raises TransientUnitError until it has been tried `times` times (counted in a folder)."""
    folder, times = Path(item[0]), item[1]
    (folder / f"attempt-{len(list(folder.iterdir()))}").touch()
    tried = len(list(folder.iterdir()))
    if tried < times:
        raise TransientUnitError(f"try {tried} failed")
    return {"tried": tried}


def _broken(item: int) -> dict:
    raise ValueError(f"bad input {item}")


def _dies(folder: str) -> dict:
    """A unit whose worker dies (SIGKILL) the first time it runs it."""
    import os
    import signal

    marker = Path(folder) / "died-once"
    if not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return {"pid": os.getpid()}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_transient_error_is_retried_and_a_bad_input_is_not(tmp_path, workers):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    with LocalEngine(workers) as engine:
        outcomes = {o.index: o for o in engine.run(_fails_until, [(str(tmp_path / "a"), 2), (str(tmp_path / "b"), 9)])}
        assert outcomes[0].manifest == {"tried": 2} and outcomes[0].attempts == 2
        assert outcomes[1].manifest is None and outcomes[1].attempts == 3  # DEFAULT_RETRIES 2: three tries in all
        assert "try 3 failed (tried 3 times)" in outcomes[1].error
        [broken] = list(engine.run(_broken, [7]))
    assert broken.manifest is None and broken.attempts == 1 and broken.error == "ValueError: bad input 7"


def test_a_unit_whose_worker_died_runs_again_in_a_new_worker(tmp_path):
    with LocalEngine(2) as engine:
        [outcome] = list(engine.run(_dies, [str(tmp_path)]))
    assert outcome.error is None and outcome.attempts == 2 and (tmp_path / "died-once").exists()


def _pid_and_modules(item: int) -> dict:
    import os
    import sys

    return {"item": item, "pid": os.getpid(), "scrapy": "scrapy" in sys.modules}


def _dies_in_a_preforked_process(folder: str) -> dict:
    """Dies (SIGKILL) the first time, in whichever process runs it."""
    return _dies(folder)


def check_preforked_processes(folder: str) -> None:
    """Forked at construction, with what this process imported (scrapy here), one unit each; a third unit and
    a retry after a SIGKILL go to spawned processes. Run in a process of its own: forking needs a process
    with no other thread, which a test worker may not be."""
    import os
    import sys

    import scrapy  # noqa: F401 - imported here, so the forked processes have it

    with LocalEngine(2, fresh_process=True, prefork=True) as engine:
        forked = {process.pid for _connection, process in engine.preforked.idle}
        outcomes = sorted(engine.run(_pid_and_modules, [1, 2, 3]), key=lambda outcome: outcome.index)
    pids = [outcome.manifest["pid"] for outcome in outcomes]
    assert [outcome.manifest["item"] for outcome in outcomes] == [1, 2, 3]
    assert set(pids[:2]) == forked and pids[2] not in forked and os.getpid() not in pids
    assert len(set(pids)) == 3  # a process of its own each
    assert "scrapy" in sys.modules and outcomes[0].manifest["scrapy"]
    with LocalEngine(2, fresh_process=True, prefork=True) as engine:
        [outcome] = list(engine.run(_dies_in_a_preforked_process, [folder]))
    assert outcome.error is None and outcome.attempts == 2 and (Path(folder) / "died-once").exists()


def test_preforked_processes_run_one_unit_each_and_spawned_ones_the_rest(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    check = f"from tests.crawler.engines.test_local_engine import check_preforked_processes as c; c({str(tmp_path)!r})"
    done = subprocess.run([sys.executable, "-c", check], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_no_process_is_forked_beside_another_thread():
    """A thread's locks would stay held forever in a forked child: with another thread running, the engine
    forks nothing and its units run in spawned processes."""
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with LocalEngine(2, fresh_process=True, prefork=True) as engine:
            assert engine.preforked is None
            outcomes = list(engine.run(_pid_and_modules, [1, 2]))
    finally:
        stop.set()
        other.join()
    assert sorted(outcome.manifest["item"] for outcome in outcomes) == [1, 2]
