"""Agents: action distributions, masks, softmax and traces, and that each learner learns."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs
from spawn.agents import (
    AGENT_REGISTRY,
    AGENTS,
    CLASSIC_HYPER,
    LinearSoftmaxAgent,
    QAgent,
    QLambdaAgent,
    RandomAgent,
    TaskShape,
    agent_class,
    hyper_params,
    mutation_ranges,
)
from spawn.errors import ConfigError
from spawn.life.suite import encode_obs, task_shape

SHAPE = {"t": TaskShape(3, 3, 4)}


@pytest.mark.parametrize("cls", list(AGENTS.values()))
def test_action_probs_is_a_distribution_that_respects_the_mask(cls: type) -> None:
    agent = cls(SHAPE, {"softmax": 1.0}, np.random.default_rng(0))
    obs = 1
    for greedy in (False, True):
        p = agent.action_probs("t", obs, None, greedy=greedy)
        assert p.shape == (4,) and p.sum() == pytest.approx(1.0) and (p >= 0).all()
    mask = np.array([True, False, True, False])
    p = agent.action_probs("t", obs, mask)
    assert p[~mask].sum() == 0.0 and p.sum() == pytest.approx(1.0)
    for _ in range(50):
        assert mask[agent.act("t", obs, mask)]


def test_epsilon_greedy_probabilities_and_greedy_ties() -> None:
    agent = QAgent(SHAPE, {"epsilon": 0.2}, np.random.default_rng(0))
    agent.q["t"][0] = [1.0, 3.0, 3.0, 0.0]
    assert agent.action_probs("t", 0, None, greedy=True).tolist() == [0.0, 0.5, 0.5, 0.0]
    assert agent.action_probs("t", 0, None).tolist() == pytest.approx([0.05, 0.45, 0.45, 0.05])
    counts = np.bincount([agent.act("t", 0, None) for _ in range(4000)], minlength=4) / 4000
    assert counts == pytest.approx([0.05, 0.45, 0.45, 0.05], abs=0.03)


def test_softmax_selection_follows_the_boltzmann_distribution() -> None:
    agent = QAgent(SHAPE, {"softmax": 1.0, "temperature": 0.5}, np.random.default_rng(1))
    agent.q["t"][2] = [0.0, 0.5, 1.0, 0.0]
    z = np.exp(np.array([0.0, 0.5, 1.0, 0.0]) / 0.5)
    assert agent.action_probs("t", 2, None) == pytest.approx(z / z.sum())
    counts = np.bincount([agent.act("t", 2, None) for _ in range(4000)], minlength=4) / 4000
    assert counts == pytest.approx(z / z.sum(), abs=0.03)


def test_q_learning_update_and_q_lambda_traces() -> None:
    q = QAgent(SHAPE, {"alpha": 0.5, "gamma": 0.9}, np.random.default_rng(0))
    q.q["t"][1] = [0.0, 2.0, 0.0, 0.0]
    q.update("t", 0, 3, 1.0, 1, False, 0.9)
    assert q.q["t"][0][3] == pytest.approx(0.5 * (1.0 + 0.9 * 2.0))
    lam = QLambdaAgent(SHAPE, {"alpha": 0.5, "gamma": 1.0, "lambda": 1.0}, np.random.default_rng(0))
    lam.update("t", 0, 0, 0.0, 1, False, 1.0)  # greedy (all ties): the trace survives
    lam.update("t", 1, 0, 1.0, 2, True, 1.0)  # reward at the end flows back to (0, 0) through the trace
    assert lam.q["t"][1][0] == pytest.approx(0.5) and lam.q["t"][0][0] == pytest.approx(0.5)
    plain = QAgent(SHAPE, {"alpha": 0.5, "gamma": 1.0}, np.random.default_rng(0))
    plain.update("t", 0, 0, 0.0, 1, False, 1.0)
    plain.update("t", 1, 0, 1.0, 2, True, 1.0)
    assert plain.q["t"][0][0] == 0.0  # one-step Q-learning has not propagated it yet


def _episode_returns(agent: object, env: gym.Env, episodes: int, learn: bool) -> float:
    total = 0.0
    space = env.observation_space
    for ep in range(episodes):
        raw, _ = env.reset(seed=ep)
        done = False
        while not done:
            obs = encode_obs(space, raw)
            a = agent.act("t", obs, None)  # type: ignore[attr-defined]
            raw, r, term, trunc, _ = env.step(a)
            if learn:
                agent.update("t", obs, a, float(r), encode_obs(space, raw), term, 0.95)  # type: ignore[attr-defined]
            total += float(r)
            done = term or trunc
        if learn:
            agent.end_episode("t")  # type: ignore[attr-defined]
    return total / episodes


def test_linear_reinforce_learns_on_box_observations() -> None:
    env = envs.make("lineage_sim/Hiring-v0")  # Box observations
    shape = {"t": task_shape(env, "t")}
    assert shape["t"].n_obs is None
    learner = LinearSoftmaxAgent(shape, {"lr": 0.5}, np.random.default_rng(0))
    baseline = RandomAgent(shape, {}, np.random.default_rng(0))
    _episode_returns(learner, env, 150, learn=True)
    assert (
        _episode_returns(learner, env, 20, learn=False)
        > _episode_returns(baseline, env, 20, learn=False) + 2.0
    )


def test_tools_grow_the_option_space() -> None:
    for cls in (QAgent, LinearSoftmaxAgent):
        agent = cls(SHAPE, {}, np.random.default_rng(0))
        agent.add_tool("t", (2, 2))
        assert agent.shapes["t"].n_options == 5
        assert agent.action_probs("t", 0, None).shape == (5,)


def test_plugin_agents_load_by_module_path() -> None:
    assert agent_class("spawn.agents:QAgent") is QAgent
    with pytest.raises(ConfigError, match="cannot be loaded"):
        agent_class("spawn.agents:Nope")
    with pytest.raises(ConfigError, match="lacks method"):
        agent_class("spawn.agents:TaskShape")


def test_visit_count_step_size_is_a_sample_average_and_is_inherited() -> None:
    agent = QAgent(SHAPE, {"visits": 1.0, "alpha": 0.0001, "gamma": 0.0}, np.random.default_rng(0))
    rewards = [1.0, 0.0, 0.0, 1.0, 1.0]
    for r in rewards:
        agent.update("t", 0, 2, r, 0, True, 0.0)
    assert agent.q["t"][0][2] == pytest.approx(np.mean(rewards))  # 1/n steps: the running mean
    params = agent.get_params()
    child = QAgent(SHAPE, {"visits": 1.0, "alpha": 0.0001}, np.random.default_rng(1), params)
    assert child.n["t"][0][2] == 5  # a finetuned child keeps its parent's experience ...
    child.update("t", 0, 2, 0.0, 0, True, 0.0)
    assert child.q["t"][0][2] == pytest.approx(np.mean([*rewards, 0.0]))
    fresh = QAgent(SHAPE, {"visits": 1.0, "alpha": 0.0001}, np.random.default_rng(1))
    fresh.update("t", 0, 2, 0.0, 0, True, 0.0)
    assert fresh.q["t"][0][2] == 0.0 and fresh.n["t"][0][2] == 1  # ... a re-initialised one starts over
    plain = QAgent(SHAPE, {"alpha": 0.5}, np.random.default_rng(0))
    assert "__visits__" not in plain.get_params()


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        (":", "is not 'module:Class'"),
        ("a b:C", "is not 'module:Class'"),
        ("no_such_module_abc:C", "ModuleNotFoundError"),
        ("os:system", "standard library"),
        ("this:s", "standard library"),
        ("spawn.agents:CLASSIC_HYPER", "not a class"),
    ],
)
def test_plugin_names_refused_in_one_line(kind: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        agent_class(kind)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("cls", list(AGENTS.values()))
def test_built_in_agents_declare_their_hyper_parameters_and_mutation_ranges(cls: type) -> None:
    assert "hyper_params" in vars(cls) and hyper_params(cls) == CLASSIC_HYPER  # declared on the class itself
    assert [h.name for h in hyper_params(cls)] == ["alpha", "gamma", "epsilon", "temperature", "lambda", "lr"]
    # What mutate perturbs and within what: gamma is left alone.
    assert mutation_ranges(cls) == {
        "alpha": (1e-4, 1.0),
        "epsilon": (0.0, 1.0),
        "temperature": (1e-3, 100.0),
        "lambda": (0.0, 1.0),
        "lr": (1e-5, 10.0),
    }


def test_built_in_kinds_are_registered_in_order() -> None:
    assert AGENT_REGISTRY.names()[:4] == ("q", "q-lambda", "linear", "random")
    assert all(AGENT_REGISTRY.get(name) is cls for name, cls in AGENTS.items())
