"""The Ray runtimes on a three-node cluster simulated in one machine: work lands on several nodes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spawn.run.driver import simulate
from spawn.runtimes import make_ray_actors, make_ray_shards

from .test_ray_runtimes import outputs, small

__all__: list[str] = []


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A head without CPUs (so no agent lands there) and two worker nodes of one CPU each."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    try:
        for _ in range(2):
            c.add_node(num_cpus=1)
        c.wait_for_nodes()
        ray.init(address=c.address, logging_level="WARNING")
        yield
    finally:
        ray.shutdown()
        c.shutdown()


@pytest.mark.ray
def test_agents_land_on_several_nodes_with_the_same_bytes(cluster: None, tmp_path: Path) -> None:
    simulate(small(), tmp_path / "inline")
    reference = outputs(tmp_path / "inline")
    for name, executor in {
        "shards": make_ray_shards(shards=2, slice_seconds=1e-6),
        "actors": make_ray_actors(),
    }.items():
        outcome = simulate(small(), tmp_path / name, executor)
        assert outputs(tmp_path / name) == reference, name
        where = outcome.where
        assert where["nodes"] == 3 and where["cpus"] == 2, where
        assert where["nodes_used"] == 2, where  # both worker nodes, never the CPU-less head
