"""Self-improvement operators: each application makes a new agent (a new version) from its parent.

Narrow operators keep the architecture (``finetune``, ``retrain-on-drift``); broad ones change it
(``mutate``, ``add-tool``, ``new-task``). An operator returns the child's spec fields; the life loop
fills in id, budget share and birth time.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from spawn.agents import Agent, agent_class

if TYPE_CHECKING:
    from spawn.config import SimConfig
    from spawn.job import AgentSpec
    from spawn.suite import Suite

__all__ = ["applicable_operators", "apply_operator", "mine_tool", "mutate_hyper"]

Episodes = Iterable[tuple[float, tuple[int, ...]]]

#: Valid ranges of the hyper-parameters ``mutate`` perturbs.
_RANGES = {
    "alpha": (1e-4, 1.0),
    "epsilon": (0.0, 1.0),
    "temperature": (1e-3, 100.0),
    "lr": (1e-5, 10.0),
    "lambda": (0.0, 1.0),
}
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


def mutate_hyper(hyper: Mapping[str, float], sigma: float, rng: np.random.Generator) -> dict[str, float]:
    """Log-normal perturbation of each tunable hyper-parameter, clipped to its valid range.

    Examples
    --------
    >>> h = mutate_hyper({"alpha": 0.1, "gamma": 0.9}, 0.5, np.random.default_rng(0))
    >>> h["gamma"], 0 < h["alpha"] <= 1, h["alpha"] != 0.1
    (0.9, True, True)
    """
    out = dict(hyper)
    for key in sorted(_RANGES):
        if key in out:
            lo, hi = _RANGES[key]
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


def applicable_operators(
    fired: str,
    weights: Mapping[str, float],
    spec: AgentSpec,
    suite: Suite,
    best: Mapping[str, Any],
    cfg: SimConfig,
) -> list[tuple[str, float]]:
    """Operators that can apply now, with their weights.

    A drift alarm calls for ``retrain-on-drift`` when it has weight; that operator needs an alarm,
    so other triggers draw among the rest. ``add-tool`` needs a sequence worth mining and
    ``new-task`` an environment of the suite the agent does not train on yet.
    """
    if fired == "drift" and weights.get("retrain-on-drift", 0.0) > 0:
        return [("retrain-on-drift", weights["retrain-on-drift"])]
    out = []
    for name, w in weights.items():
        if w <= 0 or name == "retrain-on-drift":
            continue
        if name == "add-tool" and not _tool_candidates(spec, best, cfg):
            continue
        if name == "new-task" and not _new_tasks(spec, suite):
            continue
        out.append((name, w))
    return out


def apply_operator(
    op: str,
    spec: AgentSpec,
    agent: Agent,
    rng: np.random.Generator,
    cfg: SimConfig,
    suite: Suite,
    best: Mapping[str, Any],
) -> AgentSpec:
    """The child's spec (id, budget and birth time are the caller's to set)."""
    params = agent.get_params()
    hyper = dict(agent.hyper) | {"softmax": spec.hyper.get("softmax", 0.0)}
    child = replace(spec, params=params, hyper=hyper)
    if op == "finetune":
        return child
    if op == "retrain-on-drift":
        return replace(child, params=None)
    if op == "mutate":
        hyper = mutate_hyper(child.hyper, cfg.mutation.sigma, rng)
        kind = spec.agent_kind
        if kind in _SWITCH and float(rng.random()) < cfg.mutation.switch_probability:
            kind = _SWITCH[kind]
            hyper.setdefault("lambda", cfg.agent.lam)
        return replace(child, hyper=hyper, agent_kind=kind)
    if op == "add-tool":
        found = _tool_candidates(spec, best, cfg)
        task = sorted(found)[int(rng.integers(len(found)))]
        # A copy of the parent learns the new option; the parent keeps its own action space.
        twin = agent_class(spec.agent_kind)(agent.shapes, agent.hyper, np.random.default_rng(0), params)
        twin.add_tool(task, found[task])
        tools = {**spec.tools, task: (*spec.tools.get(task, ()), found[task])}
        return replace(child, params=twin.get_params(), tools=tools)
    if op == "new-task":
        choices = _new_tasks(spec, suite)
        task = choices[int(rng.integers(len(choices)))]
        return replace(child, tasks=(*spec.tasks, task))
    raise ValueError(f"unknown operator {op!r}")
