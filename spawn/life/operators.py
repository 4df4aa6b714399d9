"""Self-improvement operators: each application makes a new agent (a new version) from its parent.

Narrow operators keep the architecture (``finetune``, ``retrain-on-drift``); broad ones change it
(``mutate``, ``add-tool``, ``new-task``). Every operator, built-in or a plugin's, is a class
registered with :func:`register_operator`: ``apply(birth)`` returns the child's
:class:`~spawn.life.spec.AgentSpec`, and an optional ``applicable(birth)`` says whether it can apply now.
Whatever ``apply`` returns, the regime then sets the child's lineage fields itself (id, parent,
depth, operator, trigger, budget, quota, birth time, liability), so an operator cannot break the
lineage: ``return birth.child`` is a valid operator (a plain copy of the parent).

Examples
--------
>>> OPERATORS.names()[:5]
('finetune', 'retrain-on-drift', 'mutate', 'add-tool', 'new-task')
>>> OPERATORS.meta("mutate")
{'kind': 'broad'}
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from spawn.agents import Agent, agent_class, mutation_ranges
from spawn.life.spec import AgentSpec
from spawn.registry import OBJECTIVES, OPERATORS

if TYPE_CHECKING:
    from spawn.config import SimConfig
    from spawn.life.suite import Suite

__all__ = [
    "OPERATORS",
    "Birth",
    "ChangeObjective",
    "Operator",
    "apply_operator",
    "draw_operator",
    "drift_penalty_weight",
    "first_task",
    "lineage_fields",
    "mine_tool",
    "mutate_hyper",
    "operator_kind",
    "reads_best_episodes",
    "register_operator",
]

Episodes = Iterable[tuple[float, tuple[int, ...]]]

_SWITCH = {"q": "q-lambda", "q-lambda": "q"}


def mine_tool(
    episodes: Episodes,
    existing: Iterable[tuple[int, ...]],
    min_length: int = 2,
    max_length: int = 3,
    best_fraction: float = 0.5,
) -> tuple[int, ...] | None:
    """The most frequent action sequence in the best episodes, not already a tool.

    Episodes are ranked by return (ties keep their order) and the best ``best_fraction`` of them
    are mined. Among sequences seen at least twice, the most frequent wins; ties go to the longer,
    then to the smaller sequence. ``None`` when nothing repeats.

    Examples
    --------
    >>> mine_tool([(1.0, (0, 1, 0, 1, 2)), (0.0, (2, 2, 2))], existing=[], best_fraction=0.5)
    (0, 1)
    >>> mine_tool([(1.0, (0, 1, 0, 1, 0))], existing=[(0, 1)], best_fraction=1.0)
    (0, 1, 0)
    """
    eps = list(episodes)
    if not eps:
        return None
    ranked = sorted(range(len(eps)), key=lambda i: -eps[i][0])
    keep = [eps[i][1] for i in ranked[: max(1, math.ceil(len(eps) * best_fraction))]]
    have = set(existing)
    counts: Counter[tuple[int, ...]] = Counter()
    for actions in keep:
        for n in range(min_length, max_length + 1):
            for i in range(len(actions) - n + 1):
                counts[tuple(actions[i : i + n])] += 1
    ranked_seqs = sorted(
        (seq for seq, c in counts.items() if c >= 2 and seq not in have),
        key=lambda seq: (-counts[seq], -len(seq), seq),
    )
    return ranked_seqs[0] if ranked_seqs else None


def mutate_hyper(
    hyper: Mapping[str, float],
    sigma: float,
    rng: np.random.Generator,
    ranges: Mapping[str, tuple[float, float]],
) -> dict[str, float]:
    """Log-normal perturbation of each tunable hyper-parameter, clipped to its valid range.

    ``ranges`` maps each tunable name to its ``(low, high)``, as the agent class declares them
    (:func:`spawn.agents.mutation_ranges`). One normal is drawn per tunable name ``hyper`` holds,
    in sorted name order; the other hyper-parameters are left alone.

    Examples
    --------
    >>> from spawn.agents import QAgent
    >>> h = mutate_hyper({"alpha": 0.1, "gamma": 0.9}, 0.5, np.random.default_rng(0), mutation_ranges(QAgent))
    >>> h["gamma"], 0 < h["alpha"] <= 1, h["alpha"] != 0.1
    (0.9, True, True)
    >>> mutate_hyper({"beta": 2.0}, 0.5, np.random.default_rng(0), ranges={"beta": (1.0, 1.5)})
    {'beta': 1.5}
    """
    out = dict(hyper)
    for key in sorted(ranges):
        if key in out:
            lo, hi = ranges[key]
            x = out[key] * math.exp(sigma * float(rng.standard_normal()))
            out[key] = float(min(hi, max(lo, x)))
    return out


def _tool_candidates(spec: AgentSpec, best: Mapping[str, Any], cfg: SimConfig) -> dict[str, tuple[int, ...]]:
    t = cfg.tools
    found: dict[str, tuple[int, ...]] = {}
    for task in spec.tasks:
        have = spec.tools.get(task, ())
        if len(have) >= t.max_tools or task not in best:
            continue
        tool = mine_tool(best[task], have, t.min_length, t.max_length, t.best_fraction)
        if tool is not None:
            found[task] = tool
    return found


def _new_tasks(spec: AgentSpec, suite: Suite) -> list[str]:
    discrete_only = getattr(agent_class(spec.agent_kind), "needs_discrete", False)
    return [
        s
        for s in suite.slugs
        if s not in spec.tasks and not (discrete_only and suite.facts[s].shape.n_obs is None)
    ]



# ---------------------------------------------------------------------- the protocol and the registry
@dataclass
class Birth:
    """One birth: everything an operator may read to make the child.

    ``parent`` is the parent's spec, ``agent`` the live parent agent, ``rng`` the generator of the
    birth's own stream (the parent's operator stream in the recursive regime, the batch's in the
    archive regime: draw from nothing else), ``cfg`` the run's config, ``suite`` its environments,
    ``best`` the parent's best training episodes per task (``(return, actions)``, for mining tools)
    and ``trigger`` what made the parent create a child (``drift``, ``schedule``, ``plateau``, a
    plugin trigger's name, or ``selector:<name>`` in the archive regime). ``drifted`` says whether
    the parent's world drifted: the trigger is a drift alarm, or (archive) the parent's life raised one.
    ``lineage`` holds the fields the regime sets on the child whatever the operator returns.
    """

    parent: AgentSpec
    agent: Agent
    rng: np.random.Generator
    cfg: SimConfig
    suite: Suite
    best: Mapping[str, Any]
    trigger: str
    drifted: bool
    lineage: dict[str, Any]
    #: Lineage-free fields the child starts with (e.g. ``lagrange``); an operator may change them.
    start: dict[str, Any]

    @functools.cached_property
    def child(self) -> AgentSpec:
        """The spec the child gets before the operator acts: the parent as it is now (its current
        parameters and hyper-parameters), with the child's lineage fields."""
        hyper = dict(self.agent.hyper) | {"softmax": self.parent.hyper.get("softmax", 0.0)}
        return replace(
            self.parent, params=self.agent.get_params(), hyper=hyper, operator=None, **self.start, **self.lineage
        )


class Operator:
    """Base class of operators (optional: any class with ``apply(birth)`` will do).

    ``applicable(birth)`` says whether the operator can apply to this birth (default: always).
    ``answers`` names a trigger the operator answers: when that trigger fires and the operator has
    weight and applies, it is drawn alone (``retrain-on-drift`` answers ``drift``); otherwise it is
    drawn, when it applies, after the operators that answer no trigger.
    """

    answers: ClassVar[str | None] = None

    def applicable(self, birth: Birth) -> bool:
        return True

    def apply(self, birth: Birth) -> AgentSpec:
        raise NotImplementedError


OpT = TypeVar("OpT", bound=type)

_KINDS = ("narrow", "broad")


def register_operator(name: str, *, kind: str, default_weight: float = 1.0) -> Callable[[OpT], OpT]:
    """Class decorator: register an operator as ``name``, ``kind="narrow"`` (keeps the
    architecture) or ``"broad"`` (changes it). The class is made with no arguments for each birth.
    ``default_weight`` is a built-in operator's weight in the default ``[operators]`` (0: left out)."""
    if kind not in _KINDS:
        raise ValueError(f"operator {name!r}: kind must be 'narrow' or 'broad', got {kind!r}")
    if isinstance(default_weight, bool) or not (isinstance(default_weight, int | float) and default_weight >= 0):
        raise ValueError(f"operator {name!r}: default_weight must be a number >= 0, got {default_weight!r}")
    meta: dict[str, Any] = {"kind": kind} if default_weight == 1.0 else {"kind": kind, "default_weight": default_weight}
    decorate: Callable[[OpT], OpT] = OPERATORS.class_decorator(name, "apply", "self, birth", **meta)
    return decorate


def first_task(spec: AgentSpec) -> int:
    """The index in ``spec.tasks`` of the task a life's round-robin starts with: a ``new-task`` child's
    new task (the last of its tasks), so that even a one-round budget trains on it; 0 otherwise.

    Examples
    --------
    >>> from spawn.config import parse_config
    >>> from spawn.life.spec import root_spec
    >>> spec = root_spec(parse_config({"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1"}]}))
    >>> first_task(spec), first_task(replace(spec, operator="new-task", tasks=("a", "b")))
    (0, 1)
    """
    return len(spec.tasks) - 1 if spec.operator == "new-task" else 0


def operator_kind(name: str) -> str:
    """``narrow`` or ``broad``: the kind an operator was registered with."""
    return str(OPERATORS.meta(name)["kind"])


def lineage_fields(
    *,
    id: str,
    parent: str,
    depth: int,
    trigger: str,
    budget: int,
    quota: int,
    birth_time: int,
    liability: float,
    trigger_task: str | None = None,
) -> dict[str, Any]:
    """The fields the regime sets on every child (with ``operator``, the name drawn); ``trigger_task``
    is the task whose round the trigger judged (the recursive regime's; None in the archive's)."""
    return {
        "id": id,
        "parent": parent,
        "depth": depth,
        "trigger": trigger,
        "trigger_task": trigger_task,
        "budget": budget,
        "quota": quota,
        "birth_time": birth_time,
        "liability": liability,
    }


def draw_operator(birth: Birth, weights: Mapping[str, float], fallback: str | None = None) -> str | None:
    """Draw the operator of a birth from ``birth.rng``, in proportion to ``weights``.

    The choices, in registration order: an operator that answers the trigger that fired, has weight
    and applies is drawn alone (with others like it); otherwise every operator with weight that
    applies, those that answer no trigger first. ``None`` when nothing applies, unless a
    ``fallback`` is given (drawn as the only choice, so the stream moves on as it always did).
    """
    live = [(n, OPERATORS.get(n)()) for n in OPERATORS.names() if weights.get(n, 0.0) > 0]

    def ok(op: Any) -> bool:
        applicable = getattr(op, "applicable", None)
        return True if applicable is None else bool(applicable(birth))

    choices = [(n, op) for n, op in live if getattr(op, "answers", None) == birth.trigger and ok(op)]
    if not choices:
        plain = [(n, op) for n, op in live if getattr(op, "answers", None) is None]
        answering = [(n, op) for n, op in live if getattr(op, "answers", None) is not None]
        choices = [(n, op) for n, op in plain + answering if ok(op)]
    pairs = [(n, weights[n]) for n, _ in choices]
    if not pairs:
        if fallback is None:
            return None
        pairs = [(fallback, 1.0)]
    names, w = zip(*pairs, strict=True)
    return str(names[weighted_choice(birth.rng, np.asarray(w) / sum(w))])


def weighted_choice(rng: np.random.Generator, p: np.ndarray) -> int:
    """``int(rng.choice(len(p), p=p))``, the same draw from the same stream, without its checks (a
    tenth of the cost): NumPy's own steps, one uniform against the normalised cumulative sum."""
    cdf = p.cumsum()
    cdf /= cdf[-1]
    return int(cdf.searchsorted(rng.random(), side="right"))


def apply_operator(name: str, birth: Birth) -> AgentSpec:
    """The child's spec: what operator ``name`` returns, with the lineage fields the regime sets."""
    out = OPERATORS.get(name)().apply(birth)
    if not isinstance(out, AgentSpec):
        raise TypeError(f"operator {name!r} returned {type(out).__name__}, not an AgentSpec")
    return replace(out, operator=name, **birth.lineage)


#: Built-in operators that never read a parent's best episodes (``Birth.best``): only ``add-tool`` does.
EPISODE_FREE = frozenset({"finetune", "retrain-on-drift", "mutate", "new-task", "change-objective"})


def reads_best_episodes(weights: Mapping[str, float]) -> bool:
    """Whether an operator that may be drawn (weight above 0) reads a parent's best episodes: a
    parent's are then kept for breeding (every plugin operator is taken to read them)."""
    return any(w > 0 and name not in EPISODE_FREE for name, w in weights.items())


# ---------------------------------------------------------------------- the built-in operators
@register_operator("finetune", kind="narrow")
class Finetune(Operator):
    """The child continues from the parent's parameters."""

    def apply(self, birth: Birth) -> AgentSpec:
        return birth.child


@register_operator("retrain-on-drift", kind="narrow")
class RetrainOnDrift(Operator):
    """Born when the parent's world drifted: the child re-initialises its estimates and retrains."""

    answers = "drift"

    def applicable(self, birth: Birth) -> bool:
        return birth.drifted

    def apply(self, birth: Birth) -> AgentSpec:
        return replace(birth.child, params=None)


@register_operator("mutate", kind="broad")
class Mutate(Operator):
    """Perturbs the hyper-parameters; may switch the architecture (``q`` and ``q-lambda``)."""

    def apply(self, birth: Birth) -> AgentSpec:
        child, cfg = birth.child, birth.cfg
        kind = birth.parent.agent_kind
        hyper = mutate_hyper(child.hyper, cfg.mutation.sigma, birth.rng, mutation_ranges(agent_class(kind)))
        if kind in _SWITCH and float(birth.rng.random()) < cfg.mutation.switch_probability:
            kind = _SWITCH[kind]
            hyper.setdefault("lambda", cfg.agent.lam)
        return replace(child, hyper=hyper, agent_kind=kind)


@register_operator("add-tool", kind="broad")
class AddTool(Operator):
    """Adds an option mined from the parent's best episodes (needs a sequence worth mining)."""

    def applicable(self, birth: Birth) -> bool:
        return bool(_tool_candidates(birth.parent, birth.best, birth.cfg))

    def apply(self, birth: Birth) -> AgentSpec:
        spec, agent, child = birth.parent, birth.agent, birth.child
        found = _tool_candidates(spec, birth.best, birth.cfg)
        task = sorted(found)[int(birth.rng.integers(len(found)))]
        # A copy of the parent learns the new option; the parent keeps its own action space.
        twin = agent_class(spec.agent_kind)(agent.shapes, agent.hyper, np.random.default_rng(0), child.params)
        twin.add_tool(task, found[task])
        tools = {**spec.tools, task: (*spec.tools.get(task, ()), found[task])}
        return replace(child, params=twin.get_params(), tools=tools)


@register_operator("new-task", kind="broad")
class NewTask(Operator):
    """Adds an environment of the suite the parent does not train on yet; the child's training starts
    with it (:func:`first_task`)."""

    def applicable(self, birth: Birth) -> bool:
        return bool(_new_tasks(birth.parent, birth.suite))

    def apply(self, birth: Birth) -> AgentSpec:
        choices = _new_tasks(birth.parent, birth.suite)
        task = choices[int(birth.rng.integers(len(choices)))]
        return replace(birth.child, tasks=(*birth.parent.tasks, task))


def drift_penalty_weight(weight: float, sigma: float, rng: np.random.Generator) -> float:
    """A log-normal change of a penalty weight: ``weight * exp(sigma * N(0, 1))``, one normal drawn;
    a weight of 0 drifts from 1 (a multiplicative change could never move it).

    Examples
    --------
    >>> w = drift_penalty_weight(2.0, 0.5, np.random.default_rng(0))
    >>> round(w, 6), drift_penalty_weight(0.0, 0.5, np.random.default_rng(0)) == w / 2
    (2.129766, True)
    """
    base = weight if weight > 0 else 1.0
    return float(base * math.exp(sigma * float(rng.standard_normal())))


def _objective_choices(objective: str) -> list[str]:
    return [o for o in OBJECTIVES.names() if o != objective]


def _rule_changes(birth: Birth) -> list[tuple[str, str, bool]]:
    """Every one-rule change of the child's constitution: ``(task, rule, True)`` drops a rule it
    trains under, ``(task, rule, False)`` takes a dropped one back; tasks in the child's order."""
    out = []
    for task in birth.child.tasks:
        dropped = birth.child.dropped_rules.get(task, ())
        for rule in birth.suite.training_rules(task):
            out.append((task, rule, rule not in dropped))
    return out


@register_operator("change-objective", kind="narrow", default_weight=0.0)
class ChangeObjective(Operator):
    """Goal drift: the child trains on another registered objective (drawn uniformly), with a
    log-normally changed penalty weight, or (``[goal_drift] rules``) without one more rule of its
    constitution or with a dropped one back (one of every such change, uniformly); ``[goal_drift]``
    weighs the kinds of change. Evaluation always uses the suite's whole constitution. Its default
    weight in ``[operators]`` is 0: a run uses it only when its config gives it a weight.

    One draw picks the kind of change (the kinds with weight, in the order objective, penalty weight,
    rules), then one more draw makes it. A dropped rule stays dropped in the child's descendants
    until one of them takes it back. The child keeps the parent's parameters (a narrow operator).
    """

    def applicable(self, birth: Birth) -> bool:
        g = birth.cfg.goal_drift
        return (
            g.penalty_weight > 0
            or (g.objective > 0 and bool(_objective_choices(birth.parent.objective)))
            or (g.rules > 0 and bool(_rule_changes(birth)))
        )

    def apply(self, birth: Birth) -> AgentSpec:
        from spawn.life.utility import penalty_weight

        g, child = birth.cfg.goal_drift, birth.child
        others = _objective_choices(birth.parent.objective)
        changes = _rule_changes(birth) if g.rules > 0 else []
        weighted = (
            ("objective", g.objective if others else 0.0),
            ("penalty_weight", g.penalty_weight),
            ("rules", g.rules if changes else 0.0),
        )
        names, w = zip(*[(k, x) for k, x in weighted if x > 0], strict=True)
        kind = names[int(birth.rng.choice(len(names), p=np.asarray(w) / sum(w)))]
        if kind == "objective":
            return replace(child, objective=others[int(birth.rng.integers(len(others)))])
        if kind == "rules":
            task, rule, _ = changes[int(birth.rng.integers(len(changes)))]
            now = set(child.dropped_rules.get(task, ())) ^ {rule}  # dropped, or taken back
            dropped = {**child.dropped_rules, task: tuple(r for r in birth.suite.training_rules(task) if r in now)}
            return replace(child, dropped_rules={t: v for t, v in dropped.items() if v})
        weight = drift_penalty_weight(penalty_weight(birth.parent, birth.cfg), g.penalty_sigma, birth.rng)
        return replace(child, penalty_weight=weight)
