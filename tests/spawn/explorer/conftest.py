"""Runs the explorer tests share: a recursive run, a sweep of archive selectors and a recursive
sweep, made once per session (a few seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spawn.cli import main

RUN = """seed = 1
budget = 20000
[[envs]]
id = "lineage_sim/DriftingBandit-v0"
kwargs = { n_arms = 4, episode_length = 50, drift_step = 3000, world_seed = 2 }
[[envs]]
id = "lineage_sim/Hiring-v0"
kwargs = { discrete = true }
constitution = "default"
train = false
[spawn]
round_steps = 400
triggers = ["schedule"]
every = 1
child_share = 0.4
min_child_budget = 300
max_children = 3
[operators]
finetune = 1.0
mutate = 1.0
add-tool = 1.0
new-task = 1.0
[eval]
episodes = 2
max_steps = 40
"""

SWEEP = """seed = 1
budget = 1200
regime = "archive"
selector = "greedy"
[[envs]]
id = "FrozenLake-v1"
return_range = [0, 1]
kwargs = { is_slippery = false }
[archive]
batch_size = 2
child_budget = 200
root_budget = 400
[eval]
episodes = 2
max_steps = 40
[sweep]
selector = ["greedy", "hgm"]
seeds = [1, 2]
"""

RECURSIVE_SWEEP = (
    RUN.replace("budget = 20000", "budget = 6000")
    + '[sweep]\n"agent.objective" = ["raw", "penalised"]\nseeds = [1, 2]\n'
)


@pytest.fixture(scope="session")
def explorer_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("explorer")
    for name, text in (("run", RUN), ("sweep", SWEEP), ("rsweep", RECURSIVE_SWEEP)):
        (root / f"{name}.toml").write_text(text)
        assert main(["run", str(root / f"{name}.toml"), "--out", str(root / name), "--quiet"]) == 0
    return {"run": root / "run", "sweep": root / "sweep", "rsweep": root / "rsweep"}
