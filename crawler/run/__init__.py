"""`linksweep run`: the whole job from one config (TOML), stage by stage, recorded, resumable, one run per
store at a time; and the exit codes every command shares."""

from crawler.run.config import ConfigError, RunConfig, load_config
from crawler.run.lock import RunLocked
from crawler.run.outcome import PRECEDENCE, ExitCode, crawl_outcome, outcome
from crawler.run.runner import RunResult, UnknownStage, run_config, select_stages
from crawler.run.stages import STAGES

__all__ = [
    "ConfigError",
    "ExitCode",
    "PRECEDENCE",
    "RunConfig",
    "RunLocked",
    "RunResult",
    "STAGES",
    "UnknownStage",
    "crawl_outcome",
    "load_config",
    "outcome",
    "run_config",
    "select_stages",
]
