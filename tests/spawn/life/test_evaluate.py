"""Evaluation's alignment distances: every rule kind in ``distance``, its parts, whole orbits, one floor."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import envs
from attribution.distances import PROJECTION_FLOOR
from spawn.agents.base import TaskShape
from spawn.aiq.runs import run_episode
from spawn.life.evaluate import _evaluate_env
from spawn.life.job import live, root_spec

from ..helpers import HIRING, config

TASK = "Hiring-v0"


@dataclass
class _Stub:
    """An agent whose greedy row is ``decide(obs)``; it records every observation it is asked about."""

    decide: Any
    shapes: dict[str, TaskShape] = field(default_factory=lambda: {TASK: TaskShape(None, 1, 2)})
    asked: list[Any] = field(default_factory=list)

    def action_probs(self, task: str, obs: Any, mask: np.ndarray | None, greedy: bool = False) -> np.ndarray:
        self.asked.append(obs)
        return np.asarray(self.decide(obs), dtype=float)


def _run(decide: Any, discrete: bool = True, seeds: tuple[int, ...] = (11, 12)) -> tuple[dict[str, float], Any]:
    env = envs.make("lineage_sim/Hiring-v0", constitution="default", discrete=discrete)
    agent = _Stub(decide)
    metrics, _ = _evaluate_env(agent, env, TASK, list(seeds), 60, False, np.random.default_rng(0))  # type: ignore[arg-type]
    return metrics, agent


def _visited(decide: Any, discrete: bool, seeds: tuple[int, ...] = (11, 12)) -> tuple[Any, list[Any]]:
    """The constitution, and the states the same deterministic policy visits in the same episodes."""
    env = envs.make("lineage_sim/Hiring-v0", constitution="default", discrete=discrete)
    space = env.observation_space
    states = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        for _ in range(60):
            states.append(obs)
            obs, _, terminated, truncated, _ = env.step(int(np.argmax(decide(_encoded(space, obs)))))
            if terminated or truncated:
                break
    return env.constitution, states


def _replayed_audit(decide: Any, discrete: bool, seeds: tuple[int, ...] = (11, 12)) -> dict[str, float]:
    """audit_policy over the states the same deterministic policy visits in the same episodes."""
    constitution, states = _visited(decide, discrete, seeds)
    space = envs.HiringEnv(discrete=discrete).observation_space

    def pi(obs: Any) -> np.ndarray:
        return np.asarray(decide(_encoded(space, obs)), dtype=float)

    return constitution.audit_policy(pi, states)


def _encoded(space: Any, obs: Any) -> Any:
    from spawn.life.suite import encode_obs

    return encode_obs(space, obs)


_BASE = envs.HiringEnv(discrete=True)


def _band(obs: Any, discrete: bool) -> int:
    return _BASE.decode(int(obs))[2] if discrete else round(float(obs[2]) * 2)


def _group(obs: Any, discrete: bool) -> int:
    return _BASE.decode(int(obs))[1] if discrete else round(float(obs[1]))


@pytest.mark.parametrize("discrete", [True, False])
def test_a_policy_deciding_by_group_is_charged(discrete: bool) -> None:
    def by_group(obs: Any) -> list[float]:
        return [0.1, 0.9] if _group(obs, discrete) == 0 else [0.9, 0.1]

    m, agent = _run(by_group, discrete)
    # the distance read forbidden actions only, and Hiring forbids none: 0 for every policy
    assert m["distance.forbidden"] == 0.0
    z = 2 * math.sqrt(0.1 * 0.9)
    assert m["distance"] == pytest.approx(-math.log2(z)) and m["distance"] > 0
    assert m["distance.invariance"] == pytest.approx(m["distance"])
    assert m["invariance.ignore-protected-attributes"] == pytest.approx(0.8)
    assert m["invariance.ignore-age"] == 0.0
    audit = _replayed_audit(by_group, discrete)
    for key in ("distance", "distance.forbidden", "distance.invariance"):
        assert m[key] == pytest.approx(audit[key]), key
    assert m["invariance.ignore-protected-attributes"] == pytest.approx(
        audit["invariance_tv[ignore-protected-attributes]"]
    )
    assert len(agent.asked) > 0


@pytest.mark.parametrize("discrete", [True, False])
def test_a_policy_hiring_only_the_middle_age_band_breaks_ignore_age(discrete: bool) -> None:
    def middle(obs: Any) -> list[float]:
        return [0.0, 1.0] if _band(obs, discrete) == 1 else [1.0, 0.0]

    m, _ = _run(middle, discrete)
    # the mirror 0 <-> 2 left band 1 fixed: TV 0, and the distance 0, for this policy
    assert m["invariance.ignore-age"] == pytest.approx(1.0)
    assert m["distance.invariance"] == pytest.approx(-math.log2(PROJECTION_FLOOR))
    assert m["distance"] == m["distance.invariance"] and m["distance.forbidden"] == 0.0
    audit = _replayed_audit(middle, discrete)
    assert m["invariance.ignore-age"] == pytest.approx(audit["invariance_tv[ignore-age]"])


def test_a_blind_policy_is_at_exactly_zero_and_orbits_are_cached() -> None:
    def blind(obs: Any) -> list[float]:
        return [0.0, 1.0] if _BASE.decode(int(obs))[0] >= 2 else [1.0, 0.0]

    m, agent = _run(blind, True, seeds=(1, 2, 3, 4))
    assert m["distance"] == 0.0 and m["distance.invariance"] == 0.0 and m["distance.forbidden"] == 0.0
    assert m["invariance.ignore-protected-attributes"] == 0.0 and m["invariance.ignore-age"] == 0.0
    _, states = _visited(blind, True, seeds=(1, 2, 3, 4))
    # each decision asks for its own row, and each distinct state's 5 other orbit states are asked once
    assert len(agent.asked) == len(states) + 5 * len({int(s) for s in states}) < 6 * len(states)


def test_evaluate_records_the_parts_per_environment_and_as_suite_means() -> None:
    cfg = config(envs=[HIRING], budget=300, eval={"episodes": 2, "max_steps": 30}, spawn={"max_children": 0})
    _, result = live(root_spec(cfg), cfg)
    attrs = dict(result.record.attributes)
    for key in ("distance", "distance.forbidden", "distance.invariance"):
        assert attrs[key] == attrs[f"Hiring-v0.{key}"] >= 0.0
    assert attrs["distance"] >= attrs["distance.invariance"]  # no forbidden actions: A(s) is every action
    assert attrs["Hiring-v0.distance.forbidden"] == 0.0


class _NeverCompliant:
    """An AIQ agent that always takes the last action, which the test's mask forbids everywhere."""

    def perceive(self, obs: int, reward: float) -> int:
        return 4

    def action_probs(self, obs: int) -> list[float]:
        return [0.0, 0.0, 0.0, 0.0, 1.0]


def test_the_aiq_runner_floors_compliance_like_every_other_distance() -> None:
    forbidden = [[False, False, False, False, True]] * 5
    _, d = run_episode(",..#", _NeverCompliant(), 50, 1.0, np.random.default_rng(0), 5, forbidden)
    # the runner floored at 1e-300 (996.6 bits a step) where every other distance floors at 1e-12
    assert d == pytest.approx(-math.log2(PROJECTION_FLOOR))
    assert d <= -math.log2(1e-12) + 1e-9

    class _Compliant(_NeverCompliant):
        def action_probs(self, obs: int) -> list[float]:
            return [0.34, 0.56, 0.1, 0.0, 0.0]  # sums to 1 + ulp

    assert run_episode(",..#", _Compliant(), 50, 1.0, np.random.default_rng(0), 5, forbidden)[1] == 0.0


def test_evaluations_fast_mean_and_clip_are_numpys_bit_for_bit() -> None:
    """evaluate's scalar mean and clip (no array per agent) give float(np.mean) and np.clip exactly,
    the sign of a zero and NaN included."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from spawn.life.evaluate import _mean, _unit

    def same(a: float, b: float) -> bool:
        return (a != a and b != b) or (a == b and math.copysign(1, a) == math.copysign(1, b))

    floats = st.floats(allow_nan=True, allow_infinity=True, width=64)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(floats, min_size=1, max_size=11), floats)
    def check(vals: list[float], x: float) -> None:
        with np.errstate(all="ignore"):  # huge values overflow to inf in both
            want, got = float(np.mean(vals)), _mean(vals)
        assert same(got, want)
        assert same(_unit(x), float(np.clip(x, 0.0, 1.0)))

    check()
