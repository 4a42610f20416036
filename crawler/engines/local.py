"""The local engine: a pool of worker processes on this machine.

Workers are forked (where the platform can) before the caller opens DuckDB or starts a thread: they start in
milliseconds with every module the caller imported, and hold no database state. A unit that must run in a
process of its own (`fresh_process`: a crawl bucket, whose Twisted reactor cannot be restarted) gets a spawned
one. One worker without `fresh_process` runs units in this process.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import wait
from typing import Any

from crawler.engines.engine import DEFAULT_RETRIES
from crawler.engines.preforked import Preforked, forking_is_possible
from crawler.engines.units import TransientUnitError, UnitFunction, UnitOutcome, set_progress_sink

_bytes_counter = None  # worker side: the progress counter shared with the parent


def _init_worker(counter, parent_pid: int) -> None:  # pragma: no cover - runs in child processes
    global _bytes_counter
    _bytes_counter = counter
    set_progress_sink(_count_bytes)
    _exit_with_parent(parent_pid)


def _count_bytes(delta: int) -> None:  # pragma: no cover - runs in child processes
    with _bytes_counter.get_lock():
        _bytes_counter.value += delta


def _exit_with_parent(parent_pid: int) -> None:  # pragma: no cover - runs in child processes
    """A worker must not outlive a driver killed with -9: forked workers share the queue's pipes with each
    other, so they would never see it close, and wait forever."""
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


def _warm_up() -> None:  # pragma: no cover - runs in child processes
    """Nothing: submitted once per worker so that every process exists before the parent opens DuckDB."""


class LocalEngine:
    name = "local"

    def __init__(self, workers: int | None = None, *, fresh_process: bool = False, prefork: bool = False) -> None:
        """`prefork` (with `fresh_process`): fork `workers` processes now, each to run one unit of the next
        run() without importing anything again (crawler/engines/preforked.py): only while the caller holds no
        DuckDB connection and runs no other thread."""
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.fresh_process = fresh_process
        self.executor: ProcessPoolExecutor | None = None
        self.counter = None
        self.counter_method: str | None = None
        self.counted_before = 0  # bytes counted by the counters of earlier pools (a pool replaced by a spawned one)
        self.preforked: Preforked | None = None
        if self.workers > 1 and not fresh_process:
            self.executor = self._pool("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        if fresh_process and prefork and forking_is_possible():
            self.counter, self.counter_method = multiprocessing.get_context("fork").Value("q", 0), "fork"
            self.preforked = Preforked(self.workers, _init_worker, (self.counter, os.getpid()))

    def _pool(self, method: str) -> ProcessPoolExecutor:
        context = multiprocessing.get_context(method)
        if self.counter is None or self.counter_method != method:  # shared memory of one start method only
            if self.counter is not None:
                self.counted_before += self.counter.value
            self.counter, self.counter_method = context.Value("q", 0), method
        if self.fresh_process:
            return ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(self.counter, os.getpid()),
                max_tasks_per_child=1,
            )
        executor = ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker, initargs=(self.counter, os.getpid())
        )
        if method == "fork":
            # A forked worker must never finalize objects it inherited: a garbage DuckDB connection of the
            # caller, destroyed in the child, touches threads that only exist in the parent and crashes it.
            # Frozen objects are never collected in the child; the parent unfreezes its own.
            gc.freeze()
            try:
                for future in [executor.submit(_warm_up) for _ in range(self.workers)]:
                    future.result()
            finally:
                gc.unfreeze()
        return executor

    def run(
        self,
        function: UnitFunction,
        items: Sequence[Any],
        *,
        retries: int = DEFAULT_RETRIES,
        on_progress: Callable[[int], None] | None = None,
    ) -> Iterator[UnitOutcome]:
        if self.preforked is not None:
            yield from self._run_preforked(function, items, retries)
            return
        if self.fresh_process and self.executor is None:
            self.executor = self._pool("spawn")
        if self.executor is None:
            yield from self._run_here(function, items, retries, on_progress)
            return
        yield from self._run_in_pool(function, items, retries, on_progress)

    def _run_here(self, function, items, retries, on_progress) -> Iterator[UnitOutcome]:
        set_progress_sink(on_progress)
        try:
            for index, item in enumerate(items):
                for attempt in range(1, retries + 2):
                    try:
                        manifest = function(item)
                    except TransientUnitError as error:
                        if attempt <= retries:
                            continue
                        yield UnitOutcome(index, None, f"{error} (tried {attempt} times)", attempt)
                    except Exception as error:
                        yield UnitOutcome(index, None, f"{type(error).__name__}: {error}", attempt)
                    else:
                        yield UnitOutcome(index, manifest, None, attempt)
                    break
        finally:
            set_progress_sink(None)

    def _run_in_pool(self, function, items, retries, on_progress) -> Iterator[UnitOutcome]:
        attempts = [0] * len(items)
        futures: dict[Future, int] = {}
        reported = 0

        def submit(index: int) -> None:
            attempts[index] += 1
            futures[self.executor.submit(function, items[index])] = index

        def report() -> None:
            nonlocal reported
            if on_progress is not None and self.counter is not None:
                read_so_far = self.counted_before + self.counter.value  # one read: workers add between reads
                on_progress(read_so_far - reported)
                reported = read_so_far

        for index in range(len(items)):
            submit(index)
        while futures:
            done, _ = wait_futures(list(futures), timeout=0.25, return_when=FIRST_COMPLETED)
            report()
            broken: list[int] = []
            for future in done:
                index = futures.pop(future)
                try:
                    manifest = future.result()
                except BrokenProcessPool:
                    broken.append(index)
                except TransientUnitError as error:
                    if attempts[index] <= retries:
                        submit(index)
                    else:
                        yield UnitOutcome(index, None, f"{error} (tried {attempts[index]} times)", attempts[index])
                except Exception as error:
                    yield UnitOutcome(index, None, f"{type(error).__name__}: {error}", attempts[index])
                else:
                    yield UnitOutcome(index, manifest, None, attempts[index])
            if broken:
                # a worker died (killed, out of memory): the pool is gone, and with it every unit it held
                broken += [futures.pop(future) for future in list(futures)]
                self.executor.shutdown(wait=True, cancel_futures=True)
                # the parent may hold DuckDB's threads by now: new workers are spawned, not forked
                self.executor = self._pool("spawn")
                for index in sorted(broken):
                    if attempts[index] <= retries:
                        submit(index)
                    else:
                        yield UnitOutcome(
                            index, None, f"its worker process died {attempts[index]} times", attempts[index]
                        )
        report()

    def _run_preforked(self, function, items, retries) -> Iterator[UnitOutcome]:
        """Each unit in a preforked process while there are some, then in spawned ones (retries too)."""
        attempts = [0] * len(items)
        running: dict = {}  # connection -> (index, process)
        later: list[int] = []

        def start(index: int) -> None:
            slot = self.preforked.take()
            if slot is None:
                later.append(index)
                return
            attempts[index] += 1
            connection, process = slot
            connection.send((function, items[index]))
            running[connection] = (index, process)

        for index in range(len(items)):
            start(index)
        while running:
            ready = wait([*running, *(process.sentinel for _, process in running.values())], timeout=1.0)
            for connection in list(running):
                index, process = running[connection]
                if connection not in ready and process.sentinel not in ready:
                    continue
                try:
                    kind, payload = connection.recv() if connection.poll() else ("died", None)
                except (EOFError, OSError):
                    kind, payload = "died", None
                del running[connection]
                process.join(timeout=5)
                connection.close()
                if kind == "ok":
                    yield UnitOutcome(index, payload, None, attempts[index])
                elif kind == "error":
                    yield UnitOutcome(index, None, payload, attempts[index])
                elif attempts[index] <= retries:  # transient, or its process died: again, in a spawned one
                    later.append(index)
                else:
                    why = payload or f"its process died (exit code {process.exitcode})"
                    yield UnitOutcome(index, None, f"{why} (tried {attempts[index]} times)", attempts[index])
        if later:  # units beyond the preforked processes, and retries: spawned processes, as without prefork
            self.executor = self.executor or self._pool("spawn")
            spawned = [items[index] for index in later]
            for outcome in self._run_in_pool(function, spawned, retries, None):
                index = later[outcome.index]
                yield UnitOutcome(index, outcome.manifest, outcome.error, attempts[index] + outcome.attempts)

    def close(self) -> None:
        if self.preforked is not None:
            self.preforked.close()
            self.preforked = None
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)
            self.executor = None

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
