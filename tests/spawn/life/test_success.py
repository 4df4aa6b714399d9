"""Every environment has a success: info["success"] or a return threshold; counts reach HGM and the cmp rule."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from attribution import parse_rule
from lineage import LineageGraph
from spawn.config import config_to_toml, parse_config
from spawn.errors import ConfigError
from spawn.life.job import live, root_spec, suite_for
from spawn.regimes.selectors import clade_counts, select
from spawn.run.driver import simulate

from ..helpers import FROZEN, HIRING, config

SLIPPERY = {"id": "FrozenLake-v1", "return_range": [0, 1], "kwargs": {"is_slippery": True}}
BANDIT = {"id": "lineage_sim/DriftingBandit-v0", "kwargs": {"n_arms": 3, "episode_length": 20}}


def _attrs(cfg: Any) -> dict[str, Any]:
    _, result = live(root_spec(cfg), cfg)
    return dict(result.record.attributes)


def _by_hand(cfg: Any, slug: str) -> tuple[int, list[float]]:
    """Each evaluation episode's return, replayed: the agent's evaluation is deterministic in its seed."""
    from spawn.life import evaluate as ev

    returns: list[float] = []
    original = ev._Tally.episode

    def spy(self: Any, env: Any, info: dict[str, Any], steps: int, ret: float, cost: float, viol: float) -> None:
        if env.unwrapped.spec is not None and env.unwrapped.spec.id.endswith(slug):
            returns.append(ret)
        original(self, env, info, steps, ret, cost, viol)

    ev._Tally.episode = spy  # type: ignore[method-assign]
    try:
        attrs = _attrs(cfg)
    finally:
        ev._Tally.episode = original  # type: ignore[method-assign]
    return int(attrs[f"{slug}.successes"]), returns


def test_a_frozenlake_run_records_successes_and_trials() -> None:
    # FrozenLake reports no success: an episode succeeds when its return reaches the top of [0, 1].
    cfg = config(envs=[FROZEN], budget=2000, eval={"episodes": 5, "max_steps": 50}, spawn={"max_children": 0})
    attrs = _attrs(cfg)
    assert attrs["FrozenLake-v1.trials"] == 5 and attrs["trials"] == 5
    assert type(attrs["successes"]) is int and 0 <= attrs["successes"] <= 5
    successes, returns = _by_hand(cfg, "FrozenLake-v1")
    assert successes == sum(r >= 1.0 for r in returns) == attrs["successes"]
    assert attrs["return"] == pytest.approx(np.mean(returns))


def test_counts_are_summed_over_the_suite_and_info_success_is_kept() -> None:
    cfg = config(envs=[FROZEN, {**BANDIT, "train": False}], eval={"episodes": 3, "max_steps": 50})
    attrs = _attrs(cfg)
    assert attrs["FrozenLake-v1.trials"] == 3 and attrs["DriftingBandit-v0.trials"] == 3
    assert attrs["trials"] == 6
    assert attrs["successes"] == attrs["FrozenLake-v1.successes"] + attrs["DriftingBandit-v0.successes"]
    facts = suite_for(cfg).facts
    assert facts["FrozenLake-v1"].success_threshold == 1.0
    assert facts["DriftingBandit-v0"].success_threshold is None  # its own info["success"]


def test_a_success_threshold_in_the_config_decides() -> None:
    low = config(envs=[{**HIRING, "success_threshold": -1e9}], eval={"episodes": 2, "max_steps": 30})
    high = config(envs=[{**HIRING, "success_threshold": 1e9}], eval={"episodes": 2, "max_steps": 30})
    assert _attrs(low)["successes"] == 2 and _attrs(high)["successes"] == 0
    default = suite_for(config(envs=[HIRING])).facts["Hiring-v0"]
    assert default.success_threshold == default.return_range[1]


def test_an_episode_cut_before_the_environment_says_is_a_failed_trial() -> None:
    # Evaluation stops after 5 steps, before the bandit's 20-step episode ends and reports success.
    cfg = config(envs=[BANDIT], budget=200, eval={"episodes": 2, "max_steps": 5})
    attrs = _attrs(cfg)
    assert attrs["trials"] == 2 and attrs["successes"] == 0


def test_cmp_and_hgm_use_the_same_counts_on_a_selection_like_run(tmp_path: Path) -> None:
    cfg = config(
        regime="archive",
        selector="hgm",
        budget=1600,
        envs=[SLIPPERY],
        agent={"epsilon": 0.2, "gamma": 0.99},
        archive={"batch_size": 2, "root_budget": 400, "child_budget": 300},
        operators={"finetune": 1.0, "mutate": 1.0, "add-tool": 0.0, "new-task": 0.0, "retrain-on-drift": 0.0},
        eval={"episodes": 4, "max_steps": 100},
    )
    g = simulate(cfg, tmp_path / "run").lineage
    assert g is not None and len(g) > 2
    cmp = parse_rule("cmp")(g)
    assert all(math.isfinite(float(cmp[a])) for a in g)  # NaN everywhere before every env had a success
    counts = clade_counts(g, 999)
    for a in g:
        s, f = counts[a]
        assert float(cmp[a]) == pytest.approx(s / (s + f))  # no pseudo-counts from the value


def test_hgm_falls_back_to_values_only_for_a_lineage_without_any_counts() -> None:
    old = LineageGraph()
    old.add_agent("0", value=0.5)
    old.add_agent("0.0", parent="0", value=1.0)
    assert clade_counts(old, 10) == {"0": (15.0, 5.0), "0.0": (10.0, 0.0)}
    new = LineageGraph()
    new.add_agent("0", value=0.5, successes=1, trials=4)
    new.add_agent("0.0", parent="0")  # a failed life: never evaluated, it counts for nothing
    assert clade_counts(new, 10) == {"0": (1.0, 3.0), "0.0": (0.0, 0.0)}
    assert select("hgm", ["0", "0.0"], new, 3, np.random.default_rng(0)).picks


@pytest.mark.parametrize(
    ("value", "part"),
    [(float("inf"), "finite"), (float("nan"), "finite"), ("high", "valid number"), (True, "valid number")],
)
def test_success_threshold_must_be_a_finite_number(value: Any, part: str) -> None:
    data = {"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1", "success_threshold": value}]}
    with pytest.raises(ConfigError, match=part) as info:
        parse_config(data)
    assert "success_threshold" in str(info.value) and len(str(info.value).splitlines()) == 1


def test_success_threshold_is_written_to_the_config_as_run() -> None:
    cfg = parse_config({"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1", "success_threshold": 1}]})
    text = config_to_toml(cfg)
    assert "success_threshold = 1.0" in text
    assert "success_threshold" not in config_to_toml(parse_config({"seed": 1, "budget": 10, "envs": [FROZEN]}))
