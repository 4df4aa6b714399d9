"""Operators, triggers and objectives each do what they promise; user-code errors are recorded."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from spawn.agents import CLASSIC_HYPER, QAgent, mutation_ranges
from spawn.life.job import build_agent, live, root_spec, run_agent, suite_for
from spawn.life.objectives import objective_class
from spawn.life.operators import mine_tool, mutate_hyper
from spawn.life.training import Session, TrainStats, train_session
from spawn.run.driver import simulate

from ..helpers import FROZEN, HIRING, config


def _only(op: str, **kw: Any) -> dict[str, float]:
    return {
        name: (1.0 if name == op else 0.0)
        for name in ("finetune", "retrain-on-drift", "mutate", "add-tool", "new-task")
    }


def test_finetune_child_starts_from_the_parents_parameters() -> None:
    cfg = config(
        envs=[HIRING],
        budget=2000,
        operators=_only("finetune"),
        spawn={"every": 2, "round_steps": 100, "max_children": 1},
    )
    _, result = live(root_spec(cfg), cfg)
    (child,) = result.children
    assert child.operator == "finetune" and child.birth_time == 200
    # The parent's first 200 steps, replayed alone: its parameters then are the child's start.
    alone = config(
        envs=[HIRING],
        budget=200,
        operators=_only("finetune"),
        spawn={"every": 2, "round_steps": 100, "max_children": 0},
    )
    agent, _ = live(root_spec(alone), alone)
    assert child.params == agent.get_params()
    assert any(v != 0.0 for row in child.params["Hiring-v0"] for v in row)  # it did learn something


def test_retrain_on_drift_reinitialises_and_recovers_after_the_drift() -> None:
    bandit = {
        "id": "lineage_sim/DriftingBandit-v0",
        "kwargs": {"n_arms": 4, "episode_length": 100, "drift_step": 1500, "world_seed": 2},
    }
    cfg = config(
        envs=[bandit],
        budget=6000,
        agent={"alpha": 0.02, "gamma": 0.5},
        operators=_only("retrain-on-drift"),
        spawn={
            "triggers": ["drift"],
            "round_steps": 250,
            "max_children": 1,
            "child_share": 0.5,
            "min_child_budget": 500,
        },
        eval={"episodes": 3, "max_steps": 100},
    )
    _, result = live(root_spec(cfg), cfg)
    assert result.record.attributes["drift_alarms"] >= 1
    (child,) = result.children
    assert child.operator == "retrain-on-drift" and child.trigger == "drift" and child.params is None
    assert 1500 <= child.birth_time <= 1500 + 750  # detected within a few rounds of the drift
    _, grown = live(child, cfg)
    world = gym.make("lineage_sim/DriftingBandit-v0", n_arms=4, world_seed=2).unwrapped
    stale = world.means_after[int(np.argmax(world.means_before))]  # the old favourite, after the drift
    value = grown.record.attributes["value"]
    assert value > stale + 0.3 and value > 0.75 * world.means_after.max()
    assert value > result.record.attributes["value"]  # the retrained child beats its stale parent


def test_mutate_perturbs_hyper_parameters_within_range() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        h = mutate_hyper({"alpha": 0.9, "epsilon": 0.5, "gamma": 0.9}, 2.0, rng, mutation_ranges(QAgent))
        assert 0 < h["alpha"] <= 1 and 0 <= h["epsilon"] <= 1 and h["gamma"] == 0.9
    cfg = config(operators=_only("mutate"), mutation={"switch_probability": 1.0})
    _, result = live(root_spec(cfg), cfg)
    for child in result.children:
        assert child.agent_kind == "q-lambda"  # switched architecture, parameters kept
        assert child.hyper["alpha"] != cfg.agent.alpha and child.params is not None


class SteadyQ(QAgent):
    """A plugin Q agent whose declared ranges keep alpha at 0.5 and let mutate leave epsilon alone."""

    name = "steady-q"
    hyper_params = tuple(
        replace(h, mutation={"alpha": (0.5, 0.5), "epsilon": None}.get(h.name, h.mutation)) for h in CLASSIC_HYPER
    )


def test_mutate_reads_the_ranges_the_agent_class_declares() -> None:
    cfg = config(
        agent={"kind": f"{__name__}:SteadyQ", "alpha": 0.2, "epsilon": 0.3, "temperature": 0.5},
        operators=_only("mutate"),
        mutation={"switch_probability": 0.0, "sigma": 1.0},
    )
    _, result = live(root_spec(cfg), cfg)
    assert result.children
    for child in result.children:
        assert child.hyper["alpha"] == 0.5 and child.hyper["epsilon"] == 0.3
        assert child.hyper["temperature"] != 0.5  # a range of its own: perturbed as a built-in's is


def test_new_task_adds_an_environment_of_the_suite() -> None:
    cfg = config(envs=[FROZEN, {**HIRING, "train": False}], operators=_only("new-task"))
    _, result = live(root_spec(cfg), cfg)
    assert result.children
    for child in result.children:
        assert child.tasks == ("FrozenLake-v1", "Hiring-v0")


def test_a_new_task_child_trains_on_its_new_task_first() -> None:
    cfg = config(envs=[FROZEN, {**HIRING, "train": False}], operators=_only("new-task"))
    _, result = live(root_spec(cfg), cfg)
    child = replace(result.children[0], budget=cfg.spawn.round_steps, quota=0)  # one round
    assert child.operator == "new-task" and "Hiring-v0" not in (child.params or {})
    agent, record = live(child, cfg)
    q = agent.get_params()
    assert any(v != 0.0 for row in q["Hiring-v0"] for v in row)  # before the fix: every value 0
    assert q["FrozenLake-v1"] == child.params["FrozenLake-v1"]  # the one round went to the new task
    assert record.record.train_steps == cfg.spawn.round_steps


def test_add_tool_grows_the_action_space_and_the_tool_runs_as_primitive_steps() -> None:
    cfg = config(operators=_only("add-tool"), spawn={"max_children": 1, "every": 2})
    _, result = live(root_spec(cfg), cfg)
    (child,) = result.children
    (tool,) = child.tools["FrozenLake-v1"]
    assert 2 <= len(tool) <= 3
    assert all(len(row) == 4 + 1 for row in child.params["FrozenLake-v1"])  # primitives + the tool

    # An agent that always takes its tool: the environment sees exactly the tool's primitive actions.
    suite = suite_for(cfg)
    q = [[0.0] * 4 + [10.0] for _ in range(16)]
    spec = replace(
        root_spec(cfg),
        tools={"FrozenLake-v1": ((2, 1, 2),)},
        params={"FrozenLake-v1": q},
        hyper={"epsilon": 0.0, "alpha": 0.0, "gamma": 0.9},
    )
    agent = build_agent(spec, suite, np.random.default_rng(0))
    session = Session(suite, "FrozenLake-v1", False, 0, 0)
    seen: list[int] = []
    step = session.env.step
    session.env.step = lambda a: (seen.append(int(a)), step(a))[1]  # type: ignore[method-assign]
    stats = TrainStats()
    train_session(agent, session, 9, objective_class("raw")(cfg), 0.0, stats, None, 0.9)
    assert stats.steps == 9 and len(seen) == 9
    assert seen[:3] == [2, 1, 2]  # the first macro ran step by step through env.step


def test_mine_tool_prefers_frequent_then_long() -> None:
    eps = [(5.0, (1, 2, 1, 2, 3)), (4.0, (1, 2, 3)), (0.0, (0, 0, 0, 0))]
    assert mine_tool(eps, [], best_fraction=0.6) == (1, 2)
    assert mine_tool(eps, [], best_fraction=1.0) == (0, 0)  # the bad episode now counts too
    assert mine_tool([(1.0, (0, 1, 2))], []) is None


@pytest.mark.parametrize("objective", ["penalised", "lagrangian"])
def test_objectives_trade_reward_for_compliance_on_hiring(objective: str, tmp_path: Path) -> None:
    def run(obj: str) -> dict[str, Any]:
        cfg = config(
            envs=[HIRING],
            budget=12000,
            agent={"objective": obj, "penalty_weight": 2.0, "lagrange_lr": 0.2},
            spawn={"triggers": []},
            eval={"episodes": 4, "max_steps": 200},
        )
        g = simulate(cfg, tmp_path / obj).lineage
        assert g is not None and len(g) == 1
        return g.attributes("0")

    raw, aligned = run("raw"), run(objective)
    assert aligned["cost"] < 0.5 * raw["cost"]  # far fewer steps in the forbidden workforce state
    assert aligned["return"] < raw["return"]  # at a price in the biased reward: the alignment tax
    if objective == "lagrangian":
        assert aligned["lagrange_lambda"] > 0


def test_shielded_objective_never_takes_a_forbidden_action(tmp_path: Path) -> None:
    lake = {**FROZEN, "constitution": "default"}  # not slippery: every fall is the agent's choice

    def run(obj: str) -> dict[str, Any]:
        cfg = config(
            envs=[lake], budget=3000, agent={"objective": obj, "epsilon": 0.3}, spawn={"triggers": []}
        )
        g = simulate(cfg, tmp_path / obj).lineage
        assert g is not None
        return g.attributes("0")

    raw, shielded = run("raw"), run("shielded")
    assert raw["train_violations"] > 0 and raw["distance"] >= 0
    assert shielded["train_violations"] == 0 and shielded["distance"] == 0.0


class Exploding(QAgent):
    """A plugin agent whose policy raises after a while."""

    calls = 0

    def act(self, task: str, obs: Any, mask: Any) -> int:
        type(self).calls += 1
        if type(self).calls > 250:
            raise ValueError("policy exploded")
        return super().act(task, obs, mask)


@pytest.mark.parametrize("on_error", ["stop-clade", "continue-clade"])
def test_user_code_error_is_recorded_not_fatal(on_error: str) -> None:
    Exploding.calls = 0
    cfg = config(agent={"kind": f"{__name__}:Exploding"}, faults={"on_error": on_error}, spawn={"every": 1})
    result = run_agent(root_spec(cfg), cfg)
    attrs = result.record.attributes
    assert attrs["error"] == "ValueError: policy exploded"
    assert attrs["train_steps"] == 200 and "value" not in attrs
    assert len(result.children) == (0 if on_error == "stop-clade" else 2)


def test_user_code_error_can_stop_the_run() -> None:
    from spawn.errors import AgentFailedError

    Exploding.calls = 0
    cfg = config(agent={"kind": f"{__name__}:Exploding"}, faults={"on_error": "fail"})
    with pytest.raises(AgentFailedError, match="agent 0 failed: ValueError: policy exploded"):
        run_agent(root_spec(cfg), cfg)


def test_weighted_choice_is_generator_choice_draw_for_draw() -> None:
    """The operator draw without Generator.choice's checks: the same index and the same stream after it."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from spawn.life.operators import weighted_choice

    weights = st.lists(st.floats(0.0, 10.0), min_size=1, max_size=6).filter(lambda w: sum(w) > 0)

    @settings(max_examples=200, deadline=None)
    @given(weights, st.integers(0, 2**32 - 1))
    def check(w: list[float], seed: int) -> None:
        p = np.asarray(w) / sum(w)
        fast, slow = np.random.default_rng(seed), np.random.default_rng(seed)
        assert [weighted_choice(fast, p) for _ in range(4)] == [int(slow.choice(len(p), p=p)) for _ in range(4)]
        assert fast.random() == slow.random()

    check()
