"""`linksweep ingest`: files in parallel worker processes, each committed to DuckDB in its own transaction."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from crawler.corpus import RemoteInfo, RemoteOptions, RemoteReadError, SourceResult, SourceTask, probe_remote
from crawler.ingest.commit import Committer
from crawler.ingest.files import corpus_files, not_corpus_reason
from crawler.ingest.pool import ReaderPool, read_results
from crawler.ingest.progress import progress_bar
from crawler.ingest.sources import DEFAULT_CC_BASE_URL, RemoteSource, expand_sources
from pipelines.store import (
    BULK_ROW_GROUP_SIZE,
    ensure_snapshot,
    file_sha256,
    open_store,
    register_remote_sources,
    register_sources,
    remove_staging,
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


def _safe_name(snapshot: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", snapshot)


def ingest(
    db_path: Path,
    snapshot: str,
    paths: Iterable[str | Path | RemoteSource],
    *,
    workers: int | None = None,
    force: bool = False,
    url_column: str | None = None,
    show_progress: bool | None = None,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    remote: RemoteOptions | None = None,
    sample: int | None = None,
    seed: int = 0,
    cc_base_url: str = DEFAULT_CC_BASE_URL,
) -> IngestSummary:
    """Ingest corpus files into the snapshot; files whose content is already recorded are skipped, and so are
    files of the named folders that `include`/`exclude` leave out or that are clearly no corpus files.

    `paths` are source specs (see expand_sources: paths, globs, URLs, @FILE, cc:CRAWL/SUBSET with `sample`,
    `seed`, `cc_base_url`); remote files are fetched with `remote` (default: RemoteOptions()), streamed into
    the readers in the same worker processes, and skipped when (URL, ETag, length) was already ingested."""
    started = time.perf_counter()
    remote = remote or RemoteOptions()
    sources = expand_sources(paths, sample=sample, seed=seed, cc_base_url=cc_base_url, options=remote)
    local = [source for source in sources if isinstance(source, Path)]
    workers = workers or os.cpu_count() or 1
    files = corpus_files(local, include, exclude)
    summary = IngestSummary()
    named = {given.resolve() for given in local if given.is_file()}
    for path in [path for path in files if path not in named]:
        reason = not_corpus_reason(path)
        if reason is not None:
            summary.not_corpus.append((str(path), reason))
            files.remove(path)
    remote_files = _probe(
        [source.url for source in sources if isinstance(source, RemoteSource)], remote, summary, show_progress
    )
    readable = len(files) + len(remote_files)
    pool = ReaderPool(min(workers, readable)) if workers > 1 and readable > 1 else None
    remote = replace(remote, share=min(workers, readable) if pool is not None else 1)
    hashers = ThreadPoolExecutor(max(1, min(workers, 4)), thread_name_prefix="sha256")  # hashlib releases the GIL
    # with reader processes (forked above: no thread may start before), the files are hashed while DuckDB opens
    # the store, part of every parallel run's serial start; a 1-worker ingest hashes after, on its one core
    early_digests = [hashers.submit(file_sha256, path) for path in files] if pool is not None else None
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
    committer = Committer(con, concurrent_rows=2 if pool is not None else 0)
    try:
        ensure_snapshot(con, snapshot)
        with hashers:
            if early_digests is None:
                digests = list(hashers.map(file_sha256, files))
            else:
                digests = [future.result() for future in early_digests]
        stage_dir = staging_root(db_path) / _safe_name(snapshot)
        tasks: list[SourceTask] = []
        registrations = register_sources(
            con,
            snapshot,
            [(str(path), path.stat().st_size, digest) for path, digest in zip(files, digests, strict=True)],
        )
        registrations += register_remote_sources(
            con, snapshot, [(info.url, info.length, info.etag) for info in remote_files]
        )
        remote_by_id = {
            registered.source_id: info
            for info, registered in zip(remote_files, registrations[len(files) :], strict=True)
        }
        queued: set[int] = set()
        for path, registered in zip([*files, *(info.url for info in remote_files)], registrations, strict=True):
            # a remote file that failed (a transfer that broke off) is tried again; a local one as it is, with --force
            to_read = ("pending", "failed") if registered.source_id in remote_by_id else ("pending",)
            if registered.source_id in queued or (registered.status not in to_read and not force):
                summary.skipped += 1  # already ingested, or the same content as another file of this run
                continue
            queued.add(registered.source_id)
            task = SourceTask(
                registered.source_id, snapshot, str(path), str(stage_dir / str(registered.source_id)), url_column
            )
            info = remote_by_id.get(registered.source_id)
            if info is not None:
                task = replace(task, remote=remote, etag=info.etag, size=info.length)
            tasks.append(task)
        # committed in source order whatever order readers finish in: which file first recorded a URL
        # (urls.first_source) is then the same in every run, interrupted or not
        tasks.sort(key=lambda task: task.source_id)
        sizes = {task.source_id: task.file_size() for task in tasks}
        total_bytes = sum(sizes.values())
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
                summary.bytes_read += sizes[result.source_id]
                if result.status != "done":
                    summary.problems.append((result.path, result.status, result.error or ""))
                    bar.write(f"{result.path}: {result.status}: {result.error}", file=sys.stderr)

            for result in read_results(tasks, pool, bar):
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


def _probe(urls: list[str], options: RemoteOptions, summary: IngestSummary, show_progress: bool | None) -> list:
    """The ETag and length of each remote file (what its identity is made of), before the store opens; a file
    that cannot be probed is a failed source of the summary."""
    found: list[RemoteInfo] = []
    for url in urls:
        try:
            found.append(probe_remote(url, options))
        except RemoteReadError as error:
            summary.problems.append((url, "failed", str(error)))
            print(f"{url}: failed: {error}", file=sys.stderr)
    return found
