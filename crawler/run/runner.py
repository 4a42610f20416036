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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crawler.run.config import RunConfig
from crawler.run.lock import name_run, run_lock
from crawler.run.outcome import ExitCode, outcome
from crawler.run.stages import STAGE_FUNCTIONS, STAGES, StageResult
from pipelines.store import open_store


class UnknownStage(ValueError):
    pass


@dataclass
class RunResult:
    run_id: int
    resumed: bool
    stages: dict[str, dict] = field(default_factory=dict)  # stage -> status, exit code, counts, seconds
    exit_code: ExitCode = ExitCode.OK

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "resumed": self.resumed, "exit_code": int(self.exit_code), "stages": self.stages}


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
        _finish(db, run_id, "done", int(result.exit_code), result.as_dict())
    return result
