"""Processes forked ahead of their unit, for units that need a process of their own (a crawl bucket: Scrapy's
reactor runs once per process).

A spawned process imports everything again (Scrapy, Twisted, linksweep: about 0.75 s on the development VM,
once per bucket); a forked one has it already. A process may be forked only while the caller holds no DuckDB
connection and runs no other thread, so they are forked when the engine is made, at the start of a command,
and each waits for the one unit it will run. Units beyond them (more units than processes, retries) run in
spawned processes.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import threading
from multiprocessing.connection import Connection
from typing import Any

from crawler.engines.units import TransientUnitError


def _run_one(connection: Connection, initializer, initargs: tuple) -> None:  # pragma: no cover - child process
    initializer(*initargs)
    try:
        message = connection.recv()
    except EOFError:
        return
    if message is None:  # not needed after all
        return
    function, item = message
    try:
        result: tuple[str, Any] = ("ok", function(item))
    except TransientUnitError as error:
        result = ("transient", str(error))
    except Exception as error:
        result = ("error", f"{type(error).__name__}: {error}")
    connection.send(result)


class Preforked:
    """`count` forked processes, each waiting for one unit."""

    def __init__(self, count: int, initializer, initargs: tuple) -> None:
        context = multiprocessing.get_context("fork")
        self.idle: list[tuple[Connection, Any]] = []
        # never finalize in a child what the caller left for the collector (see LocalEngine._pool)
        gc.freeze()
        try:
            for _ in range(count):
                parent, child = context.Pipe()
                process = context.Process(target=_run_one, args=(child, initializer, initargs))
                process.start()
                child.close()
                self.idle.append((parent, process))
        finally:
            gc.unfreeze()

    def take(self) -> tuple[Connection, Any] | None:
        return self.idle.pop(0) if self.idle else None

    def close(self) -> None:
        for connection, process in self.idle:
            with contextlib.suppress(OSError):
                connection.send(None)
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        self.idle = []


def forking_is_possible() -> bool:
    """Fork only where the platform can, and only from a process running no other thread (a thread's locks
    would be held forever in the child)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
