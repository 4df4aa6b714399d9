"""A k-armed Bernoulli bandit whose means change once, at a set world time, for drift detectors to find."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.errors import InvalidParameterError
from envs.hiring import _check_float, _check_int

__all__ = ["DriftingBanditEnv"]


class DriftingBanditEnv(gym.Env[Any, Any]):
    """One state, ``n_arms`` Bernoulli arms whose means change once, at world time ``drift_step``.

    The world is fixed by the keyword arguments: the arm means before and after the drift are
    drawn from ``world_seed`` (after the drift the old best arm pays worst), so every agent of a
    lineage meets the same world; the reset seed only drives the reward draws. Time is a clock of
    steps that runs on across episodes: the drift happens at the ``drift_step``-th pull since the
    clock started, whatever the episode. The environment is *clocked* (``metadata["clocked"]``):
    ``reset(options={"clock": t})`` puts it at world time ``t``, which is how the simulator lets a
    child born after the drift live in the drifted world. An episode is ``episode_length`` pulls.

    On the last step ``info["success"]`` is True when the agent pulled the arm that was best at the
    time on at least ``success_fraction`` of the episode's steps. Each step reports
    ``info["drifted"]`` and ``info["best_arm"]``, for analysis, not for the agent.

    Examples
    --------
    >>> env = DriftingBanditEnv(n_arms=3, episode_length=10, drift_step=15)
    >>> obs, info = env.reset(seed=1)
    >>> int(obs), env.metadata["return_range"], env.clock
    (0, (0.0, 10.0), 0)
    >>> _ = [env.step(0) for _ in range(10)]; _ = env.reset(); env.clock
    10
    >>> _ = env.reset(options={"clock": 20}); env.step(0)[4]["drifted"]
    True
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 - gymnasium's convention; copied per instance
        "render_modes": [],
        "has_success": True,
        "has_hidden": False,
        "clocked": True,
        "return_range": None,
    }

    def __init__(
        self,
        n_arms: int = 3,
        episode_length: int = 200,
        drift_step: int = 2000,
        world_seed: int = 0,
        success_fraction: float = 0.5,
        render_mode: str | None = None,
    ) -> None:
        self.n_arms = _check_int("n_arms", n_arms, 2, 1000)
        self.episode_length = _check_int("episode_length", episode_length, 2)
        self.drift_step = _check_int("drift_step", drift_step, 1)
        self.world_seed = _check_int("world_seed", world_seed, 0)
        self.success_fraction = _check_float("success_fraction", success_fraction, 0.0, 1.0)
        if render_mode is not None:
            raise InvalidParameterError(
                f"render_mode = {render_mode!r}; DriftingBanditEnv renders nothing (None)"
            )
        self.render_mode = render_mode
        self.metadata = {**type(self).metadata, "return_range": (0.0, float(self.episode_length))}
        self.observation_space = gym.spaces.Discrete(1)
        self.action_space = gym.spaces.Discrete(self.n_arms)
        world = np.random.default_rng(self.world_seed)
        self.means_before = world.uniform(0.05, 0.95, self.n_arms)
        after = world.uniform(0.05, 0.95, self.n_arms)
        # After the drift the old favourite pays worst, so a greedy learner's reward drops.
        old_best = int(np.argmax(self.means_before))
        worst = int(np.argmin(after))
        after[[old_best, worst]] = after[[worst, old_best]]
        self.means_after = after
        self.clock = 0
        self._t = 0
        self._best_pulls = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        if options and "clock" in options:
            clock = options["clock"]
            if isinstance(clock, bool) or not isinstance(clock, int | np.integer) or clock < 0:
                raise InvalidParameterError(f"options['clock'] = {clock!r}; accepted: an integer >= 0")
            self.clock = int(clock)
        self._t = 0
        self._best_pulls = 0
        return np.int64(0), {"drifted": self.drifted, "best_arm": int(np.argmax(self.means))}

    @property
    def drifted(self) -> bool:
        """Whether the world has drifted at the current clock."""
        return self.clock >= self.drift_step

    @property
    def means(self) -> np.ndarray:
        """The arm means in force at the current clock."""
        return self.means_after if self.drifted else self.means_before

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise InvalidParameterError(f"action = {action!r}; accepted: an arm in [0, {self.n_arms - 1}]")
        means = self.means
        best = int(np.argmax(means))
        drifted = self.drifted
        self._best_pulls += int(int(action) == best)
        reward = float(self.np_random.uniform() < means[int(action)])
        self._t += 1
        self.clock += 1
        terminated = self._t >= self.episode_length
        info: dict[str, Any] = {"drifted": drifted, "best_arm": best}
        if terminated:
            info["success"] = self._best_pulls >= self.success_fraction * self.episode_length
        return np.int64(0), reward, terminated, False, info

    def canonical_description(self) -> dict[str, Any]:
        """The parameters that define this environment, for :func:`envs.complexity_bits`."""
        return {
            "name": "DriftingBandit",
            "n_arms": self.n_arms,
            "episode_length": self.episode_length,
            "drift_step": self.drift_step,
            "world_seed": self.world_seed,
            "success_fraction": self.success_fraction,
        }
