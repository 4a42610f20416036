"""Read one corpus file into staged documents and links, falling back across readers when one fails."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from crawler.corpus.documents import record_document
from crawler.corpus.readers import RECORD_READERS, ArchiveFormat, RecordReader, TableFormat, reader_for
from crawler.corpus.remote import SNIFF_BYTES, RemoteFile, RemoteInfo, RemoteOptions, RemoteReadError
from crawler.corpus.sniff import FileFormat, UnknownFormat, sniff, sniff_bytes
from crawler.corpus.tables import TableCutOff, TableError
from pipelines.store import StagedSource
from pipelines.urls import normalize

# How many per-record errors are kept verbatim in `sources.bad_record_errors` (all are counted).
KEPT_RECORD_ERRORS = 20
PROGRESS_EVERY_RECORDS = 64

ProgressCallback = Callable[[int], None]  # receives the number of bytes read since the last call


@dataclass
class SourceTask:
    source_id: int
    snapshot: str
    path: str
    staging_dir: str
    url_column: str | None = None
    readers: tuple[str, ...] | None = None  # force a chain of RECORD_READERS (tests, parity checks)
    # a remote file: `path` is its URL, fetched with these options, expected with this ETag and length
    remote: RemoteOptions | None = None
    etag: str | None = None
    size: int | None = None

    def file_size(self) -> int:
        return self.size if self.size is not None else Path(self.path).stat().st_size


@dataclass
class SourceResult:
    source_id: int
    path: str
    format: str | None = None
    reader: str | None = None
    status: str = "done"  # done, partial, failed
    records: int = 0
    documents: int = 0
    links: int = 0
    bad_records: int = 0
    warnings: int = 0  # remarks on records that were still read: all counted, the first few kept
    error: str | None = None
    bad_record_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    staged: dict[str, str] = field(default_factory=dict)
    sha256: str | None = None  # of a remote file's bytes, computed as they arrived (when they all did)
    transient: bool = False  # failed for a reason that may pass: the file could not be opened or read

    def note_warning(self, message: str) -> None:
        """Keep a remark on a record that was still read (a reader's, a cap's, a hostile page's): counted in
        `warnings`, not as a bad record."""
        self.warnings += 1
        if len(self.bad_record_errors) < KEPT_RECORD_ERRORS:
            self.bad_record_errors.append(f"warning: {message}")

    def note_bad_record(self, message: str) -> None:
        self.bad_records += 1
        if len(self.bad_record_errors) < KEPT_RECORD_ERRORS:
            self.bad_record_errors.append(message)


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class _Progress:
    """Bytes of the file read so far: the position of the stream, or, where the reader opened the file
    itself (given its path), the offset of the latest record."""

    def __init__(self, stream: BinaryIO | str, on_progress: ProgressCallback | None, raw_size: int) -> None:
        self.stream = None if isinstance(stream, str) else stream
        self.on_progress, self.reported = on_progress, 0
        self.raw = getattr(stream, "fileobj", None)  # gzip.GzipFile, GzipMembers: report compressed bytes
        self.raw_size = raw_size

    def update(self, record_offset: int | None) -> None:
        if self.on_progress is None:
            return
        try:
            position = (self.raw or self.stream).tell() if self.stream is not None else record_offset
        except (OSError, ValueError):
            return
        if position is None:
            return
        position = min(position, self.raw_size)
        if position > self.reported:
            self.on_progress(position - self.reported)
            self.reported = position


def _read_archive(
    task: SourceTask,
    source: str | BinaryIO,
    file_format: FileFormat,
    archive: ArchiveFormat,
    reader: RecordReader,
    staged: StagedSource,
    result: SourceResult,
    on_progress: ProgressCallback | None,
) -> None:
    with reader.open(source, file_format) as stream:
        progress = _Progress(stream, on_progress, task.file_size())
        record_no = 0
        try:
            records = reader.read_records(stream)
            for record_no, record in enumerate(records):  # noqa: B007 - record_no used after loop
                result.records += 1
                for warning in record.reader_warnings:
                    result.note_warning(f"record {record_no}: {reader.name}: {warning}")
                if record.truncated and result.error is None:
                    result.error = f"{reader.name}: {record.truncated}"
                if archive.offset_ids:  # the offset is stable across runs
                    record.record_id = f"<{archive.offset_ids}:{record.offset}>"
                try:
                    document = record_document(record)
                except Exception as error:  # one bad record must not stop the file
                    result.note_bad_record(f"record {record_no} at offset {record.offset}: {_describe(error)}")
                    continue
                if document is not None:
                    for note in document.notes:
                        result.note_warning(f"record {record_no} at offset {record.offset}: {note}")
                    staged.add_document(
                        record_no,
                        record_id=document.record_id,
                        record_type=document.record_type,
                        target_uri=document.target_uri,
                        url=document.url,
                        offset=document.offset,
                        length=document.length,
                        http_status=document.http_status,
                        content_type=document.content_type,
                        payload_digest=document.payload_digest,
                        links=document.links,
                    )
                if record_no % PROGRESS_EVERY_RECORDS == 0:
                    progress.update(record.offset)
        except RemoteReadError:
            raise  # the file did not arrive whole: no other reader can do better
        except Exception as error:
            stopped = f"{reader.name} stopped after {result.records} records: {_describe(error)}"
            result.error = f"{result.error}; {stopped}" if result.error else stopped
        progress.update(None)


def _read_table(
    task: SourceTask, file_format: FileFormat, table: TableFormat, staged: StagedSource, result: SourceResult
) -> None:
    try:
        for row_index, value in table.rows(Path(task.path), task.url_column, file_format.gzipped):
            result.records += 1
            if isinstance(value, Exception):
                result.note_bad_record(str(value))
                continue
            if not isinstance(value, str) or not value.strip():
                result.note_bad_record(f"row {row_index}: no URL ({value!r})")
                continue
            staged.add_document(
                row_index, record_id=str(row_index), record_type="row", target_uri=value, url=normalize(value.strip())
            )
    except TableError as error:
        result.error = str(error)
    except TableCutOff as error:
        result.error = f"{error} ({result.records} rows read)"
    except Exception as error:
        result.error = f"stopped after {result.records} rows: {_describe(error)}"


def _finish(result: SourceResult, staged: StagedSource) -> None:
    result.documents, result.links = staged.documents, staged.links
    result.staged = {table: str(path) for table, path in staged.close().items()}
    if result.error:
        result.status = "partial" if result.records else "failed"


def read_source(task: SourceTask, on_progress: ProgressCallback | None = None) -> SourceResult:
    """Read one file into staged Arrow batches under `task.staging_dir`; never raises for bad input.

    `on_progress` hears of every byte of the file exactly once, whatever the reader or outcome.
    """
    progress = _ByteCount(on_progress)
    try:
        return _read_source(task, progress)
    finally:
        with contextlib.suppress(OSError):
            progress(task.file_size() - progress.total)


class _ByteCount:
    def __init__(self, on_progress: ProgressCallback | None) -> None:
        self.on_progress, self.total = on_progress, 0

    def __call__(self, delta: int) -> None:
        if delta > 0 and self.on_progress is not None:
            self.total += delta
            self.on_progress(delta)


def _read_source(task: SourceTask, on_progress: ProgressCallback) -> SourceResult:
    started = time.perf_counter()
    if task.remote is not None:
        result = _read_remote(task, on_progress)
    else:
        try:
            file_format = sniff(task.path)
            corpus_format = reader_for(file_format)
        except UnknownFormat as error:
            result = SourceResult(source_id=task.source_id, path=task.path, status="failed", error=str(error))
        except OSError as error:
            result = SourceResult(
                source_id=task.source_id, path=task.path, status="failed", error=str(error), transient=True
            )
        else:
            result = _read_file(task, file_format, corpus_format, on_progress, None)
    result.seconds = time.perf_counter() - started
    return result


def _read_remote(task: SourceTask, on_progress: ProgressCallback) -> SourceResult:
    """A remote file: its format sniffed from the first stream's first bytes, which the first reader then reads
    on; failed as a whole when it does not arrive whole."""
    with _RemoteStreams(task) as opened:
        try:
            file_format = sniff_bytes(opened.first().peek(SNIFF_BYTES))
            corpus_format = reader_for(file_format)
            if isinstance(corpus_format, TableFormat):
                raise UnknownFormat(f"{file_format.name}: URL tables are read from local files only; download first")
            return _read_file(task, file_format, corpus_format, on_progress, opened)
        except (UnknownFormat, RemoteReadError) as error:
            opened.discard()
            # not transient for the engine: the remote reader has retried the transfer itself (RemoteOptions)
            return SourceResult(source_id=task.source_id, path=task.path, status="failed", error=str(error))


class _RemoteStreams:
    """The streams of a remote file: the first, opened to sniff its format, goes to the first reader; a fallback
    reader gets a new one. Keeps the digest of whichever stream arrived whole, and what to discard on failure."""

    def __init__(self, task: SourceTask) -> None:
        self.task = task
        self.expect = RemoteInfo(task.path, task.etag, task.size) if task.size is not None else None
        self.streams: list[RemoteFile] = []
        self.staged: list[StagedSource] = []
        self.first_taken = False

    def first(self) -> RemoteFile:
        if not self.streams:
            self.streams.append(RemoteFile(self.task.path, self.task.remote, self.expect))
        return self.streams[0]

    def next(self) -> RemoteFile:
        if not self.first_taken:
            self.first_taken = True
            return self.first()
        self.streams.append(RemoteFile(self.task.path, self.task.remote, self.expect))
        return self.streams[-1]

    @property
    def sha256(self) -> str | None:
        return next((stream.sha256 for stream in self.streams if stream.sha256), None)

    def discard(self) -> None:
        for staged in self.staged:
            staged.discard()

    def __enter__(self) -> _RemoteStreams:
        return self

    def __exit__(self, *exc_info) -> None:
        for stream in self.streams:
            stream.close()


def _read_file(
    task: SourceTask,
    file_format: FileFormat,
    corpus_format: ArchiveFormat | TableFormat,
    on_progress: ProgressCallback,
    remote: _RemoteStreams | None,
) -> SourceResult:
    result = SourceResult(source_id=task.source_id, path=task.path, format=file_format.name)
    staging_root = Path(task.staging_dir)

    if isinstance(corpus_format, TableFormat):
        result.reader = corpus_format.reader
        staged = StagedSource(staging_root / "table", task.source_id, task.snapshot)
        _read_table(task, file_format, corpus_format, staged, result)
        _finish(result, staged)
    else:
        attempts: list[tuple[SourceResult, StagedSource]] = []
        chain = [RECORD_READERS[name] for name in task.readers] if task.readers else corpus_format.chain(file_format)
        for reader in chain:
            attempt = SourceResult(
                source_id=task.source_id, path=task.path, format=file_format.name, reader=reader.name
            )
            staged = StagedSource(staging_root / reader.name, task.source_id, task.snapshot)
            source: str | BinaryIO = task.path
            if remote is not None:
                remote.staged.append(staged)
                source = remote.next()
            # progress is reported for the first attempt only, so retries do not count bytes twice
            with source if remote is not None else contextlib.nullcontext():
                _read_archive(
                    task,
                    source,
                    file_format,
                    corpus_format,
                    reader,
                    staged,
                    attempt,
                    on_progress if not attempts else None,
                )
                if remote is not None and source.error:  # a reader that swallowed the stream's exception
                    raise RemoteReadError(source.error)
            attempts.append((attempt, staged))
            if attempt.error is None:
                break
        # most records wins (a reader that stops silently must not beat one that reads on and reports),
        # then an error-free reading, then the order of the chain
        best_result, best_staged = max(attempts, key=lambda pair: (pair[0].records, pair[0].error is None))
        for _attempt, staged in attempts:
            if staged is not best_staged:
                staged.discard()
        if best_result.error and len(attempts) > 1:
            tried = "; ".join(
                attempt.error or f"{attempt.reader} read {attempt.records} records" for attempt, _ in attempts
            )
            best_result.error = f"no reader got through the file ({tried})"
        elif best_result.error is None:
            # a fallback got through: the readers that stopped before it are said first among the warnings
            stops = [attempt.error for attempt, _ in attempts if attempt.error]
            read_by = f"{best_result.reader} read the file"
            best_result.bad_record_errors[:0] = [f"warning: {stop}; {read_by}" for stop in stops]
            best_result.warnings += len(stops)
            del best_result.bad_record_errors[KEPT_RECORD_ERRORS:]
        _finish(best_result, best_staged)
        result = best_result
        if remote is not None:
            result.sha256 = remote.sha256
    return result
