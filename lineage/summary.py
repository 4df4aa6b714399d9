"""Phylogenetic summary of a lineage: size, depth, branching, tree balance, operators."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from lineage.arrays import clade_sum

if TYPE_CHECKING:
    from rich.table import Table

    from lineage.graph import LineageGraph

__all__ = ["MAX_SHOWN", "colless", "sackin", "summarize", "summary_table"]


def _leaf_mask(parent: np.ndarray) -> np.ndarray:
    n = len(parent)
    has_child = np.zeros(n, dtype=bool)
    has_child[parent[parent >= 0]] = True
    return ~has_child


def sackin(lineage: LineageGraph) -> int:
    """Sackin index: the sum of the depths of the leaves (roots at depth 0).

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0"); g.add_agent("0.0", parent="0"); g.add_agent("0.1", parent="0")
    >>> sackin(g)
    2
    """
    a = lineage.arrays
    return int(a.depth[_leaf_mask(a.parent)].sum())


def colless(lineage: LineageGraph) -> float:
    """Colless index, generalised to any number of children.

    For every internal agent, the sum over its children of ``|n_c - median(n)|``, where ``n_c`` is
    the number of leaves in child ``c``'s clade; summed over the lineage. For two children this is
    the classic ``|n_left - n_right|``; a single child adds 0.

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0"); g.add_agent("0.0", parent="0"); g.add_agent("0.1", parent="0")
    >>> g.add_agent("0.0.0", parent="0.0"); g.add_agent("0.0.1", parent="0.0")
    >>> colless(g)
    1.0
    """
    a = lineage.arrays
    parent, depth = a.parent, a.depth
    leaves = clade_sum(_leaf_mask(parent).astype(float), parent, depth)
    rows = np.flatnonzero(parent >= 0)
    if len(rows) == 0:
        return 0.0
    order = rows[np.argsort(parent[rows], kind="stable")]
    starts = np.flatnonzero(np.r_[True, np.diff(parent[order]) != 0])
    sizes = np.diff(np.r_[starts, len(order)])
    total = 0.0
    # A single child adds 0, and two add |a - b|: only wider families need a median, so a deep
    # chain costs one numpy pass instead of one median per agent.
    two = starts[sizes == 2]
    total += float(np.abs(leaves[order[two]] - leaves[order[two + 1]]).sum())
    for start, size in zip(starts[sizes > 2].tolist(), sizes[sizes > 2].tolist(), strict=True):
        n = leaves[order[start : start + size]]
        total += float(np.abs(n - np.median(n)).sum())
    return total


def summarize(lineage: LineageGraph) -> dict[str, Any]:
    """Size, depth distribution, branching, leaves, Sackin and Colless indices, operator counts.

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0"); g.add_agent("0.0", parent="0", operator="mutate")
    >>> s = summarize(g)
    >>> s["agents"], s["max_depth"], s["depth_distribution"], s["operators"]
    (2, 1, {0: 1, 1: 1}, {'mutate': 1})
    """
    a = lineage.arrays
    parent, depth = a.parent, a.depth
    n = len(lineage)
    counts = np.bincount(parent[parent >= 0], minlength=n) if n else np.zeros(0, dtype=np.int64)
    internal = counts[counts > 0]
    has_parent = (a.parent >= 0).tolist()
    ops = Counter(op or "unrecorded" for op, child in zip(lineage.operators(), has_parent, strict=True) if child)
    return {
        "agents": n,
        "roots": int((parent < 0).sum()),
        "leaves": int((counts == 0).sum()),
        "max_depth": int(depth.max()) if n else 0,
        "depth_distribution": {int(d): int(c) for d, c in enumerate(np.bincount(depth)) if c} if n else {},
        "branching_mean": float(internal.mean()) if len(internal) else 0.0,
        "branching_max": int(internal.max()) if len(internal) else 0,
        "sackin": sackin(lineage),
        "colless": colless(lineage),
        "operators": dict(sorted(ops.items())),
    }


#: Entries of "agents per depth" and operator rows shown at most; the rest are counted.
MAX_SHOWN = 24


def _depths(dist: dict[int, int]) -> str:
    items = [f"{d}:{c}" for d, c in dist.items()]
    if len(items) <= MAX_SHOWN:
        return " ".join(items)
    half = MAX_SHOWN // 2
    return " ".join([*items[:half], f"… ({len(items) - 2 * half} depths)", *items[-half:]])


def summary_table(lineage: LineageGraph, title: str = "Lineage summary") -> Table:
    """The summary as a two-column rich ``Table``.

    Operators are shown with control characters escaped (never read as markup); a lineage with
    more than :data:`MAX_SHOWN` depths or operators shows the first and last and counts the rest,
    so the table stays short however deep or varied the lineage is.
    """
    from rich.table import Table

    from lineage.text import plain

    s = summarize(lineage)
    table = Table(title=plain(title), show_header=True, header_style="bold")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("agents", "roots", "leaves", "max_depth"):
        table.add_row(key.replace("_", " "), str(s[key]))
    table.add_row("agents per depth", _depths(s["depth_distribution"]))
    table.add_row("branching (mean / max)", f"{s['branching_mean']:.2f} / {s['branching_max']}")
    table.add_row("Sackin index", str(s["sackin"]))
    table.add_row("Colless index", f"{s['colless']:g}")
    ops = list(s["operators"].items())
    for op, c in ops[:MAX_SHOWN]:
        table.add_row(plain(f"operator {op}"), str(c))
    if len(ops) > MAX_SHOWN:
        rest = ops[MAX_SHOWN:]
        table.add_row(f"… {len(rest)} more operators", str(sum(c for _, c in rest)))
    return table
