"""An agent's learning curve with its ancestors' before it, on world time (``--kind curves``).

The curve is ``curves.csv`` of a run: one row per agent and training round. An agent's world time at
the end of a round is its birth time plus its training steps so far, so an ancestor's curve, drawn
up to the birth of the next agent on the chain, leads into its descendant's.

Examples
--------
>>> import pandas as pd
>>> from lineage import LineageGraph
>>> g = LineageGraph(); g.add_agent("0", value=0.2, birth_time=0)
>>> g.add_agent("0.0", parent="0", value=0.7, birth_time=100)
>>> c = pd.DataFrame({"id": ["0", "0", "0.0"], "round": [1, 2, 1], "task": "t", "steps": [100, 200, 100],
...                   "return": [0.1, 0.2, 0.5], "cost": 0.0, "violations": 0.0, "lagrange": 0.0, "epsilon": 0.1})
>>> [ax.get_title() for ax in plot_curves(c, g).axes if ax.get_visible()]
['return', 'cost', 'violations', 'lagrange', 'epsilon']
>>> chain_curves(c, g, "0.0")[["id", "world_time"]].to_numpy().tolist()
[['0', 100], ['0.0', 200]]
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lineage import LineageGraph
from spawn.errors import PlotError, did_you_mean
from spawn.life.spec import CURVE_COLUMNS
from spawn.plots.common import best_agent, finish, grid, new_figure, tex

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CURVE_METRICS", "chain_curves", "check_agent", "plot_curves", "read_curves"]

#: The columns of ``curves.csv`` drawn, one panel each (``return`` always, the others when finite somewhere).
CURVE_METRICS = ("return", "cost", "violations", "lagrange", "epsilon")


def read_curves(path: str | Path) -> pd.DataFrame:
    """``curves.csv`` of a run (ids kept as text), within the ``data_bytes`` limit; a file that is not
    one (other columns, a run of a lineage-sim without curves) is refused with one line."""
    from lineage import read_text
    from spawn import limits

    p = Path(path)
    if not p.is_file():
        raise PlotError(f"{str(p)!r} does not exist: the run has no learning curves (a run of an older lineage-sim)")
    text = read_text(p, limit=limits.get("data_bytes"), what="curves.csv", hint=limits.hint("data_bytes"))
    try:
        frame = pd.read_csv(io.StringIO(text), dtype={"id": str, "task": str})
    except (ValueError, pd.errors.ParserError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PlotError(f"{p}: is not curves.csv ({reason})") from None
    if tuple(frame.columns) != CURVE_COLUMNS:
        raise PlotError(f"{p}: is not curves.csv (expected the columns {', '.join(CURVE_COLUMNS)})")
    return frame


def _chain(lineage: LineageGraph, agent: str) -> list[str]:
    """``agent``'s ancestors from the root, then ``agent``."""
    chain = [agent]
    while (parent := lineage.parent(chain[-1])) is not None:
        chain.append(parent)
    return chain[::-1]


def check_agent(lineage: LineageGraph, agent: str | None) -> str:
    """``agent``, or the best agent by value (the root when none has one) when ``None``; an id that is
    not in the lineage is refused with one line."""
    if agent is None:
        return best_agent(lineage) or lineage.ids[0]
    if agent in lineage:
        return agent
    ids = list(lineage.ids)
    shown = ", ".join(ids[:8]) + (", ..." if len(ids) > 8 else "")
    raise PlotError(f"unknown agent {agent!r}{did_you_mean(agent, ids)}; this run's {len(ids)} agents: {shown}")


def chain_curves(curves: pd.DataFrame, lineage: LineageGraph, agent: str) -> pd.DataFrame:
    """The rows of ``agent``'s chain (root first) with their ``world_time`` (birth time plus steps):
    each ancestor's rows up to the birth of the next agent on the chain, then all of ``agent``'s."""
    chain = _chain(lineage, agent)
    births = [int(lineage.attributes(a).get("birth_time", 0)) for a in chain]
    parts = []
    for i, a in enumerate(chain):
        rows = curves[curves["id"] == a].sort_values("round").copy()
        rows["world_time"] = births[i] + rows["steps"].astype(int)
        if i + 1 < len(chain):
            rows = rows[rows["world_time"] <= births[i + 1]]
        parts.append(rows)
    return pd.concat(parts, ignore_index=True)


#: Marker and line style of each task of a chain (the agents are told apart by colour).
_STYLES = (("o", "-"), ("s", "--"), ("^", "-."), ("D", ":"), ("v", "-"))


def plot_curves(
    curves: pd.DataFrame,
    lineage: LineageGraph,
    *,
    agent: str | None = None,
    title: str | None = None,
    output: str | Path | None = None,
) -> Figure:
    """``agent``'s learning curve (default: the best agent by value) with its ancestors' before it.

    One panel per metric of :data:`CURVE_METRICS` (``return`` always, the others when some row of
    the chain has a number), x the world time; each agent of the chain in its own colour, each task in
    its own marker and line style (a life's tasks alternate round by round), a dotted line at each birth.

    Raises
    ------
    PlotError
        An ``agent`` not in ``lineage``.
    """
    agent = check_agent(lineage, agent)
    chain = _chain(lineage, agent)
    rows = chain_curves(curves, lineage, agent)
    metrics = [
        m
        for m in CURVE_METRICS
        if m == "return" or np.isfinite(pd.to_numeric(rows[m], errors="coerce").to_numpy(dtype=float)).any()
    ]
    n_rows, cols = grid(len(metrics), 2)
    fig = new_figure(6.5 * cols, 3.6 * n_rows + 0.6)
    axes = fig.subplots(n_rows, cols, squeeze=False)
    tasks = list(dict.fromkeys(rows["task"]))  # in order of first appearance
    styles = {t: (_STYLES[k % len(_STYLES)]) for k, t in enumerate(tasks)}
    for ax, metric in zip(axes.flat, metrics, strict=False):
        for j, a in enumerate(chain):
            colour = f"C{j % 10}"
            if j > 0:
                ax.axvline(int(lineage.attributes(a).get("birth_time", 0)), color=colour, ls=":", lw=1)
            for task in tasks:  # a task's rounds form their own line: tasks alternate within a life
                part = rows[(rows["id"] == a) & (rows["task"] == task)]
                if part.empty:
                    continue
                y = pd.to_numeric(part[metric], errors="coerce").to_numpy(dtype=float)
                marker, ls = styles[task]
                label = tex(a) if len(tasks) == 1 else tex(f"{a} on {task}")
                ax.plot(part["world_time"], y, marker=marker, ls=ls, color=colour, ms=4, lw=1.5, label=label)
        ax.set_title(tex(metric), fontsize=12)
        ax.set_xlabel("world time (birth time + training steps)")
        ax.set_ylabel(tex(metric))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=max(1, min(len(handles), 6)), fontsize=10)
    fig.suptitle(tex(title or f"Learning curve of agent {agent} and its ancestors"), fontsize=14)
    return finish(fig, output)
