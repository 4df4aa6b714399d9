"""The Python API mirrors the command line: same config, same lineage; runs reopen; plots draw."""

from __future__ import annotations

from pathlib import Path

import pytest

import spawn
from lineage import LineageGraph
from spawn.api import Run, Sweep
from spawn.cli import main

from .helpers import config

CONFIG = """seed = 2
budget = 1200
[[envs]]
id = "lineage_sim/Hiring-v0"
kwargs = { discrete = true }
constitution = "default"
[spawn]
round_steps = 200
min_child_budget = 200
[eval]
episodes = 2
max_steps = 50
"""


def test_api_gives_the_same_lineage_as_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CONFIG)
    assert main(["run", str(path), "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    run = spawn.simulate(path, tmp_path / "api")
    assert isinstance(run, Run)
    assert run.lineage == LineageGraph.load(tmp_path / "cli" / "lineage.json")
    for name in ("lineage.json", "agents.csv", "summary.json"):
        assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "api" / name).read_bytes()
    assert list(run.agents.index) == run.lineage.ids and run.agents.loc["0", "depth"] == 0
    assert run.summary["agents"] == len(run.lineage)
    table = run.attribution(["self", "discounted"])
    assert table.loc["0", "self"] == pytest.approx(run.lineage.attributes("0")["value"])
    again = spawn.open_run(tmp_path / "api")
    assert again.lineage == run.lineage and again.config == run.config


def test_api_takes_mappings_and_configs_and_seeds(tmp_path: Path) -> None:
    cfg = config()
    a = spawn.simulate(cfg, tmp_path / "a", seed=5)
    b = spawn.simulate(cfg.model_dump(by_alias=True) | {"seed": 5}, tmp_path / "b")
    assert isinstance(a, Run) and isinstance(b, Run)
    assert a.lineage == b.lineage and a.config.seed == 5
    fig = a.plot("tree", tmp_path / "tree.png")
    assert (tmp_path / "tree.png").stat().st_size > 0 and fig is not None


def test_api_runs_sweeps(tmp_path: Path) -> None:
    cfg = config(budget=600, sweep={"agent.epsilon": [0.05, 0.3], "seeds": [1]})
    sweep = spawn.simulate(cfg, tmp_path / "s")
    assert isinstance(sweep, Sweep)
    assert list(sweep.aggregate.arm) == ["epsilon=0.05", "epsilon=0.3"]
    runs = sweep.runs()
    assert [r.config.agent.epsilon for r in runs["epsilon=0.3"]] == [0.3]
