"""Every example config runs, with a tiny budget, and writes what its README section describes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from spawn.config import parse_config
from spawn.experiments.sweep import run_sweep
from spawn.run.driver import simulate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CONFIGS = sorted(p.name for p in EXAMPLES.glob("*.toml"))


def _tiny(name: str) -> dict:
    data = tomllib.loads((EXAMPLES / name).read_text())
    data["budget"] = min(data["budget"], 4000)
    if "spawn" in data:
        data["spawn"] |= {"round_steps": 400, "min_child_budget": 400}
    if "archive" in data:
        data["archive"] |= {"root_budget": 800, "child_budget": 400, "batch_size": 2}
    data["eval"] = {**data.get("eval", {}), "episodes": 2, "max_steps": 60}
    if "sweep" in data:
        data["sweep"]["seeds"] = data["sweep"].get("seeds", [1])[:1]
    return data


def test_every_example_is_covered() -> None:
    assert set(CONFIGS) >= {
        "quickstart.toml",
        "alignment_tax.toml",
        "narrow_drift.toml",
        "broad_tools.toml",
        "selection.toml",
        "safety_gridworlds.toml",
        "first_agent.toml",
    }


@pytest.mark.parametrize("name", CONFIGS)
def test_example_runs_with_a_tiny_budget(name: str, tmp_path: Path) -> None:
    cfg = parse_config(_tiny(name), source=name)
    if cfg.sweep:
        table = run_sweep(cfg, tmp_path / "out")
        arms = [k for k in cfg.sweep if k != "seeds"]
        expected = 1
        for key in arms:
            expected *= len(cfg.sweep[key])
        assert len(table) == expected and (tmp_path / "out" / "aggregate.csv").is_file()
        assert table["best_value"].notna().all()
        if name == "selection.toml":
            for expand in ("batch", "ucb-air"):
                run = tmp_path / "out" / f"selector=hgm,expand={expand}" / "seed-1"
                assert (run / "batches.csv").is_file() and (run / "steps.csv").is_file()
            # HGM's loop evaluates again and its budget counts evaluation steps; the best agent is tested
            loop = table[table["archive.expand"] == "ucb-air"]
            assert (loop["archive_total_steps"] >= cfg.budget).all() and table["archive_test_value"].notna().all()
        if name == "alignment_tax.toml":
            assert "root_credit:self:transform=lagrangian" in table and "agents_mean_cost" in table
            # the paired arms: without constitutions nothing is measured against one
            free = table[table["constitutions"].astype(str) == "False"]
            assert len(free) == len(table) // 2 and (free["agents_mean_cost"] == 0).all()
        if name == "first_agent.toml":
            # the lineage's gain over the root trained alone, per rule
            assert {"solo_value", "gain:self", "gain:best-descendant", "gain:ancestor-utility"} <= set(table)
            assert table["solo_value"].between(0, 1).all()
        if name == "narrow_drift.toml":
            assert {"recovery_time:DriftingBandit-v0", "life_recovery_time:DriftingBandit-v0"} <= set(table)
        if name == "broad_tools.toml":
            assert "agents_mean_tools" in table
    else:
        outcome = simulate(cfg, tmp_path / "out")
        assert outcome.complete and outcome.lineage is not None and len(outcome.lineage) >= 1
        agents = pd.read_csv(tmp_path / "out" / "agents.csv")
        assert agents["value"].between(0, 1).all()
        if name == "safety_gridworlds.toml":
            assert {"IslandNavigation-v0.hidden_performance", "SideEffectsSokoban-v0.return"} <= set(agents)
    # the explorer's page of it (lineage-sim view) holds every run and every agent of each
    from spawn.explorer.data import explorer_data
    from spawn.plots.common import load_source

    page = explorer_data(tmp_path / "out")
    runs = [r for rs in load_source(tmp_path / "out").lineages().values() for r in rs]
    assert [r["agents"] for r in page["runs"]] == [len(g) for g in runs]
    assert [sorted(r["id"]) for r in page["runs"]] == [sorted(g.ids) for g in runs]
    assert (page["arms"] is not None) == bool(cfg.sweep) and all(r["credit"] for r in page["runs"])


def test_the_quickstart_charges_agents_that_decide_by_group(tmp_path: Path) -> None:
    # Issue 15: the quickstart's agents all showed distance 0 while the best one decided by group.
    # Its new-task clades learn to hire on Hiring-v0; the greedy decision of such an agent changes
    # with the candidate's group somewhere, and then its distance is positive, while an agent that
    # never trained there decides nothing by group and is at 0 exactly.
    data = tomllib.loads((EXAMPLES / "quickstart.toml").read_text())
    data["budget"] = 30000
    data["eval"] = {"episodes": 2, "max_steps": 100}
    outcome = simulate(parse_config(data), tmp_path / "q")
    assert outcome.complete
    agents = pd.read_csv(tmp_path / "q" / "agents.csv")
    moved = (agents["invariance.ignore-protected-attributes"] > 0) | (agents["invariance.ignore-age"] > 0)
    assert moved.any(), "no agent learnt to decide by group or age: the case is not exercised"
    assert (agents.loc[moved, "Hiring-v0.distance"] > 0).all()
    assert (agents.loc[moved, "Hiring-v0.distance.invariance"] > 0).all()
    untrained = ~agents["tasks"].str.contains("Hiring-v0")  # its Hiring table all zeros: every row the same
    assert untrained.any() and (agents.loc[untrained, "Hiring-v0.distance"] == 0).all()
    assert (agents["Hiring-v0.distance.forbidden"] == 0).all()  # Hiring forbids no action
