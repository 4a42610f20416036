"""What engines run: units of work, each a picklable function of one item that publishes its own outputs and
returns a small manifest (a JSON-able dict); and what they hand back for each."""

from __future__ import annotations

import os
import resource
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Manifest = dict[str, Any]
UnitFunction = Callable[[Any], Manifest]


class TransientUnitError(RuntimeError):
    """A unit failed for a reason that may pass (a read error of a shared filesystem, a dropped connection):
    the engine runs it again, up to its retries. Any other exception fails the unit at once."""


@dataclass(frozen=True)
class UnitOutcome:
    """One unit's end: its manifest, or why it has none (an exception, retries spent, a worker that died)."""

    index: int  # of the item among those given to the engine
    manifest: Manifest | None
    error: str | None = None
    attempts: int = 1


def worker_facts() -> dict[str, Any]:
    """What a manifest says about the process that ran the unit: where, how much CPU, how much memory."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "cpu_seconds_process": usage.ru_utime + usage.ru_stime,
        "peak_rss_bytes": usage.ru_maxrss * 1024,  # Linux reports kilobytes
    }


class UnitClock:
    """Wall and CPU time of one unit, for its manifest."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def facts(self) -> dict[str, Any]:
        return {
            "seconds": round(time.perf_counter() - self.wall, 6),
            "cpu_seconds": round(time.process_time() - self.cpu, 6),
            **worker_facts(),
        }


# Worker side: where a unit reports the bytes it has read (the local engine's shared counter; nothing elsewhere).
_progress_sink: Callable[[int], None] | None = None


def set_progress_sink(sink: Callable[[int], None] | None) -> None:
    global _progress_sink
    _progress_sink = sink


def report_progress(delta: int) -> None:
    """Called by units as they read; the local engine adds it to its progress bar, other engines drop it."""
    if _progress_sink is not None:
        _progress_sink(delta)
