"""Hypothesis strategies for small random lineages, and ways to rebuild one in another order."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from lineage import LineageGraph

__all__ = ["build", "lineages", "reorder"]


def build(parents: list[int], attrs: list[dict[str, Any]], order: list[int] | None = None) -> LineageGraph:
    """A lineage from parent rows (``parents[i] < i``), with lineage-path ids, inserted in ``order``
    (any topological order; default: row order)."""
    ids: list[str] = []
    births: dict[int, int] = {}
    roots = 0
    for p in parents:
        if p < 0:
            ids.append(str(roots))
            roots += 1
        else:
            births[p] = births.get(p, -1) + 1
            ids.append(f"{ids[p]}.{births[p]}")
    g = LineageGraph()
    for i in order if order is not None else range(len(parents)):
        p = parents[i]
        g.add_agent(ids[i], parent=None if p < 0 else ids[p], **attrs[i])
    return g


def reorder(parents: list[int], seed: int) -> list[int]:
    """A random topological order of the rows (parents before children)."""
    rng = np.random.default_rng(seed)
    children: dict[int, list[int]] = {}
    for i, p in enumerate(parents):
        children.setdefault(p, []).append(i)
    ready = list(children.get(-1, []))
    out: list[int] = []
    while ready:
        k = int(rng.integers(len(ready)))
        i = ready.pop(k)
        out.append(i)
        ready.extend(children.get(i, []))
    return out


def _maybe(strategy: st.SearchStrategy[Any], missing: bool) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy) if missing else strategy


@st.composite
def lineages(
    draw: st.DrawFn, max_agents: int = 9, missing: bool = True, min_agents: int = 1
) -> tuple[list[int], list[dict[str, Any]]]:
    """Parent rows and attributes of a small random forest (mostly one root).

    ``violations`` (a whole number, a penalty for ``penalty=violations``) is on the first agent
    always, so that the attribute is on every lineage, and on the others unless ``missing``.
    """
    n = draw(st.integers(min_agents, max_agents))
    parents = [-1]
    for i in range(1, n):
        root = draw(st.integers(0, 9)) == 0
        parents.append(-1 if root else draw(st.integers(0, i - 1)))
    unit = st.floats(0.0, 1.0, allow_nan=False)
    attrs = []
    for i in range(n):
        trials = draw(st.integers(0, 6))
        a = {
            "value": draw(_maybe(unit, missing)),
            "distance": draw(_maybe(st.floats(0.0, 4.0, allow_nan=False), missing)),
            "cost": draw(_maybe(unit, missing)),
            "trials": trials,
            "successes": draw(st.integers(0, trials)),
            "violations": draw(_maybe(st.integers(0, 3), missing and i > 0)),
        }
        attrs.append(a)
    return parents, attrs
