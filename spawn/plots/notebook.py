"""A run in a notebook: a summary table and a small interactive tree, as self-contained HTML
(:meth:`spawn.api.Run._repr_html_`).

The tree is inline SVG, no script and nothing fetched: each agent a dot coloured by its value (dark
purple low, yellow high, grey without one), a ``<title>`` tooltip giving its id, operator and value,
and the best agent's line of descent from the root drawn in red. It holds at most ``limit`` agents
(the best agent's line, then generation by generation each agent's six children whose clades hold
the best values) and says how many more there are, so that a run of 10^5 agents shows a page, not a megabyte.

Examples
--------
>>> from lineage import LineageGraph
>>> g = LineageGraph(); g.add_agent("0", value=0.2); g.add_agent("0.0", parent="0", operator="mutate", value=0.7)
>>> html = run_html(g, {"agents": 2, "best_agent": "0.0", "best_value": 0.7})
>>> html.count("<circle"), 'class="best"' in html
(2, True)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from html import escape
from typing import Any

from lineage import LineageGraph
from spawn.plots.common import best_agent

__all__ = ["MAX_CHILDREN", "TREE_LIMIT", "run_html", "tree_svg"]

#: Agents the tree shows at most, and of a larger run's, the children of one agent at most.
TREE_LIMIT = 300
MAX_CHILDREN = 6

#: Viridis at 0, 0.5 and 1: the colour of a value from the run's lowest to its highest.
_STOPS = ((0x44, 0x01, 0x54), (0x21, 0x91, 0x8C), (0xFD, 0xE7, 0x25))
BEST = "#d62728"


def _colour(t: float | None) -> str:
    if t is None:
        return "#bbbbbb"
    t = min(max(t, 0.0), 1.0) * 2
    i = min(int(t), 1)
    a, b = _STOPS[i], _STOPS[i + 1]
    f = t - i
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b, strict=True))


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if math.isfinite(v) else None


def _shown(g: LineageGraph, best: str | None, limit: int) -> list[str]:
    """Every agent of a lineage of at most ``limit``; of a larger one, ``limit`` agents: the best
    agent's line, then generation by generation from the roots, each agent's :data:`MAX_CHILDREN`
    children whose clades hold the best values (four times as many again, while that leaves room).
    Depth first (a parent before its children)."""
    if len(g) <= limit:
        return list(g.walk())
    line = [] if best is None else [*reversed(g.ancestors(best)), best]
    keep = set(line)
    clade = {a: (-math.inf if math.isnan(v) else v) for a, v in g.clade_max("value").items()}
    keep.update(g.roots())
    room = max(limit - len(keep), 0)
    cap = MAX_CHILDREN
    while room > 0:  # a shallow tree fills ``limit`` with more children an agent
        queue = deque(g.roots())
        while queue and room > 0:
            a = queue.popleft()
            for c in sorted(g.children(a), key=lambda c: (c not in keep, -clade[c]))[:cap]:
                queue.append(c)
                if c not in keep and room > 0:
                    keep.add(c)
                    room -= 1
        cap *= 4
    return [a for a in g.walk() if a in keep]


def tree_svg(g: LineageGraph, limit: int = TREE_LIMIT) -> tuple[str, int]:
    """The tree as an SVG element, and how many agents it leaves out."""
    best = best_agent(g)
    shown = _shown(g, best, limit)
    keep = set(shown)
    line = set() if best is None else {best, *g.ancestors(best)}
    kids = {a: [c for c in g.children(a) if c in keep] for a in shown}
    # leaves one column each, in depth-first order; a parent above the middle of its children
    x: dict[str, float] = {}
    col = 0
    for a in shown:
        if not kids[a]:
            x[a] = col
            col += 1
    for a in reversed(shown):  # children before parents
        if kids[a]:
            x[a] = (x[kids[a][0]] + x[kids[a][-1]]) / 2
    values = {a: _number(g.get(a, "value")) for a in shown}
    finite = [v for v in values.values() if v is not None]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = high - low or 1.0
    dx, dy, pad = 16, 36, 12
    depth = {a: g.depth(a) for a in shown}
    width = int(max(col, 1) * dx + 2 * pad)
    height = int((max(depth.values(), default=0) + 1) * dy + 2 * pad)

    def pos(a: str) -> tuple[float, float]:
        return pad + x[a] * dx + dx / 2, pad + depth[a] * dy + dy / 2

    edges, dots = [], []
    for a in shown:
        p = g.parent(a)
        if p is not None and p in keep:
            (x1, y1), (x2, y2) = pos(p), pos(a)
            on = a in line
            style = f'stroke="{BEST}" stroke-width="2.5"' if on else 'stroke="#999" stroke-width="1"'
            cls = ' class="best"' if on else ""
            edges.append(f'<line{cls} x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" {style}/>')
    for a in shown:
        cx, cy = pos(a)
        v = values[a]
        op = g.operator(a) or "root"
        tip = f"{a} · {op} · value {'-' if v is None else f'{v:.4g}'}"
        hidden = len(g.children(a)) - len(kids[a])
        if hidden:
            tip += f" · {hidden:,} more children not drawn"
        fill = _colour(None if v is None else (v - low) / span)
        on = a in line
        ring = f' stroke="{BEST}" stroke-width="2.5"' if on else ' stroke="#333" stroke-width="0.5"'
        cls = "best" if on else "agent"
        dots.append(
            f'<g class="{cls}" data-id="{escape(a)}"><title>{escape(tip)}</title>'
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{6 if a == best else 4.5}" fill="{fill}"{ring}/></g>'
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="lineage tree">'
        + "".join(edges)
        + "".join(dots)
        + "</svg>"
    )
    return svg, len(g) - len(shown)


def _cell(v: Any) -> str:
    x = _number(v)
    if x is not None and not isinstance(v, int):
        return f"{x:.4g}"
    return escape(f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v))


def run_html(
    g: LineageGraph,
    summary: Mapping[str, Any],
    *,
    title: str = "lineage-sim run",
    facts: Mapping[str, Any] | None = None,
    limit: int = TREE_LIMIT,
) -> str:
    """The summary table (``facts`` first, then what ``summary.json`` says) and the tree."""
    best = summary.get("best_agent") or best_agent(g)
    rows: dict[str, Any] = dict(facts or {})
    rows["agents"] = summary.get("agents", len(g))
    if best is not None:
        op = g.operator(best) if best in g else None
        rows["best agent"] = f"{best} ({op or 'root'})"
        rows["best value"] = summary.get("best_value", g.get(best, "value") if best in g else None)
    for key in ("root_value", "mean_value", "budget", "train_steps", "eval_steps"):
        if summary.get(key) is not None:
            rows[key.replace("_", " ")] = summary[key]
    phylo = summary.get("phylogeny")
    if isinstance(phylo, Mapping) and "max_depth" in phylo:
        rows["deepest generation"] = phylo["max_depth"]
    ops: dict[str, int] = {}
    for op in g.operators():
        if op is not None:
            ops[op] = ops.get(op, 0) + 1
    if ops:
        rows["operators"] = ", ".join(f"{k} {v:,}" for k, v in sorted(ops.items()))
    table = "".join(
        f'<tr><th style="text-align:left;padding-right:1em">{escape(k)}</th><td>{_cell(v)}</td></tr>'
        for k, v in rows.items()
    )
    svg, more = tree_svg(g, limit)
    note = (
        f"<p><small>{more:,} more agents not drawn: the best agent's line is, and each agent's "
        f"{MAX_CHILDREN} children whose clades hold the best values (a tooltip says how many it has more)."
        "</small></p>"
        if more
        else ""
    )
    legend = (
        "<p><small>Dots coloured by value (purple low, yellow high); hover for id, operator and value; "
        f'the best agent\'s line in <span style="color:{BEST}">red</span>.</small></p>'
    )
    return (
        f'<div class="lineage-sim-run"><strong>{escape(title)}</strong>'
        f"<table>{table}</table>{legend}"
        f'<div style="overflow:auto;max-height:480px;max-width:100%">{svg}</div>{note}</div>'
    )
