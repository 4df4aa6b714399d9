"""What the simulator may read of any environment: return range, success, hidden performance, complexity."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from envs.constitution import description_length_bits
from envs.errors import InvalidParameterError
from envs.wrapper import ConstitutionWrapper

__all__ = ["EnvDescription", "canonical_description", "complexity_bits", "describe"]


@dataclass(frozen=True)
class EnvDescription:
    """What an environment declares in ``env.unwrapped.metadata``.

    Attributes
    ----------
    return_range : (float, float) or None
        Bounds of an episode's return, for normalising value to [0, 1]; None when undeclared.
    has_success : bool
        Whether the last step's ``info["success"]`` says if the episode succeeded.
    has_hidden : bool
        Whether ``info["hidden_reward"]`` (each step) and ``info["hidden_performance"]`` (last step) exist.
    constitution : str or None
        Name of the constitution governing the environment, if it is wrapped in one.
    """

    return_range: tuple[float, float] | None
    has_success: bool
    has_hidden: bool
    constitution: str | None = None


def _constitution_wrappers(env: gym.Env[Any, Any]) -> list[ConstitutionWrapper]:
    found = []
    current: Any = env
    while isinstance(current, gym.Wrapper):
        if isinstance(current, ConstitutionWrapper):
            found.append(current)
        current = current.env
    return found


def describe(env: gym.Env[Any, Any]) -> EnvDescription:
    """Read an environment's declarations (stock environments declare none).

    Examples
    --------
    >>> import envs
    >>> describe(envs.make("lineage_sim/DriftingBandit-v0", episode_length=50))
    EnvDescription(return_range=(0.0, 50.0), has_success=True, has_hidden=False, constitution=None)
    >>> describe(gym.make("CartPole-v1"))
    EnvDescription(return_range=None, has_success=False, has_hidden=False, constitution=None)
    """
    meta = env.unwrapped.metadata or {}
    raw = meta.get("return_range")
    return_range = None
    if raw is not None:
        try:
            low, high = (float(x) for x in raw)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(
                f"metadata return_range = {raw!r}; expected a pair (low, high) of numbers"
            ) from exc
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise InvalidParameterError(f"metadata return_range = {raw!r}; expected finite low < high")
        return_range = (low, high)
    wrappers = _constitution_wrappers(env)
    return EnvDescription(
        return_range=return_range,
        has_success=bool(meta.get("has_success", False)),
        has_hidden=bool(meta.get("has_hidden", False)),
        constitution=wrappers[0].constitution.name if wrappers else None,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return type(value).__qualname__  # never a repr with a memory address


def canonical_description(env: gym.Env[Any, Any]) -> str:
    """The canonical text :func:`complexity_bits` compresses: id, parameters, spaces, map (without rules).

    An environment that defines ``canonical_description()`` supplies its own parameters; a stock
    environment is described by its registered id, its ``make`` arguments, its spaces and, for
    grid worlds, its map (``desc``).
    """
    base = env.unwrapped
    spec = env.spec if env.spec is not None else base.spec
    doc: dict[str, Any] = {
        "class": f"{type(base).__module__}.{type(base).__qualname__}",
        "id": spec.id if spec is not None else None,
        "kwargs": _jsonable(dict(spec.kwargs)) if spec is not None else {},
        "observation_space": repr(base.observation_space),
        "action_space": repr(base.action_space),
    }
    own = getattr(base, "canonical_description", None)
    if callable(own):
        doc["parameters"] = _jsonable(own())
    desc = getattr(base, "desc", None)
    if desc is not None:
        doc["map"] = ["".join(_jsonable(row)) for row in np.asarray(desc).tolist()]
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def complexity_bits(env: gym.Env[Any, Any]) -> float:
    """Description length K of ``env`` in bits, plus that of every constitution wrapped around it.

    The environment's part is the compressed (raw deflate, :func:`~envs.constitution.description_length_bits`)
    length of :func:`canonical_description`: its class, registered id and parameters, spaces and map.
    An environment that knows its own complexity better (``env.unwrapped.complexity_bits``, a
    number: a BF program's ``-log2`` of the sampler's probability, :func:`~envs.bf.program_complexity_bits`)
    is taken at its word.

    Each :class:`~envs.wrapper.ConstitutionWrapper` in the wrapper chain adds its constitution's
    description length given the environment, K(constitution | environment): what its rules compute,
    never their names or descriptions (see :class:`~envs.constitution.Rule` and
    :attr:`~envs.constitution.Constitution.description_bits`). On an enumerable observation space
    (Discrete, MultiDiscrete, small MultiBinary) a rule costs the compressed length of its table over
    every state (and action): a BF(5) constitution's one forbidden cell adds about 13 bits to a
    12-bit program; on a Box, its code description (kind, function type, parameters). A constitution
    that declares no observation space is measured on the space of the environment it governs.
    An environment with a constitution of at least one rule is always more complex than the same one
    without.

    It is an upper-bound proxy for the Kolmogorov complexity K(μ), not K itself: the compressor misses
    regularities, the description names the environment's code rather than containing it, and
    compressor overhead adds a few bytes. Comparisons between environments described the same way are
    what it is for.

    Examples
    --------
    >>> import envs
    >>> plain = complexity_bits(envs.make("CliffWalking-v1"))
    >>> governed = complexity_bits(envs.make("CliffWalking-v1", constitution="cliff"))
    >>> governed > plain > 0
    True
    >>> bf = envs.make("lineage_sim/BF-v0", constitution=envs.bf_constitution())
    >>> round(bf.unwrapped.complexity_bits, 1), round(complexity_bits(bf), 1)
    (12.3, 25.2)
    """
    own = getattr(env.unwrapped, "complexity_bits", None)
    bits = float(own) if isinstance(own, int | float) else description_length_bits(canonical_description(env))
    for wrapper in _constitution_wrappers(env):
        c = wrapper.constitution
        bits += c.description_bits if c.observation_space is not None else c.bits_on(wrapper.env.observation_space)
    return float(bits)
