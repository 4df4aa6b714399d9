"""The input and output of one agent's life: :class:`AgentSpec`, :class:`AgentRecord`, :class:`JobResult`.

An agent's random streams come from its lineage path alone (:func:`seed_sequence`), so a spec and
the run's config are the whole input of its job, whatever process runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from spawn.agents import agent_class

if TYPE_CHECKING:
    from spawn.config import SimConfig

__all__ = [
    "CURVE_COLUMNS",
    "AgentRecord",
    "AgentSpec",
    "CurveRow",
    "JobResult",
    "path_ints",
    "root_spec",
    "seed_sequence",
]


def path_ints(agent_id: str) -> tuple[int, ...]:
    """An agent id's lineage path as integers: ``"0.2.1"`` is ``(0, 2, 1)``.

    Examples
    --------
    >>> path_ints("0.2.1")
    (0, 2, 1)
    """
    return tuple(int(p) for p in agent_id.split("."))


def seed_sequence(seed: int, agent_id: str) -> np.random.SeedSequence:
    """The agent's own seed sequence: ``SeedSequence(seed, spawn_key=path)``.

    Examples
    --------
    >>> seed_sequence(7, "0.1").spawn_key
    (0, 1)
    """
    return np.random.SeedSequence(seed, spawn_key=path_ints(agent_id))


@dataclass(frozen=True)
class AgentSpec:
    """The whole input of one agent's life."""

    id: str
    parent: str | None
    depth: int
    operator: str | None
    agent_kind: str
    hyper: dict[str, float]
    objective: str
    tasks: tuple[str, ...]
    tools: dict[str, tuple[tuple[int, ...], ...]]
    params: dict[str, Any] | None
    budget: int
    quota: int  # descendants this agent's clade may still create
    birth_time: int
    liability: float  # violations + cost accumulated along the ancestor chain
    lagrange: float = 0.0
    trigger: str | None = None  # what made the parent create this agent
    trigger_task: str | None = None  # the task of the parent's round after which the trigger fired
    keep_final: bool = False  # return the final agent state (the archive regime breeds from it later)
    #: The weight of violations and cost in its objective and utility; None: the config's
    #: ``[agent] penalty_weight`` (a ``change-objective`` child may carry its own).
    penalty_weight: float | None = None
    #: Per task, the constitution rules (forbidden actions and states, by name) this agent trains
    #: without: a ``change-objective`` child may drop one of its parent's or take a dropped one back.
    #: It is still evaluated, measured and charged under the suite's whole constitution.
    dropped_rules: dict[str, tuple[str, ...]] = field(default_factory=dict)


#: The columns of ``curves.csv``: the agent's id, then the fields of a :class:`CurveRow`.
CURVE_COLUMNS = ("id", "round", "task", "steps", "return", "cost", "violations", "lagrange", "epsilon")


class CurveRow(NamedTuple):
    """One training round of an agent's life: a row of its learning curve (``curves.csv``).

    ``steps`` is the agent's cumulative training steps at the end of the round; ``ret`` the mean
    return of the episodes that ended in the round (the last finished episode's when none ended;
    ``None`` while none ever has); ``cost`` and ``violations`` the round's sums (as ``train_cost``
    and ``train_violations`` sum them over the life); ``lagrange`` the objective's multiplier after
    the round; ``epsilon`` the agent's exploration rate (``None`` for an agent without one).
    """

    round: int
    task: str
    steps: int
    ret: float | None
    cost: float
    violations: float
    lagrange: float
    epsilon: float | None


@dataclass(frozen=True)
class AgentRecord:
    """What an agent did and measured: its lineage node, and its learning curve (one row a round)."""

    id: str
    parent: str | None
    operator: str | None
    attributes: dict[str, Any]
    train_steps: int
    eval_steps: int
    curve: tuple[CurveRow, ...] = ()


@dataclass(frozen=True)
class JobResult:
    """What one agent's job returns: its record and the specs of the children it made."""

    record: AgentRecord
    children: tuple[AgentSpec, ...] = field(default_factory=tuple)
    #: With ``spec.keep_final``: the agent as it ended, as a template for children made later
    #: (the archive regime), and its best training episodes per task (for ``add-tool``).
    final: AgentSpec | None = None
    best: dict[str, tuple[tuple[float, tuple[int, ...]], ...]] | None = None


def root_spec(cfg: SimConfig) -> AgentSpec:
    """The spec of the lineage's first agent."""
    a = cfg.agent
    # What the kind declares (every built-in: alpha, gamma, epsilon, temperature, lambda, lr), then how it acts.
    hyper = a.hyper(agent_class(a.kind)) | {
        "softmax": 1.0 if a.selection == "softmax" else 0.0,
        "visits": 1.0 if a.step_size == "visits" else 0.0,
    }
    return AgentSpec(
        id="0",
        parent=None,
        depth=0,
        operator=None,
        agent_kind=a.kind,
        hyper=hyper,
        objective=a.objective,
        tasks=cfg.train_envs,
        tools={},
        params=None,
        budget=cfg.budget,
        quota=cfg.caps.max_agents - 1,
        birth_time=0,
        liability=0.0,
    )
