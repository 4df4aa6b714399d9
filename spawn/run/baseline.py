"""Counterfactuals beside a run's lineage (``[baseline]``): the *solo* agent.

With ``[baseline] solo = true`` the run also trains the root alone: the same spec
(:func:`~spawn.life.spec.root_spec`, so the whole budget, the same seed and random streams) with
spawning off (``[spawn] max_children = 0``), evaluated on the run's evaluation episodes (a run-wide
stream, :data:`~spawn.life.evaluate.EVAL_STREAM`). Its life is a pure job of the config, so the
driver computes it again whenever it writes the outputs: it is never checkpointed and never part of
the lineage, and every runtime and every resume gives the same ``summary.json``.

``compare`` and a sweep's ``aggregate.csv`` report the lineage's *gain* over it: the root's credit
under a rule minus the same rule's credit of the solo agent, a lineage of one
(:func:`solo_credit`). For ``self``, ``discounted``, ``best-descendant`` and ``cmp`` that credit is
the solo agent's value; a transform (``self:transform=lagrangian``) or ``ancestor-utility`` charges
the solo agent as it charges the root, so the gain compares like with like. A rule that sums over a
clade (``discounted``) grows with the lineage's size: its gain says how many solo agents' worth the
lineage is, not how much better its best agent is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from attribution.base import Rule, as_rule
from lineage import LineageGraph
from spawn.config import SimConfig
from spawn.life.job import run_agent
from spawn.life.spec import AgentRecord, root_spec

__all__ = ["gain", "solo_attributes", "solo_config", "solo_credit", "solo_record"]


def solo_config(cfg: SimConfig) -> SimConfig:
    """``cfg`` with spawning off: the root trains its whole budget and makes no child."""
    return cfg.model_copy(update={"spawn": cfg.spawn.model_copy(update={"max_children": 0})})


def solo_record(cfg: SimConfig) -> AgentRecord:
    """The record of the root trained alone under ``cfg`` (see the module)."""
    solo = solo_config(cfg)
    return run_agent(root_spec(solo), solo).record


def solo_attributes(cfg: SimConfig) -> dict[str, Any]:
    """The solo agent's attributes as a lineage node holds them (missing metrics left out), no ids:
    what ``summary.json`` writes as ``"solo"``."""
    rec = solo_record(cfg)
    g = LineageGraph(seed=cfg.seed, budget=cfg.budget, regime=cfg.regime)
    g.add_agent(rec.id, **rec.attributes)
    return g.attributes(rec.id)


def solo_credit(rule: str | Rule, solo: Mapping[str, Any]) -> float:
    """The credit of the solo agent under ``rule``: the rule on the lineage of that one agent, whose
    attributes are ``solo`` (``summary.json``'s ``"solo"``); NaN where the rule gives none.

    Examples
    --------
    >>> solo = {"value": 0.6, "cost": 0.1, "scaled_violations": 0.2, "utility_violations": 0.5}
    >>> solo_credit("discounted", solo), solo_credit("self:transform=lagrangian", solo)
    (0.6, 0.5)
    >>> round(solo_credit("ancestor-utility", solo), 6)  # 0.6 - 0.5 x 0.2
    0.5
    """
    g = LineageGraph()
    g.add_agent("0", **{k: v for k, v in solo.items() if k not in ("id", "parent")})
    credit = float(as_rule(rule)(g).loc["0"])
    return credit if math.isfinite(credit) else math.nan


def gain(root_credit: float | None, solo_value: float | None) -> float:
    """The lineage's gain over the solo agent: ``root_credit - solo_value`` (NaN when either is missing);
    ``solo_value`` is the rule's credit of the solo agent (:func:`solo_credit`).

    Examples
    --------
    >>> gain(0.75, 0.5), math.isnan(gain(0.75, None))
    (0.25, True)
    """
    if root_credit is None or solo_value is None:
        return math.nan
    return float(root_credit) - float(solo_value)
