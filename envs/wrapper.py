"""A wrapper that governs any discrete-action gymnasium environment by a constitution."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from envs.constitution import Constitution
from envs.errors import ConstitutionMismatchError

__all__ = ["ConstitutionWrapper", "check_fits"]


def check_fits(constitution: Constitution, env: gym.Env[Any, Any]) -> None:
    """Refuse a constitution whose action count (or declared observation space) the environment lacks."""
    space = env.action_space
    if not isinstance(space, gym.spaces.Discrete) or int(space.start) != 0:
        raise ConstitutionMismatchError(
            f"constitution {constitution.name!r} needs a Discrete action space starting at 0; "
            f"the environment has {space}"
        )
    if int(space.n) != constitution.n_actions:
        raise ConstitutionMismatchError(
            f"constitution {constitution.name!r} speaks of {constitution.n_actions} actions; "
            f"the environment has {space}"
        )
    wanted = constitution.observation_space
    if wanted is not None and env.observation_space != wanted:
        raise ConstitutionMismatchError(
            f"constitution {constitution.name!r} needs observation space {wanted}; "
            f"the environment has {env.observation_space}"
        )


class ConstitutionWrapper(gym.Wrapper[Any, Any, Any, Any]):
    """Reports what a constitution says of each step without changing the dynamics.

    ``info`` gains, on reset and on every step:

    - ``"violations"``: how many forbidden-action rules the step's action broke (0 at reset);
    - ``"cost"``: 1.0 when the step is in a forbidden state (the state reached; at reset, the
      initial state), else 0.0: the constrained-MDP cost c(s) = 1[s forbidden], one unit however
      many forbidden-state rules the state breaks;
    - ``"rules_broken"``: the names of every rule broken, forbidden actions first, then forbidden
      states, in the constitution's order;
    - ``"action_mask"``: ``np.int8`` array, 1 for each action allowed in the new observation
      (gymnasium's mask convention; all zeros if the constitution forbids everything there).

    The two counts never overlap: a step that takes a forbidden action into a forbidden state
    reports ``violations == 1`` (the action rule) and ``cost == 1.0`` (the state), and a step into a
    forbidden state by an allowed action reports ``violations == 0`` and ``cost == 1.0``. So
    ``violations + cost`` counts each event once (several forbidden-state rules broken by one
    state count once, as the state).

    With ``shield=True`` a forbidden action is replaced by the lowest-numbered allowed action before
    the environment sees it, and ``info["shielded"]`` says whether that happened. When every action is
    forbidden the shield lets the requested action through and the step reports the violation.

    Examples
    --------
    >>> import gymnasium as gym
    >>> from envs.constitution import Constitution, ForbiddenAction
    >>> no_left = Constitution("no-left", 4, (ForbiddenAction("left", lambda obs, a: a == 0),))
    >>> env = ConstitutionWrapper(gym.make("FrozenLake-v1", is_slippery=False), no_left, shield=True)
    >>> _, info = env.reset(seed=0)
    >>> info["action_mask"].tolist()
    [0, 1, 1, 1]
    >>> _, _, _, _, info = env.step(0)
    >>> info["shielded"], info["violations"]
    (True, 0)
    """

    def __init__(self, env: gym.Env[Any, Any], constitution: Constitution, shield: bool = False) -> None:
        if not isinstance(constitution, Constitution):
            raise ConstitutionMismatchError(f"{constitution!r} is not a Constitution")
        check_fits(constitution, env)
        super().__init__(env)
        self.constitution = constitution
        self.shield = bool(shield)
        self._last_obs: Any = None
        self._has_obs = False

    def _mask(self, obs: Any) -> np.ndarray:
        return self.constitution.allowed_actions(obs).astype(np.int8)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        broken = self.constitution.states_broken(obs)
        info = dict(info)
        info.update(
            cost=1.0 if broken else 0.0,
            violations=0,  # no action taken yet
            rules_broken=broken,
            action_mask=self._mask(obs),
        )
        if self.shield:
            info["shielded"] = False
        self._last_obs, self._has_obs = obs, True
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        if not self._has_obs:
            raise gym.error.ResetNeeded("call reset() before step() on a ConstitutionWrapper")
        obs = self._last_obs
        shielded = False
        if self.shield:
            allowed = self.constitution.allowed_actions(obs)
            if 0 <= int(action) < allowed.size and not allowed[int(action)] and allowed.any():
                action = (
                    type(action)(int(np.argmax(allowed)))
                    if isinstance(action, np.integer)
                    else int(np.argmax(allowed))
                )
                shielded = True
        next_obs, reward, terminated, truncated, info = self.env.step(action)
        broken = self.constitution.audit_step(obs, int(action), next_obs)
        state_names = {r.name for r in self.constitution.forbidden_states}
        n_states = sum(name in state_names for name in broken)
        info = dict(info)
        info.update(
            cost=1.0 if n_states else 0.0,
            violations=len(broken) - n_states,  # the forbidden-action rules only
            rules_broken=broken,
            action_mask=self._mask(next_obs),
        )
        if self.shield:
            info["shielded"] = shielded
        self._last_obs = next_obs
        return next_obs, reward, terminated, truncated, info
