"""The recursive regime end to end: budget conservation, caps, the gate, determinism, resume, the CLI."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage import LineageGraph
from spawn.cli import main
from spawn.run.driver import resume, simulate

from ..helpers import HIRING, config

DETERMINISTIC = ("config.toml", "lineage.json", "phylogeny.csv", "agents.csv", "curves.csv", "summary.json")


def _bytes(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in DETERMINISTIC}


def test_run_writes_every_output(tmp_path: Path) -> None:
    outcome = simulate(config(), tmp_path / "r")
    assert outcome.complete and outcome.lineage is not None
    for name in (*DETERMINISTIC, "timing.json", "checkpoint/manifest.json", "lineage-sim.json"):
        assert (tmp_path / "r" / name).is_file(), name
    assert not (tmp_path / "r" / "checkpoint.pkl").exists()
    lineage = LineageGraph.load(tmp_path / "r" / "lineage.json")
    assert lineage == outcome.lineage
    assert len(lineage) > 3 and lineage.summary()["max_depth"] >= 2
    header = (tmp_path / "r" / "agents.csv").read_text().splitlines()[0].split(",")
    assert header[:6] == ["id", "parent", "depth", "operator", "kind", "birth_time"]
    assert {"value", "return", "train_steps", "FrozenLake-v1.value"} <= set(header)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["agents"] == len(lineage) and summary["train_steps"] == 3000
    timing = json.loads((tmp_path / "r" / "timing.json").read_text())
    assert timing["where"]["runtime"] == "inline" and timing["wall_seconds"] > 0


def test_same_seed_same_bytes_other_seed_other_lineage(tmp_path: Path) -> None:
    cfg = config()
    simulate(cfg, tmp_path / "a")
    simulate(cfg, tmp_path / "b")
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")
    simulate(config(seed=4), tmp_path / "c")
    a = json.loads((tmp_path / "a" / "lineage.json").read_text())
    c = json.loads((tmp_path / "c" / "lineage.json").read_text())
    assert a["nodes"] != c["nodes"]


def test_resume_after_interruption_gives_the_same_bytes(tmp_path: Path) -> None:
    cfg = config()
    simulate(cfg, tmp_path / "full")
    stopped = simulate(cfg, tmp_path / "cut", stop_after=3)
    assert not stopped.complete and not (tmp_path / "cut" / "lineage.json").exists()
    again = resume(tmp_path / "cut", stop_after=2)  # interrupted twice
    assert not again.complete
    assert main(["resume", str(tmp_path / "cut"), "--quiet"]) == 0
    assert _bytes(tmp_path / "cut") == _bytes(tmp_path / "full")


def test_resume_refuses_what_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["resume", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    simulate(config(), tmp_path / "r")
    (tmp_path / "r" / "checkpoint" / "manifest.json").write_bytes(b"garbage")
    assert main(["resume", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "corrupt checkpoint" in err[0]


def test_out_dir_refused_unless_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text('seed = 1\nbudget = 500\n[[envs]]\nid = "FrozenLake-v1"\nreturn_range = [0, 1]\n')
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    for force in ([], ["--force"]):  # a folder of the user's is never used, not even with --force
        assert main(["run", str(cfg_path), "--out", str(out), "--quiet", *force]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "keep.txt" in err[0]
        assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    run = tmp_path / "run"
    assert main(["run", str(cfg_path), "--out", str(run), "--quiet"]) == 0
    assert main(["run", str(cfg_path), "--out", str(run), "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["run", str(cfg_path), "--out", str(run), "--quiet", "--force", "--seed", "9"]) == 0
    assert tomllib.loads((run / "config.toml").read_text())["seed"] == 9


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    budget=st.integers(200, 2500),
    share=st.floats(0.2, 0.8),
    round_steps=st.integers(50, 400),
    max_agents=st.integers(1, 12),
    max_depth=st.integers(0, 4),
    max_children=st.integers(0, 3),
    seed=st.integers(0, 1000),
)
def test_budget_and_caps_hold(
    tmp_path_factory: pytest.TempPathFactory,
    budget: int,
    share: float,
    round_steps: int,
    max_agents: int,
    max_depth: int,
    max_children: int,
    seed: int,
) -> None:
    cfg = config(
        seed=seed,
        budget=budget,
        spawn={
            "round_steps": round_steps,
            "child_share": share,
            "min_child_budget": 50,
            "max_children": max_children,
        },
        caps={"max_agents": max_agents, "max_depth": max_depth},
        eval={"episodes": 1, "max_steps": 20},
    )
    outcome = simulate(cfg, tmp_path_factory.mktemp("run"))
    g = outcome.lineage
    assert g is not None
    assert g.column("train_steps").sum() == budget  # every step of the root's budget is spent, none twice
    assert len(g) <= max_agents
    assert g.summary()["max_depth"] <= max_depth
    assert max((len(g.children(a)) for a in g), default=0) <= max_children
    for a in g:  # a child's budget came out of its parent's: what it trained plus what it handed on
        handed = sum(g.attributes(k)["budget"] for k in g.children(a))
        assert g.attributes(a)["train_steps"] + handed == g.attributes(a)["budget"]


def test_liability_gate_stops_spawning(tmp_path: Path) -> None:
    data = {"envs": [HIRING], "budget": 4000, "agent": {"objective": "raw"}}
    free = simulate(config(**data), tmp_path / "free").lineage
    gated = simulate(config(**data, gate={"max_liability": 0.0}), tmp_path / "gated").lineage
    assert free is not None and gated is not None
    assert free.attributes("0")["train_cost"] > 0  # the raw learner does reach forbidden states
    assert len(free) > 1 and len(gated) == 1


def test_attribution_rules_in_the_config_write_attribution_csv(tmp_path: Path) -> None:
    import csv

    from attribution import attribution_table

    cfg = config(envs=[HIRING], attribution={"rules": ["self", "discounted:gamma=0.5", "cmp"]})
    g = simulate(cfg, tmp_path / "r").lineage
    assert g is not None
    rows = list(csv.DictReader((tmp_path / "r" / "attribution.csv").open()))
    table = attribution_table(g, ["self", "discounted:gamma=0.5", "cmp"])
    assert [r["agent"] for r in rows] == list(table.index) and len(rows) == len(g) > 1
    assert float(rows[0]["discounted:gamma=0.5"]) == pytest.approx(table["discounted:gamma=0.5"].iloc[0])
    assert float(rows[0]["self"]) == pytest.approx(g.attributes("0")["value"])


def test_the_quickstart_as_shipped_shows_every_operator(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    assert (
        main(["run", str(root / "examples" / "quickstart.toml"), "--out", str(tmp_path / "q"), "--quiet"])
        == 0
    )
    g = LineageGraph.load(tmp_path / "q" / "lineage.json")
    ops = g.summary()["operators"]
    assert set(ops) == {"finetune", "retrain-on-drift", "mutate", "add-tool", "new-task"}
    assert g.summary()["max_depth"] >= 3
    assert {g.attributes(a)["kind"] for a in g} == {"root", "narrow", "broad"}


def test_plateau_trigger_fires_on_flat_returns(tmp_path: Path) -> None:
    cfg = config(spawn={"triggers": ["plateau"], "plateau_patience": 2, "plateau_tolerance": 0.5})
    g = simulate(cfg, tmp_path / "p").lineage
    assert g is not None and len(g) > 1
    assert {g.attributes(a)["trigger"] for a in g if a != "0"} == {"plateau"}
