"""A k-armed Bernoulli bandit whose means change at a seeded step: something for drift detectors to find."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.errors import InvalidParameterError
from envs.hiring import _check_float, _check_int

__all__ = ["DriftingBanditEnv"]


class DriftingBanditEnv(gym.Env[Any, Any]):
    """One state, ``n_arms`` Bernoulli arms; at ``drift_step`` the means are redrawn and the best arm moves.

    Means are drawn at reset from ``U(0.05, 0.95)``; after the drift they are drawn again, and if the best
    arm did not change it is swapped with another so that the old favourite stops paying best. With
    ``drift_step=None`` the drift step is drawn at reset, uniformly in
    ``[episode_length // 4, 3 * episode_length // 4]``. An episode is ``episode_length`` pulls.

    On the last step ``info["success"]`` is True when the agent pulled the arm that was best at the time
    on at least ``success_fraction`` of the steps. Each step reports ``info["drifted"]`` (whether the
    drift has happened) and ``info["best_arm"]``, for analysis, not for the agent.

    Examples
    --------
    >>> env = DriftingBanditEnv(n_arms=3, episode_length=10, drift_step=5)
    >>> obs, info = env.reset(seed=1)
    >>> int(obs), env.metadata["return_range"], env.drift_step_
    (0, (0.0, 10.0), 5)
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 - gymnasium's convention; copied per instance
        "render_modes": [],
        "has_success": True,
        "has_hidden": False,
        "return_range": None,
    }

    def __init__(
        self,
        n_arms: int = 3,
        episode_length: int = 200,
        drift_step: int | None = None,
        success_fraction: float = 0.5,
        render_mode: str | None = None,
    ) -> None:
        self.n_arms = _check_int("n_arms", n_arms, 2, 1000)
        self.episode_length = _check_int("episode_length", episode_length, 2)
        if drift_step is not None:
            drift_step = _check_int("drift_step", drift_step, 1, self.episode_length - 1)
        self.drift_step = drift_step
        self.success_fraction = _check_float("success_fraction", success_fraction, 0.0, 1.0)
        if render_mode is not None:
            raise InvalidParameterError(
                f"render_mode = {render_mode!r}; DriftingBanditEnv renders nothing (None)"
            )
        self.render_mode = render_mode
        self.metadata = {**type(self).metadata, "return_range": (0.0, float(self.episode_length))}
        self.observation_space = gym.spaces.Discrete(1)
        self.action_space = gym.spaces.Discrete(self.n_arms)
        self.means_before = np.zeros(self.n_arms)
        self.means_after = np.zeros(self.n_arms)
        self.drift_step_ = drift_step if drift_step is not None else self.episode_length // 2
        self._t = 0
        self._best_pulls = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        rng = self.np_random
        self.means_before = rng.uniform(0.05, 0.95, self.n_arms)
        after = rng.uniform(0.05, 0.95, self.n_arms)
        old_best = int(np.argmax(self.means_before))
        if int(np.argmax(after)) == old_best:
            other = int(rng.integers(self.n_arms - 1))
            other += other >= old_best
            after[[old_best, other]] = after[[other, old_best]]
        self.means_after = after
        if self.drift_step is None:
            low, high = self.episode_length // 4, 3 * self.episode_length // 4
            self.drift_step_ = int(rng.integers(max(low, 1), max(high, 1) + 1))
        else:
            self.drift_step_ = self.drift_step
        self._t = 0
        self._best_pulls = 0
        return np.int64(0), {"drifted": False, "best_arm": int(np.argmax(self.means_before))}

    @property
    def means(self) -> np.ndarray:
        """The arm means in force at the current step."""
        return self.means_after if self._t >= self.drift_step_ else self.means_before

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise InvalidParameterError(f"action = {action!r}; accepted: an arm in [0, {self.n_arms - 1}]")
        means = self.means
        best = int(np.argmax(means))
        self._best_pulls += int(int(action) == best)
        reward = float(self.np_random.uniform() < means[int(action)])
        self._t += 1
        terminated = self._t >= self.episode_length
        info: dict[str, Any] = {"drifted": self._t > self.drift_step_, "best_arm": best}
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
            "success_fraction": self.success_fraction,
        }
