"""`linksweep ingest`: files in parallel worker processes, each committed to DuckDB in its own transaction."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from crawler.corpus import RemoteInfo, RemoteOptions, RemoteReadError, SourceTask, probe_remote
from crawler.engines import engine_named
from crawler.ingest.files import MissingInput, corpus_files, not_corpus_reason
from crawler.ingest.progress import ProgressBar, progress_bar
from crawler.ingest.sources import DEFAULT_CC_BASE_URL, RemoteSource, expand_sources
from crawler.ingest.unit import IngestUnit, ingest_unit, sha256_unit
from pipelines.store import (
    SourceFold,
    begin_fold,
    discard_unfinished_folds,
    ensure_snapshot,
    fold_bucket,
    fold_sources,
    fold_tasks,
    has_url_parts,
    open_store,
    parts_root,
    read_manifest,
    register_remote_sources,
    register_sources,
    remove_source_parts,
    set_url_buckets,
    sql_string,
    staging_root,
    url_buckets,
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
    units_run: int = 0  # units the engine ran (a rerun after a killed driver folds published ones unrun)
    folds: int = 0  # URL index folds (one an ingest that read anything)
    fold_seconds: float = 0.0  # the driver's wall time in them (waiting for the engine's fold units, mostly)

    @property
    def failed(self) -> bool:
        return bool(self.problems) or self.bad_records > 0

    def as_dict(self) -> dict:
        """What `ingest --json` prints: the counts, the units the engine ran, the problems."""
        return {
            "files": self.files,
            "skipped": self.skipped,
            "not_corpus": [{"path": path, "reason": reason} for path, reason in self.not_corpus],
            "records": self.records,
            "documents": self.documents,
            "links": self.links,
            "bad_records": self.bad_records,
            "warnings": self.warnings,
            "bytes_read": self.bytes_read,
            "seconds": round(self.seconds, 3),
            "units_run": self.units_run,
            "folds": self.folds,
            "fold_seconds": round(self.fold_seconds, 3),
            "problems": [{"path": path, "status": status, "error": error} for path, status, error in self.problems],
            "failed": self.failed,
        }

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


def _digests(runner, files: list[Path]) -> list[str]:
    """The SHA-256 of each local file (what identifies it in its snapshot), computed by the engine's workers."""
    digests: list[str | None] = [None] * len(files)
    for outcome in runner.run(sha256_unit, [str(path) for path in files]):
        if outcome.manifest is None:
            raise MissingInput(f"{files[outcome.index]}: cannot be read: {outcome.error}")
        digests[outcome.index] = outcome.manifest["sha256"]
    return digests


def _published(root: Path, unit: IngestUnit) -> dict | None:
    """The unit's manifest if it is published already, for this file (its identity) in this snapshot."""
    manifest = read_manifest(root, unit.task.source_id)
    if (
        manifest is not None
        and manifest.get("unit") == "ingest"
        and manifest.get("snapshot") == unit.task.snapshot
        and manifest.get("identity") == unit.identity
    ):
        return manifest
    return None


class IngestFoldFailed(RuntimeError):
    """A bucket of the URL index fold failed on every try: the sources stay pending, and the next ingest of
    the snapshot folds them again."""


class _Folder:
    """Collects the units' ends, then folds them: the URL index's buckets as units of the engine, then one
    transaction recording the sources (pipelines/store/url_index.py, pipelines/store/folding.py)."""

    def __init__(self, con, root: Path, units: list[IngestUnit], summary: IngestSummary, runner) -> None:
        self.con, self.root, self.units, self.summary, self.runner = con, root, units, summary, runner
        self.ended: dict[int, SourceFold] = {}
        self.bar: ProgressBar | None = None

    def add(self, index: int, fold: SourceFold) -> None:
        self.ended[index] = fold
        outcome = fold.outcome()
        if outcome["status"] != "done" and self.bar is not None:
            path = self.units[index].task.path
            self.bar.write(f"{path}: {outcome['status']}: {outcome['error']}", file=sys.stderr)

    def finish(self) -> None:
        if not self.ended:
            return
        started = time.perf_counter()
        if self.runner.workers > 1:
            self.con.execute("RESET threads")  # the workers are done: the last transaction may use every core
        order = sorted(self.ended)
        folds = [self.ended[index] for index in order]
        with_urls = tuple(fold.source_id for fold in folds if has_url_parts(fold))
        fold_id, counts = None, (0, 0, 0.0)
        if with_urls:
            fold_id = begin_fold(self.con, with_urls)
            buckets = url_buckets(self.con)
            # as many units as the engine has workers, each some buckets (fewer, larger units: each opens the
            # new files' parts once)
            tasks = fold_tasks(self.root, fold_id, with_urls, buckets, self.runner.workers)
            ended = list(self.runner.run(fold_bucket, tasks))
            failed = [outcome for outcome in ended if outcome.manifest is None]
            if failed:
                raise IngestFoldFailed(
                    f"{self.root}: the URL index fold {fold_id} failed in buckets "
                    f"{list(tasks[failed[0].index].buckets_of_task)}: "
                    f"{failed[0].error}"
                )
            manifests = [outcome.manifest for outcome in ended]
            counts = (
                sum(m["urls"] for m in manifests),
                sum(m["hosts"] for m in manifests),
                time.perf_counter() - started,
            )
        fold_sources(self.con, self.root, folds, fold_id=fold_id, fold_counts=counts)
        self.summary.folds += 1
        self.summary.fold_seconds += time.perf_counter() - started
        for index, fold in zip(order, folds, strict=True):
            self._account(self.units[index], fold)

    def _account(self, unit: IngestUnit, fold: SourceFold) -> None:
        outcome, summary = fold.outcome(), self.summary
        summary.files += 1
        summary.records += outcome["records"]
        summary.documents += outcome["documents"]
        summary.links += outcome["links"]
        summary.bad_records += outcome["bad_records"]
        summary.warnings += (fold.manifest or {}).get("warnings", 0)
        summary.bytes_read += unit.task.file_size()
        if outcome["status"] != "done":
            summary.problems.append((unit.task.path, outcome["status"], outcome["error"] or ""))


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
    engine: str = "local",
    ray_address: str | None = None,
    url_buckets_count: int | None = None,
) -> IngestSummary:
    """Ingest corpus files into the snapshot; files whose content is already recorded are skipped, and so are
    files of the named folders that `include`/`exclude` leave out or that are clearly no corpus files.

    `paths` are source specs (see expand_sources: paths, globs, URLs, @FILE, cc:CRAWL/SUBSET with `sample`,
    `seed`, `cc_base_url`); remote files are fetched with `remote` (default: RemoteOptions()), streamed into
    the readers in the same worker processes, and skipped when (URL, ETag, length) was already ingested.

    Each file is a unit of work (crawler/ingest/unit.py) run by `engine` (crawler.engines: `local`, a process
    pool of `workers`; `ray`, the Ray cluster at `ray_address`); once they have ended, the URL index folds their
    new URLs in units of the same engine, and this process records the fold and the files in one transaction
    (pipelines/store/url_index.py, pipelines/store/folding.py). `url_buckets_count` sets the URL index's
    buckets of a new store."""
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
    # the local engine forks its workers here, before this process opens DuckDB or starts a thread
    runner = engine_named(engine, workers=max(1, min(workers, readable)), ray_address=ray_address)
    parallel = runner.workers > 1 and readable > 1
    remote = replace(remote, share=min(runner.workers, readable) if parallel else 1)
    try:
        # hashed by the engine's workers, before this process opens DuckDB: the driver reads no file's bytes
        digests = _digests(runner, files)
        con = open_store(db_path)
    except BaseException:
        runner.close()
        raise
    # bounded like the workers; a fold's aggregation beyond it spills
    con.execute(f"SET memory_limit = '{STORE_MEMORY_LIMIT}'")
    staging_root(db_path).mkdir(parents=True, exist_ok=True)  # DuckDB creates the spill folder, not its parent
    con.execute(f"SET temp_directory = {sql_string(staging_root(db_path) / 'spill')}")
    if parallel:
        con.execute("SET threads = 1")  # the cores are the workers' until the last fold
    root = parts_root(db_path)
    try:
        discard_unfinished_folds(con, root)  # a killed ingest's fold: folded again below, whole
        if url_buckets_count is not None:
            set_url_buckets(con, url_buckets_count)
        ensure_snapshot(con, snapshot)
        registrations = register_sources(
            con,
            snapshot,
            [(str(path), path.stat().st_size, digest) for path, digest in zip(files, digests, strict=True)],
        )
        registrations += register_remote_sources(
            con, snapshot, [(info.url, info.length, info.etag) for info in remote_files]
        )
        identities = [{"sha256": digest} for digest in digests] + [
            {"url": info.url, "etag": info.etag, "length": info.length} for info in remote_files
        ]
        remote_by_id = {
            registered.source_id: info
            for info, registered in zip(remote_files, registrations[len(files) :], strict=True)
        }
        units: list[IngestUnit] = []
        buckets = url_buckets(con)
        queued: set[int] = set()
        for path, registered, identity in zip(
            [*files, *(info.url for info in remote_files)], registrations, identities, strict=True
        ):
            # a remote file that failed (a transfer that broke off) is tried again; a local one as it is, with --force
            to_read = ("pending", "failed") if registered.source_id in remote_by_id else ("pending",)
            if registered.source_id in queued or (registered.status not in to_read and not force):
                summary.skipped += 1  # already ingested, or the same content as another file of this run
                continue
            queued.add(registered.source_id)
            task = SourceTask(registered.source_id, snapshot, str(path), "", url_column)
            info = remote_by_id.get(registered.source_id)
            if info is not None:
                task = replace(task, remote=remote, etag=info.etag, size=info.length)
            units.append(IngestUnit(task, str(root), identity, buckets))
        # in source order: the fold records them so (a URL's first_source is the smallest id that has it,
        # whatever order the units end in)
        units.sort(key=lambda unit: unit.task.source_id)
        if show_progress is None:
            show_progress = sys.stderr.isatty()
        folder = _Folder(con, root, units, summary, runner)
        # a unit whose manifest is published already (a driver killed before folding it) is not run again
        published = {} if force else {index: _published(root, unit) for index, unit in enumerate(units)}
        to_run = [index for index in range(len(units)) if published.get(index) is None]
        summary.units_run = len(to_run)
        total_bytes = sum(unit.task.file_size() for unit in units)
        with progress_bar(show_progress, total_bytes, f"ingest {snapshot}") as bar:
            folder.bar = bar
            for index, manifest in published.items():
                if manifest is not None:
                    folder.add(index, SourceFold(units[index].task.source_id, manifest))
            bytes_reported = runner.name == "local"
            for outcome in runner.run(ingest_unit, [units[i] for i in to_run], on_progress=bar.update):
                index = to_run[outcome.index]
                source_id = units[index].task.source_id
                if not bytes_reported:
                    bar.update(units[index].task.file_size())
                if outcome.manifest is None:
                    remove_source_parts(root, source_id)  # what an earlier ingest published is not this file's
                folder.add(index, SourceFold(source_id, outcome.manifest, outcome.error))
            folder.finish()
    finally:
        con.close()
        runner.close()
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
