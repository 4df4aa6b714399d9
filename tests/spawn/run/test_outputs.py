"""A run's outputs computed from a hand-built lineage whose answer is known."""

from __future__ import annotations

import pytest

from lineage import LineageGraph
from spawn.config import parse_config
from spawn.run.outputs import drift_recovery

DRIFT = 1000
SLUG = "DriftingBandit-v0"


def _cfg(**env: object) -> object:
    kwargs = {"n_arms": 2, "episode_length": 10, "drift_step": DRIFT, "world_seed": 1, **env}
    return parse_config(
        {"seed": 1, "budget": 1000, "envs": [{"id": "lineage_sim/DriftingBandit-v0", "kwargs": kwargs},
                                             {"id": "FrozenLake-v1", "return_range": [0, 1]}]}
    )


def _lineage(points: list[tuple[int, int, float]]) -> LineageGraph:
    """Agents "0", "0.0", "0.1", ...: (birth_time, train_steps, value on the bandit), evaluated at their sum."""
    g = LineageGraph(seed=1, budget=1000, regime="recursive")
    for i, (born, steps, value) in enumerate(points):
        agent_id = "0" if i == 0 else f"0.{i - 1}"
        g.add_agent(agent_id, parent=None if i == 0 else "0", operator=None if i == 0 else "finetune",
                    birth_time=born, train_steps=steps, **{f"{SLUG}.value": value, "FrozenLake-v1.value": 0.5})
    return g


def test_recovery_is_the_first_evaluation_at_level_after_the_drift() -> None:
    # evaluated at 500 (before), 1100, 1300, 1600, 2000 (after); best after = 0.8, level 0.9 -> 0.72:
    # the first evaluation after the drift at >= 0.72 is at 1600, so recovery = 1600 - 1000 = 600.
    g = _lineage([(0, 500, 0.9), (900, 200, 0.2), (1000, 300, 0.5), (1200, 400, 0.75), (1500, 500, 0.8)])
    out = drift_recovery(_cfg(), g)
    assert set(out) == {SLUG}  # FrozenLake is not clocked: no entry
    assert out[SLUG] == {"drift_step": DRIFT, "best_before": 0.9, "best_after": 0.8, "agents_after": 4,
                         "recovery_time": 600}


def test_level_decides_which_evaluation_counts() -> None:
    g = _lineage([(0, 500, 0.9), (900, 200, 0.2), (1000, 300, 0.5), (1200, 400, 0.75), (1500, 500, 0.8)])
    assert drift_recovery(_cfg(), g, level=0.6)[SLUG]["recovery_time"] == 300  # 0.5 >= 0.48 at 1300
    assert drift_recovery(_cfg(), g, level=1.0)[SLUG]["recovery_time"] == 1000  # only 0.8 itself, at 2000


def test_an_evaluation_at_the_drift_step_counts_as_after() -> None:
    g = _lineage([(0, 1000, 0.4), (0, 200, 0.9)])
    out = drift_recovery(_cfg(), g)[SLUG]
    assert out == {"drift_step": DRIFT, "best_before": 0.9, "best_after": 0.4, "agents_after": 1,
                   "recovery_time": 0}


def test_no_agent_after_the_drift_has_no_recovery() -> None:
    g = _lineage([(0, 500, 0.9), (0, 600, 0.3)])
    out = drift_recovery(_cfg(), g)[SLUG]
    assert out["best_after"] is None and out["recovery_time"] is None and out["agents_after"] == 0
    assert out["best_before"] == pytest.approx(0.9)
