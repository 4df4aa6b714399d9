"""Many agents: the archive regime on both engines against a numpy lock-step ceiling.

One run measures, on FrozenLake 4x4 (slippery) with tabular Q agents, the archive regime with the
``uniform`` selector and even lives (``child_budget = 300``, each batch of ``--batch`` children a
cohort) end to end in process, on the per-agent engine and on the cohort engine (checking that
they wrote the same bytes), and a numpy loop that does only act-step-update for as many agents in
lock-step on the same environment's transition table: the ceiling. It prints wall time,
agent-steps per second (training and evaluation steps) and the ratios.

    python benchmarks/bench_cohort.py [--agents 2000] [--batch 500] [--operators finetune] [--regime recursive]
        [--engine cohort]

``--engine cohort`` runs the cohort engine alone (for sizes where the per-agent run takes too
long: the 10^5-agent target) and prints its wall time, rate and peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

from spawn.config import parse_config
from spawn.run.driver import simulate

ENV = {"id": "FrozenLake-v1", "return_range": [0, 1], "kwargs": {"is_slippery": True}}
CHILD_BUDGET = 300


def config(
    agents: int, batch: int, engine: str = "per-agent", operators: str = "all", regime: str = "archive"
) -> object:
    ops = {"finetune": 1.0, "mutate": 0.0, "add-tool": 0.0, "new-task": 0.0} if operators == "finetune" else {}
    if regime == "recursive":  # the quickstart's spawning, on the lake: every frontier a cohort
        return parse_config(
            {
                "seed": 1,
                "budget": agents * 400,
                "engine": engine,
                "envs": [ENV],
                "agent": {"kind": "q", "epsilon": 0.1, "alpha": 0.1, "gamma": 0.95},
                "spawn": {
                    "round_steps": 300,
                    "triggers": ["schedule"],
                    "every": 1,
                    "child_share": 0.5,
                    "min_child_budget": 300,
                    "max_children": 4,
                },
                **({"operators": ops} if ops else {}),
                "caps": {"max_agents": agents, "max_depth": 16},
                "eval": {"episodes": 2, "max_steps": 100},
            }
        )
    return parse_config(
        {
            "engine": engine,
            **({"operators": ops} if ops else {}),
            "seed": 1,
            "budget": agents * CHILD_BUDGET,
            "regime": "archive",
            "selector": "uniform",
            "envs": [ENV],
            "agent": {"kind": "q", "epsilon": 0.1, "alpha": 0.1, "gamma": 0.95},
            "archive": {"batch_size": batch, "child_budget": CHILD_BUDGET, "root_budget": CHILD_BUDGET},
            "caps": {"max_agents": agents, "max_depth": 64},
            # the archive regime's agents never spawn by themselves: no trigger watches their rewards
            "spawn": {"triggers": ["schedule"]} if operators == "finetune" else {},
            "eval": {"episodes": 2, "max_steps": 100},
        }
    )


FILES = ("lineage.json", "agents.csv", "summary.json", "batches.csv", "curves.csv")


def run(agents: int, batch: int, engine: str, operators: str, regime: str, out: Path) -> tuple[float, int, int]:
    """Wall seconds, agent-steps (training and evaluation) and agents of the whole run, in process."""
    start = time.perf_counter()
    simulate(config(agents, batch, engine, operators, regime), out)  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    timing = json.loads((out / "timing.json").read_text())
    return wall, int(timing["train_steps"]) + int(timing["eval_steps"]), int(timing["agents"])


def lockstep(agents: int, steps: int, seed: int = 0) -> float:
    """Agent-steps per second of ``agents`` epsilon-greedy Q-learners stepped together on the
    environment's transition table (act, step, update; nothing else)."""
    env = gym.make(ENV["id"], **ENV["kwargs"])
    table = env.unwrapped.P  # type: ignore[attr-defined]
    n_s, n_a = len(table), len(table[0])
    k = max(len(table[s][a]) for s in table for a in table[s])
    nxt = np.zeros((n_s, n_a, k), dtype=np.int64)
    cum = np.ones((n_s, n_a, k))
    rew = np.zeros((n_s, n_a, k))
    done = np.zeros((n_s, n_a, k), dtype=bool)
    for s in table:
        for a in table[s]:
            acc = 0.0
            for j, (p, s2, r, d) in enumerate(table[s][a]):
                acc += p
                nxt[s, a, j], cum[s, a, j], rew[s, a, j], done[s, a, j] = s2, acc, r, d
    rng = np.random.default_rng(seed)
    q = np.zeros((agents, n_s, n_a))
    state = np.zeros(agents, dtype=np.int64)
    rows = np.arange(agents)
    start = time.perf_counter()
    for _ in range(steps):
        u = rng.random((3, agents))
        greedy = np.argmax(q[rows, state], axis=1)
        a = np.where(u[0] < 0.1, (u[1] * n_a).astype(np.int64), greedy)
        j = np.argmax(cum[state, a] > u[2][:, None], axis=1)
        s2, r, d = nxt[state, a, j], rew[state, a, j], done[state, a, j]
        target = r + 0.95 * np.where(d, 0.0, q[rows, s2].max(axis=1))
        q[rows, state, a] += 0.1 * (target - q[rows, state, a])
        state = np.where(d, 0, s2)
    return agents * steps / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=500, help="children per batch (the cohort size)")
    ap.add_argument(
        "--operators",
        choices=["all", "finetune"],
        default="all",
        help="all: the default operator weights and triggers (mutate may switch a child to q-lambda, which "
        "has no kernel yet; river's ADWIN watches every reward); finetune: every child a fine-tuned copy, "
        "and only the schedule trigger",
    )
    ap.add_argument("--regime", choices=["archive", "recursive"], default="archive")
    ap.add_argument("--engine", choices=["both", "cohort"], default="both", help="cohort: that engine alone")
    args = ap.parse_args()
    if args.engine == "cohort":
        with tempfile.TemporaryDirectory() as tmp:
            wall, steps, made = run(args.agents, args.batch, "cohort", args.operators, args.regime, Path(tmp) / "c")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
        print(f"{made} agents ({args.regime}), cohort engine: {wall:.1f} s, {steps / wall:,.0f} agent-steps/s, "
              f"peak resident memory {peak:,.0f} MB")
        return
    walls, rates = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine in ("per-agent", "cohort"):
            wall, steps, made = run(args.agents, args.batch, engine, args.operators, args.regime, Path(tmp) / engine)
            walls[engine], rates[engine] = wall, steps / wall
        files = FILES if args.regime == "archive" else tuple(f for f in FILES if f != "batches.csv")
        same = all((Path(tmp) / "cohort" / f).read_bytes() == (Path(tmp) / "per-agent" / f).read_bytes() for f in files)
    ceiling = lockstep(args.batch, 2000)
    base = rates["per-agent"]
    shape = f"child_budget {CHILD_BUDGET}, batches of {args.batch}" if args.regime == "archive" else "spawning"
    print(
        f"{made} agents ({args.regime}), FrozenLake 4x4 slippery, {shape}, operators: {args.operators}; "
        f"same bytes: {same}"
    )
    print(f"{'engine':<26}{'wall s':>10}{'agent-steps/s':>16}{'x per-agent':>13}")
    for engine in ("per-agent", "cohort"):
        print(f"{engine:<26}{walls[engine]:>10.1f}{rates[engine]:>16,.0f}{rates[engine] / base:>13.2f}")
    print(f"{'lock-step ceiling':<26}{'':>10}{ceiling:>16,.0f}{ceiling / base:>13.1f}")
    print(f"cohort / ceiling: {rates['cohort'] / ceiling:.3f}")
    if not same:
        raise SystemExit("the engines wrote different bytes")


if __name__ == "__main__":
    main()
