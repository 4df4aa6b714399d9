"""An agent's utility: what an objective and a penalty weight make of an agent's measured evaluation.

Goal drift (``change-objective``) lets a child train on another objective or penalty weight than its
parent, so "how good is this agent" depends on whose utility asks. The utility of objective ``o``
with penalty weight ``w`` of an agent ``j`` is a pure function of ``j``'s evaluation attributes
(:mod:`spawn.life.evaluate`), linear in them::

    U_{o,w}(j) = value_j - a * scaled_violations_j - b * scaled_episode_cost_j

with ``value`` the suite mean of the normalised return (in [0, 1]), ``scaled_violations`` the
forbidden actions per evaluation episode and ``scaled_episode_cost`` the forbidden-state steps per
episode, each in value's units (an environment's count over the width of its return range, averaged
over the whole suite, 0 where an environment has no constitution:
:func:`spawn.life.evaluate.scaled_penalties`), and the weights ``(a, b)`` (:func:`utility_weights`).
So ``U`` of the objective an agent trains on is its training return, penalties included, normalised
and averaged as ``value`` is: a penalty of ``w`` per forbidden step of a 100-wide return range moves
``U`` by ``w / 100`` per step, as it moves the agent's normalised return. (The counts per episode
themselves, ``violations`` and ``episode_cost``, are in other units than ``value``: a utility on
them would rank agents by their cost alone.)

- ``raw``: ``(0, 0)``, the value alone;
- ``shielded``: ``(w, 0)``, the shield forbids actions only, so a forbidden action costs ``w`` and a
  forbidden state nothing;
- ``penalised``: ``(w, w)``, the penalty it trains on, per episode;
- ``lagrangian``: ``(w, w)``, the Lagrangian with the multiplier fixed at ``w``, its constant
  ``+ w * cost_limit`` dropped (the same for every agent, it ranks them the same); the root's own final
  multiplier is an outcome of its training, not a utility, so it is not used;
- another (a plugin's) objective: ``(w, 0)`` if it trains behind the shield, else ``(w, w)``.

Distance (the alignment distance of :mod:`attribution.distances`) is not part of any utility: no
objective trains on it. ``root_utility``, recorded on every agent, is the root's utility (the
config's ``[agent] objective`` and ``penalty_weight``) of the agent; ``utility_violations`` and
``utility_cost`` (the agent's own ``(a, b)``) let the ``ancestor-utility`` rule evaluate every
descendant with an ancestor's utility.

Examples
--------
>>> utility_weights("penalised", 2.0), utility_weights("shielded", 2.0), utility_weights("raw", 2.0)
((2.0, 2.0), (2.0, 0.0), (0.0, 0.0))
>>> utility({"value": 0.8, "scaled_violations": 0.5, "scaled_episode_cost": 0.1}, 0.5, 1.0)
0.45
>>> utility({"value": 0.8}, 0.5, 1.0), utility({}, 0.0, 0.0)
(0.8, nan)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from spawn.life.objectives import Objective, objective_class

if TYPE_CHECKING:
    from spawn.config import SimConfig
    from spawn.life.spec import AgentSpec

__all__ = [
    "agent_objective",
    "penalty_weight",
    "root_utility",
    "utility",
    "utility_attributes",
    "utility_weights",
]


def utility_weights(objective: str, weight: float) -> tuple[float, float]:
    """The weights ``(a, b)`` objective ``objective`` with penalty weight ``weight`` puts on an episode's
    violations and on its cost (see the module docs)."""
    if objective == "raw":
        return 0.0, 0.0
    if objective in ("penalised", "lagrangian"):
        return float(weight), float(weight)
    if objective == "shielded" or bool(getattr(objective_class(objective), "shield", False)):
        return float(weight), 0.0
    return float(weight), float(weight)


def _number(attributes: Mapping[str, Any], key: str) -> float:
    v = attributes.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(float(v)):
        return 0.0
    return float(v)


def utility(attributes: Mapping[str, Any], a: float, b: float) -> float:
    """``value - a * scaled_violations - b * scaled_episode_cost`` of an agent's attributes; NaN without
    a value (an agent that failed before its evaluation), a missing violations or cost counting 0."""
    value = attributes.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return (
        float(value)
        - a * _number(attributes, "scaled_violations")
        - b * _number(attributes, "scaled_episode_cost")
    )


def penalty_weight(spec: AgentSpec, cfg: SimConfig) -> float:
    """The agent's penalty weight: its own (a ``change-objective`` child's), else ``[agent] penalty_weight``."""
    return cfg.agent.penalty_weight if spec.penalty_weight is None else float(spec.penalty_weight)


def agent_objective(spec: AgentSpec, cfg: SimConfig) -> Objective:
    """The agent's training objective, made with the config and the agent's own penalty weight."""
    weight = penalty_weight(spec, cfg)
    if weight != cfg.agent.penalty_weight:
        cfg = cfg.model_copy(update={"agent": cfg.agent.model_copy(update={"penalty_weight": weight})})
    made: Objective = objective_class(spec.objective)(cfg)
    return made


def root_utility(cfg: SimConfig, attributes: Mapping[str, Any]) -> float:
    """The root's utility (``[agent] objective`` and ``penalty_weight``) of an agent's attributes."""
    return utility(attributes, *utility_weights(cfg.agent.objective, cfg.agent.penalty_weight))


def utility_attributes(spec: AgentSpec, cfg: SimConfig) -> dict[str, float]:
    """What an agent's record gains: its penalty weight and its own utility's weights ``(a, b)``."""
    w = penalty_weight(spec, cfg)
    a, b = utility_weights(spec.objective, w)
    return {"penalty_weight": w, "utility_violations": a, "utility_cost": b}
