"""Regenerate ``examples/lineage.json``: a small, seeded, hand-shaped lineage for trying the tools.

Run ``python examples/make_lineage.py``; the same seed always writes the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lineage import LineageGraph

OPERATORS = {
    "finetune": "narrow",
    "retrain-on-drift": "narrow",
    "mutate": "broad",
    "add-tool": "broad",
    "new-task": "broad",
}


def make(seed: int = 7, generations: int = 5) -> LineageGraph:
    rng = np.random.default_rng(seed)
    g = LineageGraph(name="example", seed=seed)

    def record(agent: str, parent: str | None, op: str | None, value: float, birth: int) -> None:
        trials = 20
        successes = int(rng.binomial(trials, value))
        distance = float(np.round(rng.exponential(0.6 if op != "mutate" else 1.5), 4))
        g.add_agent(
            agent, parent=parent, operator=op,
            kind=OPERATORS[op] if op else "root",
            value=round(value, 4), successes=successes, trials=trials,
            distance=distance, cost=round(float(rng.uniform(0, 0.3)) * distance, 4), birth_time=birth,
        )

    record("0", None, None, 0.2, 0)
    frontier = ["0"]
    for gen in range(1, generations + 1):
        nxt = []
        for parent in frontier:
            n_children = int(rng.integers(0, 4)) if gen > 1 else 3
            for k in range(n_children):
                op = str(rng.choice(list(OPERATORS)))
                pv = g.attributes(parent)["value"]
                value = float(np.clip(pv + rng.normal(0.06, 0.12), 0.0, 1.0))
                child = f"{parent}.{k}"
                birth = int(g.attributes(parent)["birth_time"]) + int(rng.integers(100, 1000))
                record(child, parent, op, value, birth)
                nxt.append(child)
        frontier = nxt[:8]
    return g


if __name__ == "__main__":
    out = Path(__file__).with_name("lineage.json")
    lineage = make()
    lineage.save(out)
    print(f"wrote {out}: {len(lineage)} agents, depth {lineage.summary()['max_depth']}")
