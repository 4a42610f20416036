"""A Ray cluster of simulated nodes on this machine, for the tests of the Ray engine (skipped without Ray)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def ray_cluster(*cpus_per_node: int) -> Iterator[str]:
    """A cluster with one node per entry of `cpus_per_node` (the first is the head); yields its address.
    Whatever joined it in this process (the engine under test) leaves it at the end."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": cpus_per_node[0], "include_dashboard": False},
    )
    try:
        for cpus in cpus_per_node[1:]:
            cluster.add_node(num_cpus=cpus)
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        ray.shutdown()
        cluster.shutdown()
