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
    """Description length of ``env`` in bits, plus that of every constitution wrapped around it.

    The compressed (raw deflate) length of :func:`canonical_description`, to which each
    :class:`~envs.wrapper.ConstitutionWrapper` in the wrapper chain adds its constitution's
    ``description_bits``. It is an upper-bound proxy for the Kolmogorov complexity K(μ), not K itself:
    the compressor misses regularities, the description names the environment's code rather than
    containing it, and compressor overhead adds a few bytes. Comparisons between environments
    described the same way are what it is for; in particular an environment with a constitution
    always comes out more complex than the same one without.

    An environment that knows its own complexity better (``env.unwrapped.complexity_bits``, a
    number: e.g. a reference-machine program's -log2 of the sampler's probability) is taken at its
    word; its constitutions still add their bits.

    Examples
    --------
    >>> import envs
    >>> plain = complexity_bits(envs.make("CliffWalking-v1"))
    >>> governed = complexity_bits(envs.make("CliffWalking-v1", constitution="cliff"))
    >>> governed > plain > 0
    True
    """
    own = getattr(env.unwrapped, "complexity_bits", None)
    bits = float(own) if isinstance(own, int | float) else description_length_bits(canonical_description(env))
    for wrapper in _constitution_wrappers(env):
        bits += wrapper.constitution.description_bits
    return float(bits)
