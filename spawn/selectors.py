"""Parent selectors of the archive regime: uniform, greedy, DGM's, HGM's, and any attribution rule.

A selector looks at the archive (the agents that may become parents) and the whole lineage, and
picks ``n`` parents with replacement, drawing only from the generator it is given. It also returns
the score it picked by, for the per-batch report.

Formulas (``../shared/REFERENCES.md``):

- ``dgm``: p_i proportional to sigmoid(lambda (value_i - 0.5)) / (1 + children_i), the Darwin
  Gödel Machine's ``score_child_prop``: a node's own score, and having children is a penalty.
- ``hgm``: one Thompson draw per archived agent from Beta(tau (1 + S_C), tau (1 + F_C)), with S_C
  and F_C the successes and failures pooled over its whole clade (Huxley-Gödel Machine's
  clade-metaproductivity); the highest draw wins; one round of draws per pick.
- ``rule:<spec>``: softmax over an attribution rule's credit with a temperature.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lineage import LineageGraph, clade_sum

__all__ = ["Selection", "clade_counts", "select", "selection_probabilities"]


@dataclass(frozen=True)
class Selection:
    picks: tuple[str, ...]
    scores: dict[str, float]  # the score each archived agent was judged by


def _counts(lineage: LineageGraph, agent: str, eval_trials: int) -> tuple[float, float]:
    """An agent's own successes and failures; from its value when it has no success counts."""
    a = lineage.graph.nodes[agent]
    if a.get("trials"):
        return float(a.get("successes", 0)), float(a["trials"]) - float(a.get("successes", 0))
    value = float(a.get("value", 0.0))
    return value * eval_trials, (1.0 - value) * eval_trials


def clade_counts(lineage: LineageGraph, eval_trials: int) -> dict[str, tuple[float, float]]:
    """Successes and failures pooled over each agent's clade (one vectorised pass).

    Agents without success counts contribute their value times ``eval_trials`` as pseudo-counts.

    Examples
    --------
    >>> g = LineageGraph(); g.add_agent("0", successes=1, trials=4)
    >>> g.add_agent("0.0", parent="0", successes=3, trials=4)
    >>> clade_counts(g, 4)["0"]
    (4.0, 4.0)
    """
    succ = np.array([_counts(lineage, a, eval_trials)[0] for a in lineage])
    fail = np.array([_counts(lineage, a, eval_trials)[1] for a in lineage])
    arrays = lineage.arrays
    s = clade_sum(succ, arrays.parent, arrays.depth)
    f = clade_sum(fail, arrays.parent, arrays.depth)
    return {a: (float(s[i]), float(f[i])) for i, a in enumerate(lineage)}


def _value(lineage: LineageGraph, agent: str) -> float:
    v = lineage.graph.nodes[agent].get("value")
    return float(v) if v is not None else 0.0


def selection_probabilities(
    selector: str,
    archive: Sequence[str],
    lineage: LineageGraph,
    *,
    dgm_lambda: float = 10.0,
    temperature: float = 0.1,
) -> dict[str, float]:
    """Each archived agent's probability of being picked, for the selectors that have a closed form.

    ``hgm`` has none (it is the probability of winning a Thompson draw); use its frequencies.

    Examples
    --------
    >>> g = LineageGraph(); g.add_agent("0", value=0.5); g.add_agent("0.0", parent="0", value=0.5)
    >>> selection_probabilities("dgm", ["0", "0.0"], g)  # same score, but "0" has a child
    {'0': 0.333..., '0.0': 0.666...}
    """
    if selector == "uniform":
        return {a: 1.0 / len(archive) for a in archive}
    if selector == "greedy":
        best = min(archive, key=lambda a: (-_value(lineage, a), lineage.index(a)))
        return {a: float(a == best) for a in archive}
    if selector == "dgm":
        w = np.array(
            [
                1.0
                / (1.0 + math.exp(-dgm_lambda * (_value(lineage, a) - 0.5)))
                / (1 + len(lineage.children(a)))
                for a in archive
            ]
        )
        return dict(zip(archive, (w / w.sum()).tolist(), strict=True))
    if selector.startswith("rule:"):
        credit = _rule_credit(selector, archive, lineage)
        z = np.array([credit[a] for a in archive]) / temperature
        z = np.where(np.isfinite(z), z, -np.inf)
        if not np.isfinite(z).any():
            return {a: 1.0 / len(archive) for a in archive}
        p = np.exp(z - z.max())
        return dict(zip(archive, (p / p.sum()).tolist(), strict=True))
    raise ValueError(f"selector {selector!r} has no closed-form probabilities")


def _rule_credit(selector: str, archive: Sequence[str], lineage: LineageGraph) -> dict[str, float]:
    from attribution import parse_rule

    values = parse_rule(selector.removeprefix("rule:"))(lineage)
    return {a: float(values[a]) for a in archive}


def select(
    selector: str,
    archive: Sequence[str],
    lineage: LineageGraph,
    n: int,
    rng: np.random.Generator,
    *,
    dgm_lambda: float = 10.0,
    hgm_tau: float = 1.0,
    temperature: float = 0.1,
    eval_trials: int = 10,
) -> Selection:
    """Pick ``n`` parents from ``archive`` (with replacement), drawing only from ``rng``."""
    if not archive:
        raise ValueError("the archive is empty: nothing to select from")
    if selector == "hgm":
        counts = clade_counts(lineage, eval_trials)
        alpha = np.array([hgm_tau * (1 + counts[a][0]) for a in archive])
        beta = np.array([hgm_tau * (1 + counts[a][1]) for a in archive])
        picks = [archive[int(np.argmax(rng.beta(alpha, beta)))] for _ in range(n)]
        scores = {a: counts[a][0] / max(1e-12, counts[a][0] + counts[a][1]) for a in archive}
        return Selection(tuple(picks), scores)
    probs = selection_probabilities(
        selector, archive, lineage, dgm_lambda=dgm_lambda, temperature=temperature
    )
    p = np.array([probs[a] for a in archive])
    idx = rng.choice(len(archive), size=n, p=p / p.sum())
    if selector.startswith("rule:"):
        scores = _rule_credit(selector, archive, lineage)
    elif selector in ("greedy",):
        scores = {a: _value(lineage, a) for a in archive}
    else:
        scores = probs
    return Selection(tuple(archive[int(i)] for i in idx), scores)
