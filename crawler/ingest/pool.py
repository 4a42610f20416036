"""The reader processes of a parallel ingest, and the bytes they have read, for the progress bar."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from crawler.corpus import SourceResult, SourceTask, read_source
from crawler.ingest.progress import ProgressBar

# Worker side: the bytes-read counter shared with the parent for the progress bar.
_bytes_counter = None


def _init_worker(counter, parent_pid: int) -> None:  # pragma: no cover - runs in child processes
    global _bytes_counter
    _bytes_counter = counter
    _exit_with_parent(parent_pid)


def _exit_with_parent(parent_pid: int) -> None:  # pragma: no cover - runs in child processes
    """A reader must not outlive an ingest killed with -9: forked workers share the queue's pipes with
    each other, so they would never see it close, and wait forever."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # Linux PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:  # everywhere else (and as a second guard): poll the parent
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _count_bytes(delta: int) -> None:  # pragma: no cover - runs in child processes
    with _bytes_counter.get_lock():
        _bytes_counter.value += delta


def _read_in_worker(task: SourceTask) -> SourceResult:  # pragma: no cover - runs in child processes
    return read_source(task, _count_bytes)


def _warm_up() -> None:  # pragma: no cover - runs in child processes
    """Nothing: submitted once per worker so that every process exists before the parent opens DuckDB."""


class ReaderPool:
    """Worker processes reading files. They are forked before this process opens DuckDB or starts any
    thread, so they start in milliseconds with every module imported and hold no database state; where
    fork is unavailable they are spawned."""

    def __init__(self, workers: int) -> None:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.counter = context.Value("q", 0)
        self.executor = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(self.counter, os.getpid())
        )
        # A forked worker must never finalize objects it inherited: a garbage DuckDB connection of the caller
        # (a library user's, a test's), destroyed in the child, touches threads that only exist in the parent
        # and crashes it. Frozen objects are never collected in the child; the parent unfreezes its own.
        gc.freeze()
        try:
            for future in [self.executor.submit(_warm_up) for _ in range(workers)]:
                future.result()
        finally:
            gc.unfreeze()

    def results(self, tasks: list[SourceTask], bar: ProgressBar) -> Iterator[SourceResult]:
        """Results in task order (files are read in parallel, committed in order: see `ingest`)."""
        reported = 0

        def report_progress() -> None:
            nonlocal reported
            # one read of the counter: readers add to it between any two reads, and those bytes would be lost
            read_so_far = self.counter.value
            bar.update(read_so_far - reported)
            reported = read_so_far

        futures = [self.executor.submit(_read_in_worker, task) for task in tasks]
        pending: set[Future] = set(futures)
        next_index = 0
        while next_index < len(futures):
            if pending:
                _done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            report_progress()
            while next_index < len(futures) and futures[next_index].done():
                result = futures[next_index].result()
                next_index += 1
                report_progress()
                yield result

    def close(self) -> None:
        self.executor.shutdown(cancel_futures=True)


def read_results(tasks: list[SourceTask], pool: ReaderPool | None, bar: ProgressBar) -> Iterator[SourceResult]:
    """Results as files finish: in the pool when there is one, else in this process."""
    if pool is not None:
        yield from pool.results(tasks, bar)
        return
    for task in tasks:
        yield read_source(task, bar.update)
