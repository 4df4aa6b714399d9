"""In-process speed of a run against a bare loop stepping the same environment with the same policy.

Both sides are measured in this one run and the ratio printed: agent-steps per second of
``lineage-sim``'s inline runtime (training, learning, spawning, evaluation and recording
included) over those of a loop that only steps the environment with the same epsilon-greedy
Q-table policy. Target: at least 0.8.

    python benchmarks/bench_simulator.py [--budget 200000]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import gymnasium as gym
import numpy as np

from spawn.agents import QAgent, TaskShape
from spawn.config import parse_config
from spawn.run.driver import simulate

ENV = {"id": "FrozenLake-v1", "return_range": [0, 1], "kwargs": {"is_slippery": True}}


def bare_loop(steps: int, seed: int = 0) -> float:
    """Agent-steps per second of the same environment and the same policy, nothing else."""
    env = gym.make(ENV["id"], **ENV["kwargs"])
    n_obs, n_act = int(env.observation_space.n), int(env.action_space.n)
    agent = QAgent({"t": TaskShape(n_obs, n_obs, n_act)}, {"epsilon": 0.1}, np.random.default_rng(seed))
    obs, _ = env.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(steps):
        obs, _r, term, trunc, _ = env.step(agent.act("t", int(obs), None))
        if term or trunc:
            obs, _ = env.reset()
    return steps / (time.perf_counter() - start)


def simulator(budget: int) -> tuple[float, int]:
    cfg = parse_config(
        {
            "seed": 0,
            "budget": budget,
            "envs": [ENV],
            "agent": {"kind": "q", "epsilon": 0.1},
            "spawn": {"triggers": ["schedule"], "round_steps": 2000, "every": 3},
            "eval": {"episodes": 5},
        }
    )
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        outcome = simulate(cfg, out, force=True)
        wall = time.perf_counter() - start
    assert outcome.lineage is not None
    steps = int(outcome.lineage.column("train_steps").sum() + outcome.lineage.column("eval_steps").sum())
    return steps / wall, len(outcome.lineage)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=200_000)
    ap.add_argument(
        "--repeats", type=int, default=3, help="alternating repetitions; the median ratio is reported"
    )
    args = ap.parse_args()
    rows = []
    for _ in range(args.repeats):  # alternate the two sides so that machine load hits both alike
        sim, agents = simulator(args.budget)
        bare = bare_loop(args.budget)
        rows.append((sim, bare))
    sims, bares = zip(*rows, strict=True)
    ratios = sorted(s / b for s, b in rows)
    print(f"bare loop        {np.median(bares):12,.0f} agent-steps/s  (median of {args.repeats})")
    print(
        f"inline run       {np.median(sims):12,.0f} agent-steps/s  ({agents} agents, budget {args.budget:,})"
    )
    mid, lo, hi = ratios[len(ratios) // 2], ratios[0], ratios[-1]
    print(f"ratio            {mid:12.2f}  (median; range {lo:.2f}-{hi:.2f}; target >= 0.8)")


if __name__ == "__main__":
    main()
