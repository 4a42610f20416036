"""The engine interface, and choosing one by name."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from crawler.engines.units import UnitFunction, UnitOutcome

ENGINE_NAMES = ("local", "ray")
# How often a unit is run again after a transient error or a worker that died, by default.
DEFAULT_RETRIES = 2


class EngineUnavailable(RuntimeError):
    """The engine asked for cannot run here (Ray not installed, a cluster that cannot be reached)."""


class Engine(Protocol):
    name: str
    workers: int

    def run(
        self,
        function: UnitFunction,
        items: Sequence[Any],
        *,
        retries: int = DEFAULT_RETRIES,
        on_progress: Callable[[int], None] | None = None,
    ) -> Iterator[UnitOutcome]:
        """Run `function` on every item; yield each unit's outcome as it ends, in any order."""
        ...

    def close(self) -> None: ...


def engine_named(
    name: str,
    *,
    workers: int | None = None,
    ray_address: str | None = None,
    fresh_process: bool = False,
    prefork: bool = False,
) -> Engine:
    """The engine `name` (ENGINE_NAMES): `local`, a pool of `workers` processes on this machine; `ray`, Ray Core
    tasks on the cluster at `ray_address` (default: a cluster started for this process with `workers` CPUs).
    `fresh_process`: every unit runs in a process of its own (a crawl bucket: Scrapy's reactor runs once);
    `prefork`: the local engine forks those processes now (crawler/engines/preforked.py)."""
    if name == "local":
        from crawler.engines.local import LocalEngine

        return LocalEngine(workers, fresh_process=fresh_process, prefork=prefork)
    if name == "ray":
        from crawler.engines.ray_engine import RayEngine

        return RayEngine(address=ray_address, cpus=workers, fresh_process=fresh_process)
    raise EngineUnavailable(f"unknown engine {name!r}: choose one of {', '.join(ENGINE_NAMES)}")


def match_engine(name: str, ray_address: str | None = None) -> Engine | None:
    """Who runs `match`'s shards: None for `local` (the compiled kernel is one pass over the URLs, in the
    driver's process, faster than shipping them to workers), the Ray engine for `ray`."""
    if name == "local":
        return None
    return engine_named(name, ray_address=ray_address)
