"""The Ray engine: each unit a Ray Core task on a cluster (the optional extra `linksweep[ray]`).

Only items and manifests travel through Ray: a unit reads its input and publishes its outputs itself, on a
filesystem every node shares with the driver (docs/scale.md). A worker that dies mid-unit has its unit run
again by Ray (`max_retries`), and so does a unit that raised TransientUnitError (`retry_exceptions`); since a
unit publishes with one rename, the run it did not finish left nothing behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from crawler.engines.engine import DEFAULT_RETRIES, EngineUnavailable
from crawler.engines.units import TransientUnitError, UnitFunction, UnitOutcome

# Environment variable naming the cluster to join when --ray-address is not given (Ray's own convention).
RAY_ADDRESS_VARIABLE = "RAY_ADDRESS"


def _import_ray():
    try:
        import ray
    except ImportError:
        raise EngineUnavailable(
            "the ray engine needs Ray: pip install 'linksweep[ray]' (or pip install -e '.[ray]' in a checkout)"
        ) from None
    return ray


class RayEngine:
    name = "ray"

    def __init__(self, address: str | None = None, cpus: int | None = None, *, fresh_process: bool = False) -> None:
        ray = _import_ray()
        self.ray = ray
        self.fresh_process = fresh_process
        self.started_here = False
        address = address or os.environ.get(RAY_ADDRESS_VARIABLE)
        if not ray.is_initialized():
            try:
                if address:
                    ray.init(address=address, log_to_driver=False, logging_level="warning")
                else:
                    ray.init(
                        num_cpus=cpus or os.cpu_count() or 1,
                        include_dashboard=False,
                        log_to_driver=False,
                        logging_level="warning",
                    )
                    self.started_here = True
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise EngineUnavailable(f"cannot join the Ray cluster at {address or '(new)'}: {error}") from None
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))

    def run(
        self,
        function: UnitFunction,
        items: Sequence[Any],
        *,
        retries: int = DEFAULT_RETRIES,
        on_progress: Callable[[int], None] | None = None,
    ) -> Iterator[UnitOutcome]:
        ray = self.ray
        task = ray.remote(
            num_cpus=1,
            max_retries=retries,
            retry_exceptions=[TransientUnitError],
            max_calls=1 if self.fresh_process else 0,
        )(function)
        pending = {task.remote(item): index for index, item in enumerate(items)}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in ready:
                index = pending.pop(ref)
                try:
                    manifest = ray.get(ref)
                except ray.exceptions.RayTaskError as error:
                    cause = error.cause if error.cause is not None else error
                    yield UnitOutcome(index, None, f"{type(cause).__name__}: {cause}", retries + 1)
                except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as error:
                    yield UnitOutcome(index, None, f"its worker died {retries + 1} times: {error}", retries + 1)
                else:
                    yield UnitOutcome(index, manifest, None, 1)

    def close(self) -> None:
        if self.started_here and self.ray.is_initialized():
            self.ray.shutdown()

    def __enter__(self) -> RayEngine:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
