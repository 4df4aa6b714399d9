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


def test_resume_finishes_an_interrupted_run_to_the_same_bytes(tmp_path: Path) -> None:
    import tomllib

    from spawn.config import parse_config
    from spawn.run.driver import simulate as run_simulation

    full = spawn.simulate(tomllib.loads(CONFIG), tmp_path / "full")
    outcome = run_simulation(parse_config(tomllib.loads(CONFIG)), tmp_path / "cut", stop_after=2)
    assert not outcome.complete and not (tmp_path / "cut" / "lineage.json").exists()
    done = spawn.resume(tmp_path / "cut")
    assert isinstance(done, Run) and done.lineage == full.lineage
    for name in ("lineage.json", "agents.csv", "summary.json"):
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "full" / name).read_bytes()


def test_resume_refuses_a_study_and_finishes_a_sweep(tmp_path: Path) -> None:
    from spawn.errors import RunDirError
    from spawn.run.rundir import open_out

    sweep = config(budget=400, sweep={"agent.objective": ["raw", "penalised"], "seeds": [1]})
    first = spawn.simulate(sweep, tmp_path / "sweep")
    assert isinstance(first, Sweep)
    (tmp_path / "sweep" / "aggregate.csv").unlink()  # as if interrupted after its runs
    again = spawn.resume(tmp_path / "sweep")
    assert isinstance(again, Sweep) and again.aggregate.equals(first.aggregate)
    open_out(tmp_path / "study", force=False, kind="study").release()
    (tmp_path / "study" / "study.csv").write_text("selector\n")
    with pytest.raises(RunDirError, match="is a selector-study directory; run the study again instead"):
        spawn.resume(tmp_path / "study")
