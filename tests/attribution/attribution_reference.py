"""Slow, obviously-correct attribution rules: one agent at a time, straight from the definitions."""

from __future__ import annotations

import itertools
import math
from typing import Any

from attribution import Rule
from lineage import LineageGraph

__all__ = ["reference_credit", "reference_game", "reference_liability", "reference_shapley"]

NAN = math.nan


def _num(g: LineageGraph, a: str, name: str) -> float | None:
    x = g.attributes(a).get(name)
    return None if x is None or isinstance(x, str) else float(x)


def _value(g: LineageGraph, a: str, rule: Rule, raw: float | None = None) -> float | None:
    v = _num(g, a, rule.value) if raw is None else raw
    if v is None:
        return None
    if rule.transform == "raw":
        return v
    if rule.transform == "lagrangian":
        c = _num(g, a, rule.cost)
        return None if c is None else v - rule.lam * c
    d = _num(g, a, rule.distance)
    if d is None:
        return None
    if rule.transform == "multiplicative":
        return v * 2.0**-d
    return (v + rule.w * 2.0**-d) / (1.0 + rule.w)


def reference_game(g: LineageGraph, values: dict[str, float | None], coalition: set[str]) -> float:
    """v(S): best value among members of S whose ancestors are all in S; 0 if none."""
    counted = [
        values[a]
        for a in coalition
        if all(x in coalition for x in g.ancestors(a)) and values[a] is not None
    ]
    return max(counted) if counted else 0.0  # type: ignore[type-var]


def reference_shapley(g: LineageGraph, values: dict[str, float | None]) -> dict[str, float]:
    """The Shapley formula summed over every coalition."""
    agents = list(g)
    n = len(agents)
    out: dict[str, float] = {}
    for i in agents:
        others = [a for a in agents if a != i]
        total = 0.0
        for k in range(n):
            for s in itertools.combinations(others, k):
                weight = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
                total += weight * (reference_game(g, values, {*s, i}) - reference_game(g, values, set(s)))
        out[i] = total
    return out


def reference_liability(g: LineageGraph, rule: Rule) -> dict[str, tuple[float, bool]]:
    """Per agent: ``liability`` times the sum over its clade of gamma**(depth difference) * penalty
    (gamma the rule's own if it has one, else 1; agents without a penalty left out), and whether
    any agent of the clade has a penalty at all."""
    gamma = float(getattr(rule, "gamma", 1.0))
    out: dict[str, tuple[float, bool]] = {}
    for a in g:
        total, covered = 0.0, False
        for x in g.clade(a):
            c = _num(g, x, rule.penalty)
            if c is None or math.isnan(c):
                continue
            covered = True
            total += gamma ** (g.depth(x) - g.depth(a)) * c
        out[a] = (rule.liability * total, covered)
    return out


def reference_credit(g: LineageGraph, rule: Rule) -> dict[str, float]:
    """Credit of every agent under ``rule``, computed per agent from the lineage's own queries,
    minus its liability: where the rule has no credit but the clade has a penalty, minus the
    liability alone."""
    base = _reference_base(g, rule)
    if rule.liability == 0:
        return base
    out: dict[str, float] = {}
    for a, (charge, covered) in reference_liability(g, rule).items():
        credit = base[a]
        out[a] = (0.0 if math.isnan(credit) and covered else credit) - charge
    return out


def _reference_base(g: LineageGraph, rule: Rule) -> dict[str, float]:
    vals = {a: _value(g, a, rule) for a in g}
    out: dict[str, float] = {}
    name: str = rule.name
    p: dict[str, Any] = {k: getattr(rule, k) for k in rule.parameters()}
    if name == "shapley":
        return reference_shapley(g, vals)
    for a in g:
        da = g.depth(a)
        clade = g.clade(a)
        known = [(g.depth(x) - da, vals[x]) for x in clade if vals[x] is not None]
        if name == "self":
            out[a] = NAN if vals[a] is None else vals[a]  # type: ignore[assignment]
        elif name in ("discounted", "discounted-mean", "clade-sum", "clade-mean"):
            gamma = p.get("gamma", 1.0)
            weights = [gamma**k for k, _ in known]
            total = sum(w * v for w, (_, v) in zip(weights, known, strict=True))
            if sum(weights) == 0:
                out[a] = NAN
            elif name in ("discounted", "clade-sum"):
                out[a] = total
            else:
                out[a] = total / sum(weights)
        elif name == "cmp":
            wins = tries = 0.0
            for x in clade:
                s, t = _num(g, x, rule.successes), _num(g, x, rule.trials)  # type: ignore[attr-defined]
                if s is None or t is None:
                    continue
                if rule.transform != "raw":
                    shifted = _value(g, x, rule, raw=s / t if t > 0 else NAN)
                    if shifted is None or math.isnan(shifted):
                        continue
                    s = t * shifted
                wins += s
                tries += t
            out[a] = wins / tries if tries > 0 else NAN
        elif name == "best-descendant":
            pool = [v for k, v in known if p["include_self"] or k > 0]
            out[a] = max(pool) if pool else NAN  # type: ignore[type-var]
        elif name == "nth-generation":
            pool = [v for k, v in known if k == p["n"]]
            out[a] = sum(pool) / len(pool) if pool else NAN  # type: ignore[arg-type]
        elif name == "marginal":
            par = g.parent(a)
            before = p["baseline"] if par is None else vals[par]
            out[a] = NAN if vals[a] is None or before is None else vals[a] - before  # type: ignore[operator]
        elif name == "ancestor-utility":
            out[a] = _reference_ancestor_utility(g, a, vals, p)
        else:  # pragma: no cover
            raise AssertionError(name)
    return out


def _reference_ancestor_utility(g: LineageGraph, a: str, vals: dict[str, float | None], p: dict[str, Any]) -> float:
    """Sum over the clade of ``a`` of ``gamma ** (depth difference)`` times ``a``'s own utility of the
    descendant: its value minus ``a``'s weights times the descendant's violations and episode cost."""
    wa = _num(g, a, p["weight_violations"]) or 0.0
    wb = _num(g, a, p["weight_cost"]) or 0.0
    total = weights = 0.0
    for x in g.clade(a):
        v = vals[x]
        if v is None:
            continue
        k = g.depth(x) - g.depth(a)
        u = v - wa * (_num(g, x, p["violations"]) or 0.0) - wb * (_num(g, x, p["episode_cost"]) or 0.0)
        total += p["gamma"] ** k * u
        weights += p["gamma"] ** k
    return total if weights > 0 else NAN
