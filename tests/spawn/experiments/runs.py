"""Archive run directories written by hand, so that what a study computes from them is known exactly.

Each run is built from a table of agents and one of batches, holding just what the study reads:
``lineage.json`` (ids, parents, ``value``, ``train_steps``) and ``batches.csv`` (the archive's
columns: budget spent, best agent and value after each batch, the children it made).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from lineage import LineageGraph

#: The columns of an archive run's batches.csv, as the archive regime writes them.
BATCH_COLUMNS = ["batch", "archive_size", "spent", "best_agent", "best_value", "parents", "parent_scores", "children"]


def archive_run(
    path: Path,
    agents: Sequence[tuple[str, str | None, float, int]],
    batches: Sequence[tuple[int, str, float, str]],
) -> Path:
    """Write a run directory: ``agents`` as (id, parent, value, train_steps), parents first, the root
    ``"0"``; ``batches`` as (spent, best agent, best value, children separated by spaces)."""
    path.mkdir(parents=True)
    g = LineageGraph()
    for agent, parent, value, steps in agents:
        g.add_agent(agent, parent=parent, operator="finetune" if parent else None, value=value, train_steps=steps)
    g.save(path / "lineage.json")
    with (path / "batches.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(BATCH_COLUMNS)
        for i, (spent, best, best_value, children) in enumerate(batches):
            parents = " ".join(sorted({c.rpartition(".")[0] for c in children.split()}))
            w.writerow([i, 0, spent, best, best_value, parents, "", children])
    return path


def run_a(path: Path) -> Path:
    """Root 0.2; batch 0 makes 0.0 (0.6) and 0.1 (0.1); batch 1 makes 0.0.0 (0.8). 100 steps each."""
    return archive_run(
        path,
        [("0", None, 0.2, 100), ("0.0", "0", 0.6, 100), ("0.1", "0", 0.1, 100), ("0.0.0", "0.0", 0.8, 100)],
        [(300, "0.0", 0.6, "0.0 0.1"), (400, "0.0.0", 0.8, "0.0.0")],
    )


def run_b(path: Path) -> Path:
    """Root 0.5; batch 0 makes the root's eleventh child 0.10 (0.9). 100 steps each."""
    return archive_run(path, [("0", None, 0.5, 100), ("0.10", "0", 0.9, 100)], [(200, "0.10", 0.9, "0.10")])


def run_c(path: Path) -> Path:
    """The root alone (0.4, 100 steps): no batch ran."""
    return archive_run(path, [("0", None, 0.4, 100)], [])
