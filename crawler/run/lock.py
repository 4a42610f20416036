"""The run lock: one `linksweep run` per store at a time. A file beside the store names its holder (pid, host,
run id, start); a second run exits at once naming it, and a lock whose holder died on this host (kill -9, a
reboot) is taken over."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.store import StoreLocked, store_time


class RunLocked(StoreLocked):
    """Another run holds the store (exit 3, as a store held by another process)."""


@dataclass(frozen=True)
class Holder:
    pid: int
    hostname: str
    run_id: int | None
    started_at: str

    def line(self) -> str:
        run = f"run {self.run_id}" if self.run_id is not None else "a run"
        return f"{run}, pid {self.pid} on {self.hostname}, started {self.started_at}"


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.name}.run.lock")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _read(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text())
        return Holder(int(data["pid"]), str(data["hostname"]), data.get("run_id"), str(data["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # vanished, or half written by a process that died: stale


def _stale(holder: Holder | None) -> bool:
    return holder is None or (holder.hostname == socket.gethostname() and not _alive(holder.pid))


@contextlib.contextmanager
def run_lock(db_path: Path) -> Iterator[Path]:
    """Hold the run lock of the store at `db_path` for the block (RunLocked when a live run holds it)."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mine = json.dumps(
        {
            "pid": os.getpid(),
            "hostname": socket.gethostname(),
            "run_id": None,
            "started_at": f"{store_time():%Y-%m-%d %H:%M:%S}",
        }
    )
    for _attempt in range(3):
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read(path)
            if not _stale(holder):
                raise RunLocked(
                    f"{db_path}: another linksweep run holds this store ({holder.line()}); wait for it to end"
                ) from None
            # the holder is dead: take the lock over (a rename is atomic; the next attempt creates it afresh)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        with os.fdopen(descriptor, "w") as out:
            out.write(mine)
        break
    else:
        raise RunLocked(f"{db_path}: could not take the run lock {path}")
    try:
        yield path
    finally:
        holder = _read(path)
        if holder is not None and holder.pid == os.getpid():
            path.unlink(missing_ok=True)


def name_run(path: Path, run_id: int) -> None:
    """Record the run id in the lock (for the message a second run prints)."""
    data = json.loads(path.read_text())
    data["run_id"] = run_id
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)
