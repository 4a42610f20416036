"""Committing read sources to the store, in source order, each source's rows beside the next one's URLs."""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import duckdb

from crawler.corpus import SourceResult
from pipelines.store import SourceOutcome, commit_source_rows, finish_source, record_new_urls, sql_identifier


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
        sha256=result.sha256,
    )


class Committer:
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
