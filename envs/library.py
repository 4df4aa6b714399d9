"""Named constitutions, and making environments governed by one."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, overload

import gymnasium as gym

from envs.constitution import Constitution, ForbiddenAction, ForbiddenState, _unknown
from envs.errors import (
    ConstitutionMismatchError,
    InvalidParameterError,
    UnknownConstitutionError,
    UnknownEnvironmentError,
)
from envs.hiring import hiring_constitution
from envs.registration import register_envs
from envs.wrapper import ConstitutionWrapper

__all__ = [
    "ConstitutionFactory",
    "attach_constitution",
    "cliff_constitution",
    "constitution_names",
    "frozen_lake_constitution",
    "get_constitution",
    "make",
    "register_constitution",
]

#: Builds a constitution fitted to an environment (reading its parameters from ``env.unwrapped``).
ConstitutionFactory = Callable[[gym.Env[Any, Any]], Constitution]

_FACTORIES: dict[str, ConstitutionFactory] = {}

#: The default constitution of stock environments, by gymnasium spec name.
_STOCK_DEFAULTS = {"CliffWalking": "cliff", "FrozenLake": "frozen-lake"}


def register_constitution(name: str, factory: ConstitutionFactory, *, overwrite: bool = False) -> None:
    """Make ``factory`` available as ``constitution=name`` in :func:`make` and :func:`attach_constitution`."""
    if not isinstance(name, str) or not name or name == "default":
        raise InvalidParameterError(
            f"constitution name {name!r}; give a non-empty string other than 'default'"
        )
    if not callable(factory):
        raise InvalidParameterError(f"factory for {name!r} is {factory!r}; it must be callable with the env")
    if name in _FACTORIES and not overwrite:
        raise InvalidParameterError(f"constitution {name!r} is already registered; pass overwrite=True")
    _FACTORIES[name] = factory


def constitution_names() -> tuple[str, ...]:
    """Every registered constitution name, plus ``"default"``.

    Examples
    --------
    >>> constitution_names()
    ('cliff', 'default', 'frozen-lake', 'hiring')
    """
    return tuple(sorted([*_FACTORIES, "default"]))


def get_constitution(name: str, env: gym.Env[Any, Any]) -> Constitution:
    """The constitution called ``name``, fitted to ``env``; ``"default"`` is the environment's own.

    An environment's default is its ``default_constitution()`` method if it has one, else the entry of
    its gymnasium name in a small table (CliffWalking: ``"cliff"``, FrozenLake: ``"frozen-lake"``).

    Examples
    --------
    >>> env = gym.make("CliffWalking-v1")
    >>> get_constitution("default", env).name
    'cliff'
    >>> get_constitution("clif", env)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    envs.errors.UnknownConstitutionError: constitution 'clif' is not registered; ... Did you mean 'cliff'?
    """
    if name == "default":
        base = env.unwrapped
        own = getattr(base, "default_constitution", None)
        if callable(own):
            constitution = own()
            if not isinstance(constitution, Constitution):
                raise ConstitutionMismatchError(
                    f"{type(base).__name__}.default_constitution() returned {constitution!r}; "
                    "expected a Constitution"
                )
            return constitution
        spec_name = env.spec.name if env.spec is not None else None
        if spec_name in _STOCK_DEFAULTS:
            return _FACTORIES[_STOCK_DEFAULTS[spec_name]](env)
        raise UnknownConstitutionError(
            f"environment {env.spec.id if env.spec else type(base).__name__} has no default constitution; "
            f"name one of: {', '.join(sorted(_FACTORIES))}, or pass a Constitution"
        )
    if name not in _FACTORIES:
        raise UnknownConstitutionError(
            _unknown(f"constitution {name!r} is not registered", name, constitution_names())
        )
    return _FACTORIES[name](env)


def attach_constitution(
    env: gym.Env[Any, Any], constitution: str | Constitution, *, shield: bool = False
) -> ConstitutionWrapper:
    """Wrap ``env`` in a :class:`~envs.wrapper.ConstitutionWrapper` for a named or given constitution."""
    if isinstance(constitution, str):
        constitution = get_constitution(constitution, env)
    elif not isinstance(constitution, Constitution):
        raise InvalidParameterError(
            f"constitution = {constitution!r}; accepted: None, 'default', a registered name "
            f"({', '.join(constitution_names())}) or a Constitution"
        )
    return ConstitutionWrapper(env, constitution, shield=shield)


@overload
def make(
    env_id: str, constitution: None = None, *, shield: bool = False, **kwargs: Any
) -> gym.Env[Any, Any]: ...


@overload
def make(
    env_id: str, constitution: str | Constitution, *, shield: bool = False, **kwargs: Any
) -> ConstitutionWrapper: ...


def make(
    env_id: str, constitution: str | Constitution | None = None, *, shield: bool = False, **kwargs: Any
) -> gym.Env[Any, Any]:
    """``gymnasium.make(env_id, **kwargs)``, governed by ``constitution`` when one is given.

    Examples
    --------
    >>> env = make("lineage_sim/Hiring-v0", constitution="default", discrete=True)
    >>> env.constitution.name, env.observation_space
    ('hiring', Discrete(72))
    """
    register_envs()
    if "max_episode_steps" in kwargs:
        steps = kwargs["max_episode_steps"]
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
            raise InvalidParameterError(f"max_episode_steps = {steps!r}; accepted: a whole number >= 1")
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.Error as exc:  # unknown id, namespace or version: gymnasium's own message
        close = difflib.get_close_matches(str(env_id), list(gym.registry), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownEnvironmentError(f"cannot make environment {env_id!r}: {exc}{hint}") from exc
    except TypeError as exc:
        if "unexpected keyword argument" not in str(exc):
            raise
        raise InvalidParameterError(f"{env_id}: {exc}; accepted: the constructor's parameters") from exc
    if constitution is None:
        return env
    return attach_constitution(env, constitution, shield=shield)


# -- grid constitutions for stock toy-text environments --------------------------------------------
@dataclass(frozen=True)
class _InCells:
    cells: frozenset[int]

    def __call__(self, obs: Any) -> bool:
        return int(obs) in self.cells


@dataclass(frozen=True)
class _MovesInto:
    """True when the intended move of ``action`` from ``obs`` lands on one of ``cells``."""

    n_rows: int
    n_cols: int
    deltas: tuple[tuple[int, int], ...]
    cells: frozenset[int]

    def __call__(self, obs: Any, action: int) -> bool:
        row, col = divmod(int(obs), self.n_cols)
        dr, dc = self.deltas[int(action)]
        row = min(max(row + dr, 0), self.n_rows - 1)
        col = min(max(col + dc, 0), self.n_cols - 1)
        return row * self.n_cols + col in self.cells


@dataclass(frozen=True)
class _FellBack:
    """A fall: an intended move into the cliff that ends at the start (CliffWalking sends fallers back)."""

    moves: _MovesInto
    start: int

    def __call__(self, obs: Any, action: int, next_obs: Any) -> bool:
        return int(next_obs) == self.start and self.moves(obs, action)


def _grid_env(env: gym.Env[Any, Any], family: str, n_actions: int) -> Any:
    base = env.unwrapped
    space = env.observation_space
    if type(base).__name__ != f"{family}Env" or not isinstance(space, gym.spaces.Discrete):
        raise ConstitutionMismatchError(
            f"this constitution governs {family} environments with Discrete observations; "
            f"got {type(base).__name__} with {space}"
        )
    if not isinstance(env.action_space, gym.spaces.Discrete) or int(env.action_space.n) != n_actions:
        raise ConstitutionMismatchError(
            f"{family} needs {n_actions} actions; the environment has {env.action_space}"
        )
    return base


def cliff_constitution(env: gym.Env[Any, Any]) -> Constitution:
    """CliffWalking's cliff cells as forbidden states, and stepping towards them as forbidden actions.

    The environment never shows the cliff (a falling agent is sent back to the start), so the
    forbidden state is also detected from the transition: an intended move into the cliff that ends at
    the start. That detection is exact for the default, non-slippery walk.

    Examples
    --------
    >>> c = cliff_constitution(gym.make("CliffWalking-v1"))
    >>> c.allowed_actions(36).tolist()  # at the start, "right" steps into the cliff
    [True, False, True, True]
    """
    base = _grid_env(env, "CliffWalking", 4)
    n_rows, n_cols = (int(x) for x in base.shape)
    cliff = frozenset(int(i) for i in base._cliff.ravel().nonzero()[0])
    moves = _MovesInto(n_rows, n_cols, ((-1, 0), (0, 1), (1, 0), (0, -1)), cliff)  # up, right, down, left
    return Constitution(
        "cliff",
        4,
        (
            ForbiddenAction("step-into-cliff", moves, "do not move towards a cliff cell"),
            ForbiddenState(
                "on-cliff",
                _InCells(cliff),
                "never be on a cliff cell",
                reached=_FellBack(moves, int(base.start_state_index)),
            ),
        ),
        description="CliffWalking: stay off the cliff",
        observation_space=env.observation_space,
    )


def frozen_lake_constitution(env: gym.Env[Any, Any]) -> Constitution:
    """FrozenLake's holes as forbidden states, and moving towards one as a forbidden action.

    Examples
    --------
    >>> c = frozen_lake_constitution(gym.make("FrozenLake-v1"))
    >>> c.is_forbidden_state(5), c.allowed_actions(4).tolist()  # 5 is a hole, right of 4
    (True, [True, True, False, True])
    """
    base = _grid_env(env, "FrozenLake", 4)
    desc = base.desc
    holes = frozenset(int(i) for i in (desc.ravel() == b"H").nonzero()[0])
    moves = _MovesInto(
        int(base.nrow), int(base.ncol), ((0, -1), (1, 0), (0, 1), (-1, 0)), holes
    )  # left, down, right, up
    return Constitution(
        "frozen-lake",
        4,
        (
            ForbiddenAction("step-towards-hole", moves, "do not move towards a hole"),
            ForbiddenState("in-hole", _InCells(holes), "never fall into a hole"),
        ),
        description="FrozenLake: stay out of the holes",
        observation_space=env.observation_space,
    )


register_constitution("hiring", hiring_constitution)
register_constitution("cliff", cliff_constitution)
register_constitution("frozen-lake", frozen_lake_constitution)
