"""Constitutions, their registry, and the wrapper that reports violations without changing dynamics."""

from __future__ import annotations

import pickle
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import envs
from attribution.distances import (
    alignment_distances,
    invariance_distance,
    invariance_tv,
    invariant_projection_distance,
)
from envs import Constitution, ConstitutionWrapper, ForbiddenAction, ForbiddenState, Invariance


def _boom(obs: Any, action: int = 0) -> bool:
    raise KeyError("missing")


def toy() -> Constitution:
    return Constitution(
        "toy",
        3,
        (
            ForbiddenAction("no-2-at-even", lambda obs, a: a == 2 and obs % 2 == 0, "even states: not 2"),
            ForbiddenState("at-7", lambda obs: obs == 7),
            Invariance("mod-4", lambda obs: (obs + 4) % 8),
        ),
    )


def test_rule_kinds_sigma_and_step_audit() -> None:
    c = toy()
    assert [r.name for r in c.forbidden_actions] == ["no-2-at-even"]
    assert [r.name for r in c.forbidden_states] == ["at-7"]
    assert [r.transform(1) for r in c.invariances] == [5]
    np.testing.assert_array_equal(c.allowed_actions(2), [True, True, False])
    np.testing.assert_allclose(c.sigma(2), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(c.sigma(3), [1 / 3, 1 / 3, 1 / 3])
    assert c.is_forbidden_state(7) and not c.is_forbidden_state(6)
    assert c.audit_step(4, 2, 7) == ("no-2-at-even", "at-7")
    assert c.audit_step(3, 2, 6) == ()
    assert c.n_actions == 3
    assert c.description_bits == pytest.approx(sum(c.rule_bits.values()))
    assert all(r.description_bits > 0 for r in c.rules)
    assert c.without("at-7").rule_names == ("no-2-at-even", "mod-4")


def test_bad_rules_and_names_are_refused() -> None:
    with pytest.raises(envs.RuleError, match=r"forbidden-action rule 'bad' raised KeyError"):
        Constitution("c", 2, (ForbiddenAction("bad", _boom),)).allowed_actions(0)
    with pytest.raises(envs.RuleError, match=r"'vec' returned array"):
        ForbiddenState("vec", lambda obs: np.array([True, False])).forbids(0)
    with pytest.raises(envs.UnknownRuleError, match=r"rule 'at7'.*Did you mean 'at-7'\?"):
        toy().rule("at7")
    with pytest.raises(envs.InvalidParameterError, match=r"duplicate rule names \['x'\]"):
        Constitution("c", 2, (ForbiddenState("x", bool), ForbiddenState("x", bool)))
    with pytest.raises(envs.InvalidParameterError, match=r"n_actions = 0"):
        Constitution("c", 0)
    with pytest.raises(envs.InvalidParameterError, match=r"bits = -1"):
        ForbiddenState("x", bool, bits=-1)
    with pytest.raises(envs.NoAllowedActionError, match="forbids all 2 actions"):
        Constitution("c", 2, (ForbiddenAction("all", lambda obs, a: True),)).sigma(0)
    assert issubclass(envs.EnvsError, ValueError)


def _policy(obs: Any) -> np.ndarray:
    # depends on obs mod 8 so that the invariance (obs + 4) % 8 moves it
    return np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]][int(obs) % 8 >= 4])


def test_audit_policy_agrees_with_attribution_distances() -> None:
    c = toy()
    states = [0, 1, 2, 4, 4, 5, 7]
    report = c.audit_policy(_policy, states, eps=0.01)
    pi = np.stack([_policy(s) for s in states])
    allowed = np.stack([c.allowed_actions(s) for s in states])
    expected = alignment_distances(pi, allowed, eps=0.01)
    expected["distance.forbidden"] = expected.pop("distance")  # the states' own rows: forbidden actions only
    for key, value in expected.items():
        assert report[key] == pytest.approx(value), key
    # the whole distance projects onto invariant policies too: the orbit of s under (s + 4) % 8 is {s, s + 4}
    orbits = [[s, (s + 4) % 8] for s in states]
    pi_orbits = [np.stack([_policy(t) for t in o]) for o in orbits]
    allowed_orbits = [np.stack([c.allowed_actions(t) for t in o]) for o in orbits]
    assert report["distance"] == pytest.approx(invariant_projection_distance(pi_orbits, allowed_orbits))
    assert report["distance.invariance"] == pytest.approx(invariance_distance(pi_orbits))
    assert report["distance.invariance"] > 0 and report["distance"] > report["distance.forbidden"]
    moved = np.stack([_policy(c.invariances[0].transform(s)) for s in states])
    assert report["invariance_tv[mod-4]"] == pytest.approx(invariance_tv(pi, moved))
    assert report["invariance_tv"] == report["invariance_tv[mod-4]"] > 0
    assert report["forbidden_occupancy"] == pytest.approx(1 / 7)
    with pytest.raises(envs.InvalidParameterError, match=r"pi_fn\(states\[0\]\) returned"):
        c.audit_policy(lambda obs: [0.5, 0.5], [0])


def test_builtin_constitutions_pickle() -> None:
    for env_id, name in [
        ("CliffWalking-v1", "cliff"),
        ("FrozenLake-v1", "frozen-lake"),
        ("lineage_sim/Hiring-v0", "hiring"),
    ]:
        c = envs.get_constitution(name, gym.make(env_id))
        back = pickle.loads(pickle.dumps(c))
        assert back.rule_names == c.rule_names and back.description_bits == c.description_bits


def test_registry_names_and_errors() -> None:
    assert {"cliff", "hiring", "default", "frozen-lake"} <= set(envs.constitution_names())
    with pytest.raises(
        envs.UnknownConstitutionError, match=r"'hirng'.*known: .*hiring.*Did you mean 'hiring'"
    ):
        envs.make("lineage_sim/Hiring-v0", constitution="hirng")
    with pytest.raises(envs.UnknownConstitutionError, match=r"DriftingBandit-v0 has no default constitution"):
        envs.make("lineage_sim/DriftingBandit-v0", constitution="default")
    with pytest.raises(envs.ConstitutionMismatchError, match=r"CliffWalking.*got FrozenLakeEnv"):
        envs.make("FrozenLake-v1", constitution="cliff")
    with pytest.raises(envs.ConstitutionMismatchError, match=r"Hiring-v0 only; got CartPoleEnv"):
        envs.make("CartPole-v1", constitution="hiring")
    with pytest.raises(envs.ConstitutionMismatchError, match=r"speaks of 3 actions.*Discrete\(4\)"):
        envs.attach_constitution(gym.make("FrozenLake-v1"), toy())
    with pytest.raises(envs.ConstitutionMismatchError, match=r"needs observation space Discrete\(48\)"):
        envs.attach_constitution(
            gym.make("FrozenLake-v1"), envs.make("CliffWalking-v1", "cliff").constitution
        )
    with pytest.raises(envs.InvalidParameterError, match=r"constitution = 3; accepted"):
        envs.attach_constitution(gym.make("FrozenLake-v1"), 3)  # type: ignore[arg-type]
    with pytest.raises(
        envs.UnknownEnvironmentError, match=r"'lineage_sim/Hirng-v0'.*Did you mean 'lineage_sim/Hiring-v0'"
    ):
        envs.make("lineage_sim/Hirng-v0")
    with pytest.raises(envs.InvalidParameterError, match=r"unexpected keyword argument 'n_arm'"):
        envs.make("lineage_sim/DriftingBandit-v0", n_arm=3)
    assert envs.make("CliffWalking-v1", constitution="default").constitution.name == "cliff"
    assert isinstance(envs.make("CliffWalking-v1"), gym.Env)
    assert not isinstance(envs.make("CliffWalking-v1"), ConstitutionWrapper)


def _trace(env: gym.Env[Any, Any], seed: int, actions: list[int]) -> list[Any]:
    obs, info = env.reset(seed=seed)
    out: list[Any] = [int(obs)]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append((int(obs), float(reward), terminated, truncated, info.get("prob")))
        if terminated or truncated:
            obs, info = env.reset()
            out.append(int(obs))
    return out


@pytest.mark.parametrize(
    ("env_id", "kwargs", "name"),
    [
        ("CliffWalking-v1", {}, "cliff"),
        ("CliffWalking-v1", {"is_slippery": True}, "cliff"),
        ("FrozenLake-v1", {"is_slippery": True}, "frozen-lake"),
    ],
)
def test_wrapper_leaves_dynamics_unchanged(env_id: str, kwargs: dict[str, Any], name: str) -> None:
    actions = [int(a) for a in np.random.default_rng(7).integers(4, size=300)]
    plain = _trace(gym.make(env_id, **kwargs), 11, actions)
    wrapped = _trace(envs.make(env_id, constitution=name, **kwargs), 11, actions)
    assert plain == wrapped


def test_wrapper_info_on_cliff() -> None:
    env = envs.make("CliffWalking-v1", constitution="cliff")
    obs, info = env.reset(seed=0)
    assert obs == 36 and info["cost"] == 0.0 and info["violations"] == 0 and info["rules_broken"] == ()
    assert info["action_mask"].dtype == np.int8 and info["action_mask"].tolist() == [1, 0, 1, 1]
    obs, reward, _, _, info = env.step(1)  # right, into the cliff: back to the start with -100
    assert (obs, reward) == (36, -100)
    assert info["rules_broken"] == ("step-into-cliff", "on-cliff")
    # one forbidden action (violations) into one forbidden state (cost): each rule counted once
    assert info["violations"] == 1 and info["cost"] == 1.0
    assert "prob" in info  # the inner env's info is kept
    obs, _, _, _, info = env.step(0)  # up: safe
    assert obs == 24 and info["cost"] == 0.0 and info["rules_broken"] == ()
    assert info["action_mask"].tolist() == [1, 1, 1, 1]


def test_a_step_into_a_forbidden_state_is_cost_not_a_violation() -> None:
    # Issue 15: one step into a forbidden state was reported as violations 1 and cost 1, so
    # violations + cost counted it twice. The state is cost; violations are forbidden actions.
    c = Constitution("hot", 4, (ForbiddenState("hot", lambda obs: obs >= 2),))
    env = ConstitutionWrapper(gym.make("FrozenLake-v1", is_slippery=False), c)
    _, info = env.reset(seed=0)
    assert (info["violations"], info["cost"], info["rules_broken"]) == (0, 0.0, ())
    obs, _, _, _, info = env.step(2)  # right: 0 -> 1, allowed and safe
    assert obs == 1 and (info["violations"], info["cost"]) == (0, 0.0)
    obs, _, _, _, info = env.step(2)  # right: 1 -> 2, into the forbidden state
    assert obs == 2 and info["rules_broken"] == ("hot",)
    assert info["violations"] == 0 and info["cost"] == 1.0
    obs, _, _, _, info = env.step(2)  # 2 -> 3: still forbidden, one unit per step in it
    assert obs == 3 and (info["violations"], info["cost"]) == (0, 1.0)


def test_violations_count_action_rules_and_cost_counts_the_state_once() -> None:
    c = Constitution(
        "c",
        4,
        (
            ForbiddenAction("no-right", lambda obs, a: a == 2),
            ForbiddenAction("no-right-from-1", lambda obs, a: obs == 1 and a == 2),
            ForbiddenState("two", lambda obs: obs == 2),
            ForbiddenState("not-first-row-start", lambda obs: obs in (2, 3)),
            ForbiddenState("start", lambda obs: obs == 0),
        ),
    )
    env = ConstitutionWrapper(gym.make("FrozenLake-v1", is_slippery=False), c)
    _, info = env.reset(seed=0)  # the initial state breaks "start": cost, never a violation
    assert (info["violations"], info["cost"], info["rules_broken"]) == (0, 1.0, ("start",))
    _, _, _, _, info = env.step(2)  # 0 -> 1: one action rule, no forbidden state
    assert (info["violations"], info["cost"], info["rules_broken"]) == (1, 0.0, ("no-right",))
    _, _, _, _, info = env.step(2)  # 1 -> 2: two action rules, a state two state rules forbid
    assert info["rules_broken"] == ("no-right", "no-right-from-1", "two", "not-first-row-start")
    assert (info["violations"], info["cost"]) == (2, 1.0)


def test_forbidden_state_reached_gives_cost_on_frozen_lake() -> None:
    env = envs.make("FrozenLake-v1", constitution="frozen-lake", is_slippery=False)
    env.reset(seed=0)
    env.step(1)  # down to 4
    obs, _, terminated, _, info = env.step(2)  # right into the hole at 5
    assert obs == 5 and terminated
    assert info["cost"] == 1.0 and info["rules_broken"] == ("step-towards-hole", "in-hole")


def test_shield_replaces_forbidden_action_with_lowest_allowed() -> None:
    env = envs.make("CliffWalking-v1", constitution="cliff", shield=True)
    obs, info = env.reset(seed=0)
    assert info["shielded"] is False
    obs, reward, _, _, info = env.step(1)  # right is forbidden at the start; lowest allowed is 0 (up)
    assert info["shielded"] is True and obs == 24 and reward == -1 and info["violations"] == 0
    rng = np.random.default_rng(0)
    for _ in range(300):
        obs, _, terminated, truncated, info = env.step(int(rng.integers(4)))
        assert info["cost"] == 0.0 and "step-into-cliff" not in info["rules_broken"]
        if terminated or truncated:
            env.reset()


def test_predicate_error_in_wrapper_names_the_rule() -> None:
    bad = Constitution("bad", 4, (ForbiddenState("broken-rule", _boom),))
    env = envs.attach_constitution(gym.make("FrozenLake-v1"), bad)
    with pytest.raises(envs.RuleError, match="'broken-rule' raised KeyError"):
        env.reset(seed=0)


def test_step_before_reset_is_refused() -> None:
    env = envs.make("CliffWalking-v1", constitution="cliff")
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
