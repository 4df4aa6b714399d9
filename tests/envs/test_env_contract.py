"""Every lineage_sim/ environment: registration, check_env, seeded determinism, declarations."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs

LINEAGE_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("lineage_sim/"))
VARIANTS: list[tuple[str, dict[str, Any]]] = [(env_id, {}) for env_id in LINEAGE_IDS] + [
    ("lineage_sim/Hiring-v0", {"discrete": True}),
    ("lineage_sim/Hiring-v0", {"episode_length": 7, "capacity": 3, "min_workforce": 2}),
    ("lineage_sim/DriftingBandit-v0", {"n_arms": 5, "episode_length": 20, "drift_step": 3}),
]


def test_registered_ids() -> None:
    assert sorted(envs.ENV_IDS) == LINEAGE_IDS
    envs.register_envs()  # idempotent: no "Overriding environment" warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        envs.register_envs()
    assert sorted(e for e in gym.registry if e.startswith("lineage_sim/")) == LINEAGE_IDS


def test_module_prefixed_id_registers_on_import() -> None:
    env = gym.make("envs:lineage_sim/Hiring-v0")
    assert isinstance(env.unwrapped, envs.HiringEnv)


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS, ids=lambda v: str(v))
def test_check_env_without_warnings(env_id: str, kwargs: dict[str, Any]) -> None:
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []


def _rollout(env_id: str, kwargs: dict[str, Any], seed: int, n_steps: int = 150) -> list[Any]:
    env = gym.make(env_id, **kwargs)
    actions = np.random.default_rng(seed + 1000)
    trace: list[Any] = []
    obs, info = env.reset(seed=seed)
    trace.append((np.asarray(obs).tolist(), sorted(info)))
    for _ in range(n_steps):
        obs, reward, terminated, truncated, info = env.step(int(actions.integers(env.action_space.n)))
        trace.append((np.asarray(obs).tolist(), reward, terminated, truncated, repr(sorted(info.items()))))
        if terminated or truncated:
            obs, info = env.reset()
            trace.append(np.asarray(obs).tolist())
    return trace


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS, ids=lambda v: str(v))
def test_seeded_determinism(env_id: str, kwargs: dict[str, Any]) -> None:
    assert _rollout(env_id, kwargs, seed=3) == _rollout(env_id, kwargs, seed=3)
    assert _rollout(env_id, kwargs, seed=3) != _rollout(env_id, kwargs, seed=4)


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS, ids=lambda v: str(v))
def test_declared_return_range_holds_and_final_info(env_id: str, kwargs: dict[str, Any]) -> None:
    env = gym.make(env_id, **kwargs)
    desc = envs.describe(env)
    assert desc.return_range is not None
    low, high = desc.return_range
    rng = np.random.default_rng(0)
    for episode in range(3):
        env.reset(seed=episode)
        total, hidden, steps, done = 0.0, 0.0, 0, False
        while not done:
            _, reward, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
            total += float(reward)
            steps += 1
            done = terminated or truncated
            if desc.has_hidden:
                hidden += info["hidden_reward"]
        assert low <= total <= high
        length = env.unwrapped.episode_length
        if length is None:  # episodes that can end at a goal: never past the step limit
            assert 1 <= steps <= env.unwrapped.max_steps
        else:
            assert steps == length  # fixed-length episodes
        assert ("success" in info) == desc.has_success
        if desc.has_success:
            assert isinstance(info["success"], bool)
        assert ("hidden_performance" in info) == desc.has_hidden
        if desc.has_hidden:
            assert info["hidden_performance"] == pytest.approx(hidden)


def test_describe_declarations() -> None:
    assert envs.describe(gym.make("lineage_sim/Hiring-v0")) == envs.EnvDescription(
        return_range=(-80.0, 80.0), has_success=False, has_hidden=True
    )
    bandit = envs.describe(envs.make("lineage_sim/DriftingBandit-v0", episode_length=40))
    assert bandit.return_range == (0.0, 40.0) and bandit.has_success and not bandit.has_hidden
    stock = envs.describe(gym.make("FrozenLake-v1"))
    assert stock == envs.EnvDescription(None, False, False, None)
    governed = envs.describe(envs.make("lineage_sim/Hiring-v0", constitution="default"))
    assert governed.constitution == "hiring"


def test_describe_refuses_a_bad_declaration() -> None:
    env = envs.HiringEnv()
    env.metadata = {**env.metadata, "return_range": (5.0, 1.0)}
    with pytest.raises(envs.EnvsError, match=r"return_range = \(5.0, 1.0\)"):
        envs.describe(env)


def test_complexity_bits() -> None:
    plain = envs.complexity_bits(gym.make("lineage_sim/Hiring-v0"))
    governed_env = envs.make("lineage_sim/Hiring-v0", constitution="default")
    governed = envs.complexity_bits(governed_env)
    assert plain > 0
    assert governed == pytest.approx(plain + governed_env.constitution.description_bits)
    assert governed > plain
    # deterministic, and sensitive to parameters
    assert envs.complexity_bits(gym.make("lineage_sim/Hiring-v0")) == plain
    assert envs.complexity_bits(gym.make("lineage_sim/Hiring-v0", capacity=7)) != plain
    # a stock grid world is described with its map
    small = envs.complexity_bits(gym.make("FrozenLake-v1", map_name="4x4"))
    large = envs.complexity_bits(gym.make("FrozenLake-v1", map_name="8x8"))
    assert large > small
    assert envs.complexity_bits(envs.make("CliffWalking-v1", constitution="cliff")) > envs.complexity_bits(
        gym.make("CliffWalking-v1")
    )
