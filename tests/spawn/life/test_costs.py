"""Violations and cost count each event once: in training's stats, episode costs and the Lagrangian limit.

Issue 15: a step into a forbidden state was reported as one violation *and* one unit of cost, and
training added both to the episode cost, so a Lagrangian ``cost_limit = d`` held the forbidden-state
cost J_c near d/2. Now ``violations`` are forbidden actions and ``cost`` forbidden states.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from spawn.life.job import build_agent, live, root_spec, suite_for
from spawn.life.objectives import objective_class
from spawn.life.training import Session, TrainStats, train_session

from ..helpers import HIRING, config

SLIPPERY = {
    "id": "FrozenLake-v1",
    "return_range": [0, 1],
    "kwargs": {"is_slippery": True},
    "constitution": "default",  # frozen-lake: stepping towards a hole is forbidden, a hole is forbidden
}


class _Recording(objective_class("penalised")):  # type: ignore[misc]
    """The penalised objective that also records every episode's cost (an adaptive objective's input)."""

    adaptive = True

    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        self.episode_costs: list[float] = []

    def update(self, multiplier: float, episode_cost: float) -> float:
        self.episode_costs.append(episode_cost)
        return multiplier


def test_training_counts_each_forbidden_action_and_forbidden_state_once() -> None:
    cfg = config(envs=[SLIPPERY], agent={"epsilon": 0.5})
    suite = suite_for(cfg)
    task = suite.slugs[0]
    spec = root_spec(cfg)
    agent = build_agent(spec, suite, np.random.default_rng(0))
    session = Session(suite, task, False, 0, 0)
    constitution = session.env.constitution  # type: ignore[attr-defined]
    # The reference, from the constitution itself: per step, the forbidden-action rules the action
    # breaks and whether the state reached is forbidden; per episode their sum.
    ref = {"violations": 0, "cost": 0, "episodes": [0.0]}
    step, reset = session.env.step, session.env.reset
    last = {"obs": session.env.unwrapped.s}  # type: ignore[attr-defined]

    def audited_step(a: Any) -> Any:
        obs = last["obs"]
        out = step(a)
        nxt = out[0]
        n_actions = sum(r.forbids(obs, int(a)) for r in constitution.forbidden_actions)
        in_state = any(r.reached_by(obs, int(a), nxt) for r in constitution.forbidden_states)
        ref["violations"] += n_actions
        ref["cost"] += int(in_state)
        ref["episodes"][-1] += n_actions + int(in_state)
        last["obs"] = nxt
        return out

    def audited_reset(**kw: Any) -> Any:
        out = reset(**kw)
        last["obs"] = out[0]
        ref["episodes"].append(0.0)
        return out

    session.env.step = audited_step  # type: ignore[method-assign]
    session.env.reset = audited_reset  # type: ignore[method-assign]
    obj = _Recording(cfg)
    stats = TrainStats()
    train_session(agent, session, 3000, obj, 0.0, stats, None, 0.9)
    assert stats.steps == 3000 and stats.episodes == len(obj.episode_costs) > 50
    # Both kinds happen, apart and together (a slip into a hole by an allowed action is cost only).
    assert ref["violations"] > 0 and ref["cost"] > 0
    assert stats.violations == ref["violations"]
    assert stats.cost == ref["cost"]  # one unit per step in a hole, never also a violation
    assert obj.episode_costs == ref["episodes"][: len(obj.episode_costs)]
    assert stats.cost < stats.episodes + 1  # a hole ends the episode: at most one unit each


def test_a_fall_into_a_forbidden_state_costs_one_unit_of_penalty() -> None:
    # One forbidden state, no forbidden action (Hiring's workforce imbalance): the penalty per
    # step in it is the weight, once; the old code took it twice.
    cfg = config(envs=[HIRING], agent={"objective": "penalised", "penalty_weight": 1.0, "epsilon": 1.0})
    suite = suite_for(cfg)
    task = suite.slugs[0]
    agent = build_agent(root_spec(cfg), suite, np.random.default_rng(1))
    session = Session(suite, task, False, 0, 0)
    learnt: list[float] = []
    update = agent.update

    def spy(task: str, obs: Any, option: int, ret: float, *rest: Any) -> None:
        learnt.append(ret)
        update(task, obs, option, ret, *rest)

    agent.update = spy  # type: ignore[method-assign]
    costs: list[float] = []
    rewards: list[float] = []
    step = session.env.step

    def watched(a: Any) -> Any:
        out = step(a)
        rewards.append(float(out[1]))
        costs.append(float(out[4]["cost"]))
        return out

    session.env.step = watched  # type: ignore[method-assign]
    stats = TrainStats()
    train_session(agent, session, 400, objective_class("penalised")(cfg), 0.0, stats, None, 0.9)
    assert sum(costs) > 20
    np.testing.assert_allclose(learnt, np.array(rewards) - np.array(costs))  # gamma is moot: no tools
    assert stats.violations == 0 and stats.cost == sum(costs)  # Hiring forbids no action


@pytest.mark.parametrize("limit", [10.0, 20.0])
def test_lagrangian_holds_the_episode_cost_near_its_limit(limit: float) -> None:
    # Unconstrained, the biased hiring learner spends about 60 of its 100 steps per episode in the
    # forbidden, one-group-dominated workforce. With lambda <- max(0, lambda + lr (cost - d)) the
    # mean training episode cost J_c settles near d. Measured over seeds 1-8 (10,000 steps, lr 0.01):
    # J_c / d in [0.90, 1.06] for d = 10 and [0.74, 0.96] for d = 20; on the old code, which counted
    # every step in the forbidden state twice, [0.52, 0.60] and [0.42, 0.48], i.e. near d / 2.
    ratios, violations = [], []
    for seed in (1, 2):
        cfg = config(
            seed=seed,
            envs=[HIRING],
            budget=10_000,
            agent={"objective": "lagrangian", "lagrange_lr": 0.01, "cost_limit": limit, "epsilon": 0.1},
            spawn={"triggers": [], "round_steps": 1000},
            eval={"episodes": 2, "max_steps": 100},
        )
        _, result = live(root_spec(cfg), cfg)
        a = result.record.attributes
        assert a["episodes"] == 100
        ratios.append(a["train_cost"] / a["episodes"] / limit)  # J_c over every training episode, / d
        violations.append(a["train_violations"])
    assert 0.7 <= float(np.mean(ratios)) <= 1.3, ratios
    assert violations == [0, 0]  # Hiring forbids no action: the episode cost is J_c
