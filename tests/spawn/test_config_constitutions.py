"""``constitutions = false`` (no environment keeps its constitution) and the sweep keys of the paired
alignment-tax study: ``constitutions = [true, false]`` and ``envs.<index>.kwargs.<name>``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from spawn.config import config_to_toml, parse_config
from spawn.config.arms import arms
from spawn.experiments.sweep import run_sweep
from spawn.life.suite import Suite
from spawn.run.driver import simulate

from .helpers import BASE, FROZEN, HIRING, config, refused

SMALL = {"budget": 800, "spawn": {"round_steps": 200, "every": 2, "max_children": 1}, "eval": {"episodes": 2}}


def test_constitutions_false_removes_every_constitution() -> None:
    cfg = config(envs=[HIRING, FROZEN | {"constitution": "default"}], constitutions=False)
    assert all(e.constitution is None for e in cfg.envs)
    assert not any(f.has_constitution for f in Suite(cfg).facts.values())
    kept = config(envs=[HIRING, FROZEN | {"constitution": "default"}])
    assert all(e.constitution == "default" for e in kept.envs)


def test_without_constitutions_nothing_is_measured_or_charged(tmp_path: Path) -> None:
    # penalised training with nothing forbidden is raw training: the same lineage, the same numbers
    runs = {}
    for objective in ("raw", "penalised"):
        cfg = config(envs=[HIRING], agent={"objective": objective, "penalty_weight": 0.5}, constitutions=False, **SMALL)
        simulate(cfg, tmp_path / objective)
        runs[objective] = pd.read_csv(tmp_path / objective / "agents.csv")
    # nothing is forbidden: the suite's measurements are 0 (not missing), no environment reports its own
    for name in ("cost", "violations", "distance", "episode_cost", "scaled_episode_cost"):
        assert (runs["raw"][name] == 0).all()
    assert "Hiring-v0.cost" not in runs["raw"] and "Hiring-v0.distance" not in runs["raw"]
    assert (runs["raw"]["value"] == runs["penalised"]["value"]).all()
    assert (runs["penalised"]["root_utility"] == runs["penalised"]["value"]).all()
    simulate(config(envs=[HIRING], **SMALL), tmp_path / "with")
    assert pd.read_csv(tmp_path / "with" / "agents.csv")["Hiring-v0.cost"].notna().all()


def test_rules_that_charge_cost_run_without_constitutions(tmp_path: Path) -> None:
    # the alignment-tax study's liability and Lagrangian rules on its constitutions = false arms
    rules = ["best-descendant:liability=1", "self:transform=lagrangian"]
    cfg = config(envs=[HIRING], constitutions=False, attribution={"rules": rules}, **SMALL)
    simulate(cfg, tmp_path / "run")
    credit = pd.read_csv(tmp_path / "run" / "attribution.csv", dtype={"agent": str}).set_index("agent")
    agents = pd.read_csv(tmp_path / "run" / "agents.csv", dtype={"id": str}).set_index("id")
    assert credit["self:transform=lagrangian"].to_numpy() == pytest.approx(agents.loc[credit.index, "value"])


def test_a_rule_the_lineage_cannot_feed_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = BASE + '\n[attribution]\nrules = ["best-descendant:liability=1,penalty=hidden_performance"]\n'
    refused(tmp_path, capsys, text, "[attribution] rules", "penalty='hidden_performance'", "numeric attributes")


def test_config_toml_says_false_only() -> None:
    plain = config_to_toml(config(envs=[HIRING]))
    assert "constitutions" not in plain  # a default run writes the config.toml it always wrote
    text = config_to_toml(config(envs=[HIRING], constitutions=False))
    assert "\nconstitutions = false\n" in text and "constitution =" not in text
    assert config_to_toml(parse_config(tomllib.loads(text))) == text


def test_the_paired_sweep_axes() -> None:
    cfg = config(envs=[HIRING], sweep={"constitutions": [True, False], "envs.0.kwargs.bias": [0.6, 0.0], "seeds": [1]})
    got = {a.name: (a.config.constitutions, a.config.envs[0].constitution, a.config.envs[0].kwargs) for a in arms(cfg)}
    assert got == {
        "constitutions=true,bias=0.6": (True, "default", {"discrete": True, "bias": 0.6}),
        "constitutions=true,bias=0.0": (True, "default", {"discrete": True, "bias": 0.0}),
        "constitutions=false,bias=0.6": (False, None, {"discrete": True, "bias": 0.6}),
        "constitutions=false,bias=0.0": (False, None, {"discrete": True, "bias": 0.0}),
    }


def test_a_bias_arm_runs_with_its_bias(tmp_path: Path) -> None:
    cfg = config(envs=[HIRING], sweep={"envs.0.kwargs.bias": [0.0], "seeds": [1]}, **SMALL)
    run_sweep(cfg, tmp_path / "s")
    written = tomllib.loads((tmp_path / "s" / "bias=0.0" / "seed-1" / "config.toml").read_text())
    assert written["envs"][0]["kwargs"]["bias"] == 0.0
    assert "sweep" not in written


@pytest.mark.parametrize(
    ("sweep", "parts"),
    [
        ('"envs.3.kwargs.bias" = [0.0]', ("'envs.3.kwargs.bias'", "accepted: 0 to 0")),
        ('"envs.0.id" = ["CliffWalking-v1"]', ("'envs.0.id' is not accepted", "'envs.<index>.kwargs.<name>'")),
        ('"envs.kwargs.bias" = [0.0]', ("'envs.kwargs.bias' is not accepted",)),
        ("constitutions = [1, 0]", ("constitutions",)),
    ],
)
def test_bad_environment_sweep_keys_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sweep: str, parts: tuple[str, ...]
) -> None:
    refused(tmp_path, capsys, BASE + "\n[sweep]\n" + sweep + "\n", *parts)


def test_constitutions_must_be_a_bool(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    top, _, rest = BASE.partition("[[envs]]")
    refused(tmp_path, capsys, top + 'constitutions = "no"\n[[envs]]' + rest, "constitutions", "bool")
