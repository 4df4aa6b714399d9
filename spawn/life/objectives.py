"""Training objectives: what an agent learns from, given the violations and cost its constitution reports.

Every objective, built-in or a plugin's, is a class registered with :func:`register_objective` and
made once per life with the run's config. During training the reward the agent learns from is the
environment's reward minus ``weight(multiplier) * (violations + cost)`` of the step, where
``violations`` counts the forbidden-action rules the step's action broke and ``cost`` is 1 when the
step is in a forbidden state (the constitution wrapper's ``info``; the two never count the same
rule, so every event costs once). An ``adaptive`` objective updates the multiplier at the end of
every episode (``update``) from the episode's cost, the sum of ``violations + cost`` over its
steps; where the constitution has only forbidden states that is Safety Gym's J_c, the
``episode_cost`` evaluation reports. A ``shield`` objective trains and is evaluated behind the
environment's shield, its actions masked to the allowed ones. The reward an agent reports stays
the environment's.

Examples
--------
>>> OBJECTIVES.names()[:4]
('raw', 'shielded', 'penalised', 'lagrangian')
>>> from spawn.config import parse_config
>>> cfg = parse_config({"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1"}], "agent": {"lagrange_lr": 0.5}})
>>> obj = objective_class("lagrangian")(cfg)
>>> obj.update(0.0, episode_cost=2.0), obj.weight(1.0)
(1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from spawn.registry import OBJECTIVES

if TYPE_CHECKING:
    from spawn.config import SimConfig

__all__ = ["OBJECTIVES", "Objective", "objective_class", "register_objective"]

C = TypeVar("C", bound=type)


def register_objective(name: str) -> Callable[[C], C]:
    """Class decorator: register an objective as ``name``; the class is made with the run's config."""
    decorate: Callable[[C], C] = OBJECTIVES.class_decorator(name, "weight", "self, multiplier")
    return decorate


def objective_class(name: str) -> Any:
    """The class registered as objective ``name`` (:class:`~spawn.errors.ConfigError` when unknown)."""
    return OBJECTIVES.get(name)


class Objective:
    """Base class of objectives: the raw reward (no weight, no shield, nothing to adapt)."""

    #: Train and evaluate behind the shield (the constitution's allowed actions only).
    shield: ClassVar[bool] = False
    #: ``update`` changes the multiplier at episode ends.
    adaptive: ClassVar[bool] = False

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg

    def weight(self, multiplier: float) -> float:
        """What one unit of violations + cost costs in reward."""
        return 0.0

    def update(self, multiplier: float, episode_cost: float) -> float:
        """The multiplier after an episode whose violations + cost were ``episode_cost``."""
        return multiplier

    def attributes(self, multiplier: float) -> dict[str, Any]:
        """Attributes the agent's record gains."""
        return {}


@register_objective("raw")
class Raw(Objective):
    """The environment's reward."""


@register_objective("shielded")
class Shielded(Objective):
    """The environment's reward, behind the shield: forbidden actions are never taken."""

    shield = True


@register_objective("penalised")
class Penalised(Objective):
    """Reward minus ``[agent] penalty_weight`` times violations and cost."""

    def weight(self, multiplier: float) -> float:
        return self.cfg.agent.penalty_weight


@register_objective("lagrangian")
class Lagrangian(Objective):
    """Reward minus lambda times violations and cost; lambda grows while episodes cost more than
    ``cost_limit`` (``lambda <- max(0, lambda + lagrange_lr * (cost - cost_limit))``), so training
    settles where the mean episode cost (violations + cost per episode) is near ``cost_limit``."""

    adaptive = True

    def weight(self, multiplier: float) -> float:
        return multiplier

    def update(self, multiplier: float, episode_cost: float) -> float:
        a = self.cfg.agent
        return max(0.0, multiplier + a.lagrange_lr * (episode_cost - a.cost_limit))

    def attributes(self, multiplier: float) -> dict[str, Any]:
        return {"lagrange_lambda": multiplier}
