"""`linksweep run`: the stages of the config in order, each recorded in `run_stages`, under the run lock.

A run killed at any point (kill -9) and started again with the same config resumes: the unfinished run of that
config (status `running` or `failed`) continues at its first stage not done, and the stages it finished are
not run again. A finished run is not resumed: the next run is a new one, and its stages find little to do
(every stage can be run again). The exit code is that of the stages together (outcome.PRECEDENCE).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crawler.run.config import RunConfig
from crawler.run.lock import name_run, run_lock
from crawler.run.outcome import ExitCode, outcome
from crawler.run.stages import STAGE_FUNCTIONS, STAGES, StageResult
from pipelines.store import open_store

HEARTBEAT_SECONDS = 60.0


class UnknownStage(ValueError):
    pass


@dataclass
class RunResult:
    run_id: int
    resumed: bool
    stages: dict[str, dict] = field(default_factory=dict)  # stage -> status, exit code, counts, seconds
    exit_code: ExitCode = ExitCode.OK
    diff: dict | None = None  # flagged URLs and hosts against the previous snapshot (counts), when there is one

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "resumed": self.resumed,
            "exit_code": int(self.exit_code),
            "stages": self.stages,
            "diff": self.diff,
        }


def _diff_line(db: Path, snapshot: str) -> tuple[dict | None, str | None]:
    """The counts of `linksweep diff` from the previous snapshot to this one, and a line saying them."""
    from pipelines.verdicts import diff_snapshots, previous_snapshot

    with open_store(db, read_only=True) as con:
        previous = previous_snapshot(con, snapshot)
        if previous is None:
            return None, None
        totals = diff_snapshots(con, previous, snapshot, limit=0).totals
    counts = {"from": previous, **asdict(totals)}
    line = (
        f"against {previous}: {totals.new_urls:,} flagged URLs new, {totals.persisting_urls:,} persisting,"
        f" {totals.gone_urls:,} gone; {totals.new_hosts:,} hosts new, {totals.gone_hosts:,} gone"
    )
    return counts, line


class _Heartbeat:
    """A line every `every` seconds while a stage runs (a log with no progress bar still shows it is alive)."""

    def __init__(self, stage: str, echo: Callable[[str], None], every: float = HEARTBEAT_SECONDS) -> None:
        self.stage, self.echo, self.every = stage, echo, every
        self.started = time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self.stop.wait(self.every):
            self.echo(f"[{self.stage}] still running ({time.monotonic() - self.started:,.0f} s)")

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def select_stages(stages: Sequence[str] | None = None, until: str | None = None) -> list[str]:
    """The stages to run, in order: those named (`--stages a,b`), or every stage up to `until`, or all."""
    for name in [*(stages or ()), *([until] if until else [])]:
        if name not in STAGES:
            raise UnknownStage(f"unknown stage {name!r} (the stages, in order: {', '.join(STAGES)})")
    if stages:
        return [stage for stage in STAGES if stage in stages]
    return list(STAGES[: STAGES.index(until) + 1]) if until else list(STAGES)


def _tool_version() -> str:
    from pipelines.export import tool_version

    return tool_version()


def _start(db: Path, config: RunConfig, stages: list[str]) -> tuple[int, bool, dict[str, dict]]:
    """The run to continue (the unfinished run of this config and snapshot) or a new one; (run id, resumed,
    the stages it finished)."""
    with open_store(db) as con:
        rows = con.execute(
            "SELECT run_id FROM runs WHERE config_sha256 = ? AND snapshot = ? AND status IN ('running', 'failed')"
            " ORDER BY run_id DESC LIMIT 1",
            [config.sha256, config.snapshot],
        ).fetchall()
        if rows:
            run_id = rows[0][0]
            con.execute(
                "UPDATE runs SET status = 'running', pid = ?, hostname = ? WHERE run_id = ?",
                [os.getpid(), socket.gethostname(), run_id],
            )
            done = con.execute(
                "SELECT stage, exit_code, counts, seconds FROM run_stages WHERE run_id = ? AND status = 'done'",
                [run_id],
            ).fetchall()
            finished = {
                stage: {"status": "done", "exit_code": code, "counts": json.loads(counts or "{}"), "seconds": seconds}
                for stage, code, counts, seconds in done
            }
            return run_id, True, finished
        [(run_id,)] = con.execute(
            "INSERT INTO runs (run_id, config_path, config_sha256, snapshot, tool_version, inputs, status, pid,"
            " hostname, started_at) VALUES (nextval('run_id_seq'), ?, ?, ?, ?, ?, 'running', ?, ?,"
            " current_timestamp::TIMESTAMP) RETURNING run_id",
            [
                str(config.path),
                config.sha256,
                config.snapshot,
                _tool_version(),
                json.dumps({"corpus": [source.specs() for source in config.corpus], "stages": stages}),
                os.getpid(),
                socket.gethostname(),
            ],
        ).fetchall()
        return run_id, False, {}


def _record_stage(db: Path, run_id: int, stage: str, status: str, **fields) -> None:
    with open_store(db) as con:
        if status == "running":
            con.execute("DELETE FROM run_stages WHERE run_id = ? AND stage = ?", [run_id, stage])
            con.execute(
                "INSERT INTO run_stages (run_id, stage, status, started_at) VALUES (?, ?, 'running',"
                " current_timestamp::TIMESTAMP)",
                [run_id, stage],
            )
            return
        con.execute(
            "UPDATE run_stages SET status = ?, exit_code = ?, counts = ?, error = ?, seconds = ?,"
            " finished_at = current_timestamp::TIMESTAMP WHERE run_id = ? AND stage = ?",
            [
                status,
                fields.get("exit_code"),
                json.dumps(fields.get("counts") or {}, sort_keys=True, default=str),
                fields.get("error"),
                fields.get("seconds"),
                run_id,
                stage,
            ],
        )


def _finish(db: Path, run_id: int, status: str, exit_code: int | None, summary: dict) -> None:
    with open_store(db) as con:
        versions = dict(
            con.execute(
                "SELECT list_name, max(version) FROM list_versions GROUP BY list_name ORDER BY list_name"
            ).fetchall()
        )
        con.execute(
            "UPDATE runs SET status = ?, exit_code = ?, list_versions = ?, summary = ?,"
            " finished_at = current_timestamp::TIMESTAMP WHERE run_id = ?",
            [status, exit_code, json.dumps(versions), json.dumps(summary, sort_keys=True, default=str), run_id],
        )


def run_config(
    config: RunConfig,
    db: Path,
    stages: Sequence[str] | None = None,
    until: str | None = None,
    echo: Callable[[str], None] = print,
) -> RunResult:
    """Run the selected stages of `config` on the store at `db`, resuming the unfinished run of this config."""
    selected = select_stages(stages, until)
    with run_lock(db) as lock:
        run_id, resumed, finished = _start(db, config, selected)
        name_run(lock, run_id)
        result = RunResult(run_id, resumed)
        echo(f"run {run_id} of {config.path} (snapshot {config.snapshot}){': resumed' if resumed else ''}")
        for stage in selected:
            if stage in finished:
                result.stages[stage] = finished[stage]
                echo(f"[{stage}] done in an earlier attempt of run {run_id}")
                continue
            _record_stage(db, run_id, stage, "running")
            echo(f"[{stage}] ...")
            started = time.monotonic()
            try:
                with _Heartbeat(stage, echo):
                    stage_result: StageResult = STAGE_FUNCTIONS[stage](config, db)
            except BaseException as error:
                seconds = time.monotonic() - started
                _record_stage(db, run_id, stage, "failed", error=f"{type(error).__name__}: {error}", seconds=seconds)
                result.stages[stage] = {"status": "failed", "error": str(error), "seconds": seconds}
                _finish(db, run_id, "failed", None, result.as_dict())
                raise
            seconds = time.monotonic() - started
            code = ExitCode(stage_result.exit_code)
            _record_stage(db, run_id, stage, "done", exit_code=int(code), counts=stage_result.counts, seconds=seconds)
            result.stages[stage] = {
                "status": "done",
                "exit_code": int(code),
                "counts": stage_result.counts,
                "seconds": round(seconds, 3),
            }
            for line in stage_result.lines:
                echo(f"[{stage}] {line}")
            echo(f"[{stage}] done in {seconds:.1f} s" + (f" (exit code {int(code)})" if code else ""))
        result.exit_code = outcome(*(ExitCode(stage.get("exit_code") or 0) for stage in result.stages.values()))
        if "match" in result.stages:
            result.diff, line = _diff_line(db, config.snapshot)
            if line:
                echo(f"[diff] {line}")
        _finish(db, run_id, "done", int(result.exit_code), result.as_dict())
    return result
