"""The Ray runtimes against the in-process one and against bare Ray, measured side by side.

Two figures, both sides measured in this one run on one local Ray (started once, its start-up
time reported apart):

1. agent-steps per second of ``ray-shards`` with 2 shards over ``inline`` on a CPU-bound
   workload (a few dozen agents of some thousands of steps each). Target: above 1 on 2 cores.
2. the per-agent wall time of ``ray-actors`` on a tree of tiny agents (compute negligible) over
   that of bare Ray actors: trivial actors that create their children as actors in the same
   tree shape, and trivial actors created all at once from the driver. Target: within 1.5.

    python benchmarks/bench_ray.py [--budget 400000] [--agents 12]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

import ray

from lineage import LineageGraph
from spawn.config import SimConfig, parse_config
from spawn.run.driver import simulate
from spawn.runtimes import Executor, make_ray_actors, make_ray_shards

__all__: list[str] = []

ENV = {"id": "FrozenLake-v1", "return_range": [0, 1], "kwargs": {"is_slippery": True}}


def workload(budget: int) -> SimConfig:
    """CPU-bound: agents of thousands of steps, a few dozen of them."""
    return parse_config(
        {
            "seed": 0,
            "budget": budget,
            "envs": [ENV],
            "agent": {"kind": "q", "epsilon": 0.1},
            "spawn": {"triggers": ["schedule"], "round_steps": 2000, "every": 2, "min_child_budget": 4000},
            "caps": {"max_agents": 60},
            "eval": {"episodes": 5},
        }
    )


def tiny(agents: int) -> SimConfig:
    """A tree of ``agents`` agents whose lives take milliseconds: what is left is overhead."""
    return parse_config(
        {
            "seed": 1,
            "budget": 100 * agents * 4,
            "envs": [ENV],
            "spawn": {"triggers": ["schedule"], "round_steps": 25, "every": 1, "min_child_budget": 25},
            "caps": {"max_agents": agents, "max_depth": 3},
            "eval": {"episodes": 1, "max_steps": 10},
        }
    )


def timed(cfg: SimConfig, executor: Executor | None) -> tuple[float, LineageGraph]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        outcome = simulate(cfg, out, executor, force=True)
        wall = time.perf_counter() - start
    assert outcome.lineage is not None
    return wall, outcome.lineage


def steps(g: LineageGraph) -> int:
    return int(g.column("train_steps").sum() + g.column("eval_steps").sum())


@ray.remote
class Bare:
    """A trivial actor that creates its children (same tree shape) as trivial actors."""

    def live(self, children: dict[str, Any]) -> int:
        kids = [(Bare.remote(), sub) for sub in children.values()]  # type: ignore[attr-defined]
        return 1 + sum(ray.get([k.live.remote(sub) for k, sub in kids]))


def shape(g: LineageGraph, agent: str = "0") -> dict[str, Any]:
    return {c: shape(g, c) for c in g.children(agent)}


def bare_nested(tree: dict[str, Any]) -> float:
    start = time.perf_counter()
    n = ray.get(Bare.remote().live.remote(tree))  # type: ignore[attr-defined]
    return (time.perf_counter() - start) / n


def bare_flat(n: int) -> float:
    start = time.perf_counter()
    actors = [Bare.remote() for _ in range(n)]  # type: ignore[attr-defined]
    ray.get([a.live.remote({}) for a in actors])
    wall = (time.perf_counter() - start) / n
    for a in actors:
        ray.kill(a)
    return wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=int, default=400_000, help="steps of the CPU-bound workload")
    p.add_argument("--agents", type=int, default=12, help="agents in the overhead tree")
    args = p.parse_args()

    start = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    print(f"ray.init: {time.perf_counter() - start:.1f} s (not counted below)")

    cfg = workload(args.budget)
    inline_wall, g = timed(cfg, None)
    shards_wall, g2 = timed(cfg, make_ray_shards(shards=2))
    assert g == g2
    inline_sps, shards_sps = steps(g) / inline_wall, steps(g2) / shards_wall
    print(f"workload: {len(g)} agents, {steps(g):,} agent-steps")
    print(f"inline:            {inline_sps:10,.0f} agent-steps/s ({inline_wall:.1f} s)")
    print(f"ray-shards, 2:     {shards_sps:10,.0f} agent-steps/s ({shards_wall:.1f} s, with shard start-up)")
    print(f"ratio shards/inline: {shards_sps / inline_sps:.2f} (target > 1)")

    small = tiny(args.agents)
    inline_small, t = timed(small, None)
    actors_wall, t2 = timed(small, make_ray_actors())
    assert t == t2
    n = len(t)
    per_agent = (actors_wall - inline_small) / n
    nested = bare_nested(shape(t))
    flat = bare_flat(n)
    print(f"overhead tree: {n} agents, depth {t.summary()['max_depth']}")
    print(f"ray-actors:            {per_agent:.3f} s per agent (run wall minus inline, over agents)")
    print(f"bare actors, nested:   {nested:.3f} s per actor (same tree shape, trivial actors)")
    print(f"bare actors, flat:     {flat:.3f} s per actor (created at once by the driver)")
    print(f"ratio ray-actors/bare nested: {per_agent / nested:.2f} (target <= 1.5)")
    print(f"ratio ray-actors/bare flat:   {per_agent / flat:.2f}")
    ray.shutdown()


if __name__ == "__main__":
    main()
