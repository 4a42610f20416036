"""`linksweep ingest`: files in parallel worker processes, each committed to DuckDB in its own transaction."""

from __future__ import annotations

import contextlib
import fnmatch
import gc
import hashlib
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

import duckdb
import pyarrow as pa

from crawler.corpus import URL_COLUMN_CANDIDATES, SourceResult, SourceTask, UnknownFormat, read_source, sniff
from crawler.ingest.inputs import MissingInput, refuse_remote_sources
from pipelines.store import (
    BULK_ROW_GROUP_SIZE,
    SourceOutcome,
    commit_source_rows,
    ensure_snapshot,
    finish_source,
    open_store,
    record_new_urls,
    register_sources,
    remove_staging,
    sql_identifier,
    sql_string,
    staging_root,
)


@dataclass
class IngestSummary:
    files: int = 0
    skipped: int = 0
    records: int = 0
    documents: int = 0
    links: int = 0
    bad_records: int = 0
    warnings: int = 0  # records read with a remark (a cap reached, a hostile page's links taken another way)
    bytes_read: int = 0
    seconds: float = 0.0
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # path, status, error
    not_corpus: list[tuple[str, str]] = field(default_factory=list)  # path, reason: files of folders left alone

    @property
    def failed(self) -> bool:
        return bool(self.problems) or self.bad_records > 0

    def line(self) -> str:
        megabytes = self.bytes_read / 1e6
        rate = megabytes / self.seconds if self.seconds > 0 else 0.0
        failures = sum(1 for _, status, _ in self.problems if status == "failed")
        partial = sum(1 for _, status, _ in self.problems if status == "partial")
        return (
            f"ingested {self.files} files ({self.skipped} skipped as already ingested, "
            f"{len(self.not_corpus)} skipped as no corpus files, {failures} failed, "
            f"{partial} stopped early): {self.records:,} records, {self.documents:,} documents, "
            f"{self.links:,} links, {self.bad_records:,} bad records, {self.warnings:,} warnings; "
            f"{megabytes:,.1f} MB in {self.seconds:.1f} s ({rate:,.1f} MB/s)"
        )


# DuckDB memory of the committing connection during an ingest.
STORE_MEMORY_LIMIT = "256MB"


def corpus_files(paths: Iterable[str | Path], include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[Path]:
    """Every file named or found under the named folders (recursively, hidden files excepted), sorted.

    A file found in a folder is taken when its path within the folder (or its name) matches one of `include`
    (if any is given) and none of `exclude` (shell patterns, `*` matching across folders); files named on
    their own are always taken."""
    include, exclude = tuple(include), tuple(exclude)
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                relative = candidate.relative_to(path)
                if not candidate.is_file() or any(part.startswith(".") for part in relative.parts):
                    continue
                if include and not _matches(relative, include):
                    continue
                if not _matches(relative, exclude):
                    found.append(candidate)
        elif path.is_file():
            found.append(path)
        else:
            raise MissingInput(f"{path}: no such file or folder")
    unique: dict[Path, None] = dict.fromkeys(p.resolve() for p in found)
    return sorted(unique)


def _matches(relative: Path, patterns: tuple[str, ...]) -> bool:
    text = relative.as_posix()
    return any(
        fnmatch.fnmatchcase(text, pattern) or fnmatch.fnmatchcase(relative.name, pattern) for pattern in patterns
    )


# Names of the text files that come with corpora (descriptions, licences, checksums), lower case, no suffix
_TEXT_NAMES = frozenset(
    {
        "readme",
        "license",
        "licence",
        "copying",
        "notice",
        "changelog",
        "authors",
        "source",
        "sources",
        "manifest",
        "checksums",
        "sha256sums",
        "sha1sums",
        "md5sums",
    }
)
_TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst"})


def not_corpus_reason(path: Path) -> str | None:
    """Why a file found in a folder is clearly no corpus file, or None: a text name (README, LICENSE,
    SOURCE.txt, *.md) and no corpus magic bytes, nor, if it reads as a table, a URL column."""
    if path.name.split(".")[0].lower() not in _TEXT_NAMES and path.suffix.lower() not in _TEXT_SUFFIXES:
        return None
    try:
        file_format = sniff(path)
    except UnknownFormat:
        return "not a corpus file (a text name, and no WARC, ARC, gzip, Parquet or table content)"
    except OSError:
        return None  # reading it fails again, and is recorded, in the reader
    if file_format.gzipped or file_format.container != "csv":
        return None
    with open(path, "rb") as stream:
        header = stream.readline(65536).decode("utf-8", "replace").strip().replace("\t", ",").split(",")
    if any(name.strip().strip("\"'") in URL_COLUMN_CANDIDATES for name in header):
        return None
    return "not a corpus file (a text name, and no URL column)"


def sha256_of(path: Path) -> str:
    # file_digest reads into one reused buffer: a fresh bytes object per chunk would fault in new pages, each
    # one costly to touch first
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


@contextlib.contextmanager
def arrow_buffers_from_malloc() -> Iterator[None]:
    """Arrow's buffers come from the C library's malloc while an ingest runs, not from Arrow's default pool
    (mimalloc), which commits its arenas eagerly, backed by transparent huge pages where the kernel grants them
    on request (THP "madvise", as on the development machines): every page first touched is 2 MB zeroed by the
    kernel, which made the first file of an ingest spend its system time in its first Arrow allocations; malloc
    also keeps the peak memory and the system time of an ingest lower. Readers forked within inherit the pool;
    spawned ones set it (_init_worker).
    """
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


# glibc's mallopt parameters, and its defaults (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_GLIBC_DEFAULT_THRESHOLD = 128 * 1024
# While an ingest runs: blocks up to this size come from the heap, and freed heap memory is kept up to this much
_KEPT_MMAP_THRESHOLD = 32 * 1024 * 1024
_KEPT_TRIM_THRESHOLD = 512 * 1024 * 1024


def _glibc():  # the C library, if it is glibc (elsewhere mallopt is absent or does nothing)
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return None
    except (AttributeError, ValueError, OSError):  # pragma: no cover - no confstr, or no such name
        return None
    import ctypes

    try:
        return ctypes.CDLL(None)
    except OSError:  # pragma: no cover
        return None


def _set_malloc_thresholds(libc, mmap_threshold: int, trim_threshold: int) -> None:
    libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
    libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)


def keep_freed_memory():
    """Make glibc's malloc keep the memory a file's reading frees for the next file (see freed_memory_kept).
    Returns the C library it set, or None where it is not glibc."""
    libc = _glibc()
    if libc is not None:
        _set_malloc_thresholds(libc, _KEPT_MMAP_THRESHOLD, _KEPT_TRIM_THRESHOLD)
    return libc


@contextlib.contextmanager
def freed_memory_kept() -> Iterator[None]:
    """glibc's malloc keeps the memory a file's reading frees for the next file while an ingest runs, instead of
    handing it back to the kernel: each file read grows the heap (Arrow's kernels, the staged batches), and with
    glibc's defaults it was trimmed after every file and faulted in again, page by page, for the next one, and a
    page first touched is costly. Peak memory is the same; between files the heap stays at its peak instead of
    shrinking. Afterwards glibc's default thresholds are set (fixed ones: glibc's own adjustment of them stays off
    once set) and the kept memory handed back."""
    libc = keep_freed_memory()
    if libc is None:
        yield
        return
    try:
        yield
    finally:
        _set_malloc_thresholds(libc, _GLIBC_DEFAULT_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
        libc.malloc_trim(0)


# Worker side: the bytes-read counter shared with the parent for the progress bar.
_bytes_counter = None


def _init_worker(counter, parent_pid: int) -> None:  # pragma: no cover - runs in child processes
    global _bytes_counter
    _bytes_counter = counter
    pa.set_memory_pool(pa.system_memory_pool())  # as arrow_buffers_from_malloc, for spawned readers
    keep_freed_memory()  # as freed_memory_kept (forked readers inherit both)
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


class _ReaderPool:
    """Worker processes reading files. They are forked before this process opens DuckDB or starts any
    thread, so they start in milliseconds with every module imported and hold no database state; where
    fork is unavailable they are spawned."""

    def __init__(self, workers: int) -> None:
        # imported here: a 1-worker ingest needs neither
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

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


def _results(tasks: list[SourceTask], pool: _ReaderPool | None, bar: ProgressBar) -> Iterator[SourceResult]:
    """Results as files finish: in the pool when there is one, else in this process."""
    if pool is not None:
        yield from pool.results(tasks, bar)
        return
    for task in tasks:
        yield read_source(task, bar.update)


class ProgressBar(Protocol):
    def update(self, n: float = 1) -> object: ...

    def write(self, text: str, file: TextIO | None = None) -> None: ...


class _Silent:
    """The progress bar when none is shown: problems are still printed."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, n: float = 1) -> None:
        return None

    def write(self, text: str, file: TextIO | None = None) -> None:
        print(text, file=file or sys.stderr)


def progress_bar(show: bool, total_bytes: int, description: str) -> contextlib.AbstractContextManager[ProgressBar]:
    """A tqdm bar of bytes read, on stderr; imported only when shown (tqdm's import is not free)."""
    if not show:
        return _Silent()
    from tqdm import tqdm

    return tqdm(total=total_bytes, unit="B", unit_scale=True, desc=description, file=sys.stderr)


def _outcome(result: SourceResult) -> SourceOutcome:
    return SourceOutcome(
        path=result.path,
        status=result.status,
        file_format=result.format,
        reader=result.reader,
        records=result.records,
        documents=result.documents,
        links=result.links,
        bad_records=result.bad_records,
        error=result.error,
        bad_record_errors=result.bad_record_errors,
        seconds=result.seconds,
    )


class _Committer:
    """Commits read sources in source order. Each source's rows are committed on a cursor of their own in a
    thread, beside its URLs, which are recorded on the ingest connection one source after the other (see
    record_new_urls), and beside up to `concurrent_rows - 1` other sources' rows (DuckDB runs each without
    the GIL); once both are committed, a one-row transaction records the source's status. The last files of
    a parallel ingest finish reading together: their commits, which nothing else overlaps, then share the
    cores instead of queueing on one.

    With `concurrent_rows` 0 everything runs in the calling thread (a 1-worker ingest stays on one core): the
    URLs, then the rows with the status.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, concurrent_rows: int) -> None:
        self.con = con
        self.concurrent_rows = concurrent_rows
        self.threads = ThreadPoolExecutor(concurrent_rows, thread_name_prefix="commit") if concurrent_rows else None
        self.cursors: list[duckdb.DuckDBPyConnection] = []
        self.idle_cursors: list[duckdb.DuckDBPyConnection] = []
        self.lock = threading.Lock()
        self.in_flight: list[tuple[Future, SourceResult]] = []
        self.database = con.execute("SELECT current_database()").fetchone()[0]

    def commit(self, result: SourceResult) -> list[SourceResult]:
        """Commit `result` (its rows perhaps later); returns the sources whose rows are committed meanwhile."""
        if self.threads is None:
            record_new_urls(self.con, result.source_id, result.staged)
            commit_source_rows(self.con, result.source_id, result.staged, _outcome(result))
            return [result]
        finished = self._collect(block=len(self.in_flight) >= self.concurrent_rows)
        self.in_flight.append((self.threads.submit(self._commit_rows, result), result))
        record_new_urls(self.con, result.source_id, result.staged)
        return finished

    def finish(self) -> list[SourceResult]:
        """Wait for every source's rows."""
        finished: list[SourceResult] = []
        while self.in_flight:
            finished.extend(self._collect(block=True))
        return finished

    def _collect(self, block: bool) -> list[SourceResult]:
        if block and self.in_flight:
            wait([future for future, _ in self.in_flight], return_when=FIRST_COMPLETED)
        finished = [(future, result) for future, result in self.in_flight if future.done()]
        self.in_flight = [pair for pair in self.in_flight if not pair[0].done()]
        for future, result in finished:
            future.result()  # a failed commit fails the ingest, as in the calling thread
            finish_source(self.con, result.source_id, result.status)  # its URLs were recorded in commit()
        return [result for _future, result in finished]

    def _commit_rows(self, result: SourceResult) -> None:
        with self.lock:
            if self.idle_cursors:
                cursor = self.idle_cursors.pop()
            else:
                cursor = self.con.cursor()
                cursor.execute(f"USE {sql_identifier(self.database)}")
                self.cursors.append(cursor)
        try:
            commit_source_rows(cursor, result.source_id, result.staged, _outcome(result), urls_recorded=False)
        finally:
            with self.lock:
                self.idle_cursors.append(cursor)

    def close(self) -> None:
        """Wait for rows still being committed (after an error elsewhere) and release the cursors."""
        if self.threads is not None:
            self.threads.shutdown(wait=True)
        for cursor in self.cursors:
            cursor.close()


def _safe_name(snapshot: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", snapshot)


def ingest(
    db_path: Path,
    snapshot: str,
    paths: Iterable[str | Path],
    *,
    workers: int | None = None,
    force: bool = False,
    url_column: str | None = None,
    show_progress: bool | None = None,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> IngestSummary:
    """Ingest corpus files into the snapshot; files whose content is already recorded are skipped, and so are
    files of the named folders that `include`/`exclude` leave out or that are clearly no corpus files. A URL
    among `paths` is refused before anything is read (RemoteSourceUnsupported)."""
    paths = list(paths)
    refuse_remote_sources(paths)
    with arrow_buffers_from_malloc(), freed_memory_kept():
        return _ingest(
            db_path,
            snapshot,
            paths,
            workers=workers,
            force=force,
            url_column=url_column,
            show_progress=show_progress,
            include=include,
            exclude=exclude,
        )


def _ingest(
    db_path: Path,
    snapshot: str,
    paths: Iterable[str | Path],
    *,
    workers: int | None,
    force: bool,
    url_column: str | None,
    show_progress: bool | None,
    include: Iterable[str],
    exclude: Iterable[str],
) -> IngestSummary:
    started = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    paths = list(paths)
    files = corpus_files(paths, include, exclude)
    summary = IngestSummary()
    named = {Path(given).resolve() for given in paths if Path(given).is_file()}
    for path in [path for path in files if path not in named]:
        reason = not_corpus_reason(path)
        if reason is not None:
            summary.not_corpus.append((str(path), reason))
            files.remove(path)
    pool = _ReaderPool(min(workers, len(files))) if workers > 1 and len(files) > 1 else None
    hashers = ThreadPoolExecutor(max(1, min(workers, 4)), thread_name_prefix="sha256")  # hashlib releases the GIL
    # with reader processes (forked above: no thread may start before), the files are hashed while DuckDB opens
    # the store, part of every parallel run's serial start; a 1-worker ingest hashes after, on its one core
    early_digests = [hashers.submit(sha256_of, path) for path in files] if pool is not None else None
    try:
        con = open_store(db_path, row_group_size=BULK_ROW_GROUP_SIZE)
    except BaseException:
        hashers.shutdown(cancel_futures=True)
        if pool is not None:
            pool.close()
        raise
    # checkpoint once at the end rather than every few files: each commit stays a short append to the WAL
    con.execute("SET checkpoint_threshold = '1GB'")
    # bounded like the readers: large transactions write their row groups out instead of growing in memory
    con.execute(f"SET memory_limit = '{STORE_MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = {sql_string(staging_root(db_path) / 'spill')}")
    # one thread: the commits are short appends, which DuckDB's parallel insert makes slower, not faster
    # (and with readers in worker processes, the cores are theirs)
    con.execute("SET threads = 1")
    # with readers in worker processes, this process only commits: two sources' rows at a time
    committer = _Committer(con, concurrent_rows=2 if pool is not None else 0)
    try:
        ensure_snapshot(con, snapshot)
        with hashers:
            if early_digests is None:
                digests = list(hashers.map(sha256_of, files))
            else:
                digests = [future.result() for future in early_digests]
        stage_dir = staging_root(db_path) / _safe_name(snapshot)
        tasks: list[SourceTask] = []
        registrations = register_sources(
            con,
            snapshot,
            [(str(path), path.stat().st_size, digest) for path, digest in zip(files, digests, strict=True)],
        )
        queued: set[int] = set()
        for path, registered in zip(files, registrations, strict=True):
            if registered.source_id in queued or (registered.status != "pending" and not force):
                summary.skipped += 1  # already ingested, or the same content as another file of this run
                continue
            queued.add(registered.source_id)
            tasks.append(
                SourceTask(
                    registered.source_id, snapshot, str(path), str(stage_dir / str(registered.source_id)), url_column
                )
            )
        # committed in source order whatever order readers finish in: which file first recorded a URL
        # (urls.first_source) is then the same in every run, interrupted or not
        tasks.sort(key=lambda task: task.source_id)
        total_bytes = sum(Path(task.path).stat().st_size for task in tasks)
        if show_progress is None:
            show_progress = sys.stderr.isatty()
        with progress_bar(show_progress, total_bytes, f"ingest {snapshot}") as bar:

            def account(result: SourceResult) -> None:
                remove_staging(Path(stage_dir) / str(result.source_id))
                summary.files += 1
                summary.records += result.records
                summary.documents += result.documents
                summary.links += result.links
                summary.bad_records += result.bad_records
                summary.warnings += result.warnings
                summary.bytes_read += Path(result.path).stat().st_size
                if result.status != "done":
                    summary.problems.append((result.path, result.status, result.error or ""))
                    bar.write(f"{result.path}: {result.status}: {result.error}", file=sys.stderr)

            for result in _results(tasks, pool, bar):
                for committed in committer.commit(result):
                    account(committed)
            for committed in committer.finish():
                account(committed)
        remove_staging(stage_dir)
        con.execute("RESET threads")  # the readers are done: the final checkpoint may use every core
    finally:
        hashers.shutdown(cancel_futures=True)
        committer.close()
        con.close()
        if pool is not None:
            pool.close()
    summary.seconds = time.perf_counter() - started
    return summary
