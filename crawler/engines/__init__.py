"""Engines: what schedules units of work (one corpus file, one shard, one crawl bucket), retries them and
collects their manifests. A unit publishes its own outputs; an engine moves only small manifests.

`local` is a process pool on this machine; `ray` runs Ray Core tasks on a cluster (the optional extra
`linksweep[ray]`, imported only by its engine)."""

from crawler.engines.engine import (
    DEFAULT_RETRIES,
    ENGINE_NAMES,
    Engine,
    EngineUnavailable,
    engine_named,
    match_engine,
)
from crawler.engines.units import (
    Manifest,
    TransientUnitError,
    UnitClock,
    UnitFunction,
    UnitOutcome,
    report_progress,
    worker_facts,
)

__all__ = [
    "DEFAULT_RETRIES",
    "ENGINE_NAMES",
    "Engine",
    "EngineUnavailable",
    "Manifest",
    "TransientUnitError",
    "UnitClock",
    "UnitFunction",
    "UnitOutcome",
    "engine_named",
    "match_engine",
    "report_progress",
    "worker_facts",
]
