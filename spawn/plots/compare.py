"""Attribution rules side by side: the tree coloured by each rule's credit, and how the rules' rankings
agree (``--kind compare``).

Examples
--------
>>> from lineage import LineageGraph
>>> g = LineageGraph(); g.add_agent("0", value=0.2); g.add_agent("0.0", parent="0", value=0.7)
>>> plot_compare(g, ["self", "best-descendant"]).axes[0].get_title()
'self\\nfirst: 0.0'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lineage import LineageGraph
from spawn.errors import PlotError
from spawn.plots.common import best_agent, finish, grid, new_figure, norm, tex
from spawn.plots.tree import draw_tree

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DEFAULT_COMPARE_RULES", "plot_compare"]

#: Rules compared when none are given: own value, discounted descendants, HGM's CMP, best descendant.
DEFAULT_COMPARE_RULES = ("self", "discounted:gamma=0.7", "cmp", "best-descendant")


def _wrap(text: str, width: int = 30) -> str:
    if len(text) <= width:
        return text
    name, _, params = text.partition(":")
    return f"{name}:\n{params.replace(',', ', ')}" if params else text


def _draw_kendall(fig: Figure, heat: Axes, tau: np.ndarray, specs: Sequence[str]) -> None:
    """A heatmap of Kendall's tau between the rules' rankings, each cell with its number."""
    from matplotlib.colors import Normalize

    im = heat.imshow(tau, cmap="RdBu_r", norm=Normalize(-1.0, 1.0))
    short = [tex(_wrap(s, 18), lines=True) for s in specs]
    heat.set_xticks(range(len(specs)), short, rotation=35, ha="right", fontsize=9)
    heat.set_yticks(range(len(specs)), short, fontsize=9)
    for (i, j), t in np.ndenumerate(tau):
        heat.text(
            j,
            i,
            "–" if np.isnan(t) else f"{t:.2f}",
            ha="center",
            va="center",
            fontsize=10,
            color="white" if abs(t) > 0.6 else "black",
        )
    heat.set_title("rank correlation (Kendall tau)", fontsize=11)
    fig.colorbar(im, ax=heat, shrink=0.85, label="tau")


def plot_compare(
    lineage: LineageGraph,
    rules: Sequence[str] = DEFAULT_COMPARE_RULES,
    *,
    labels: int = 3,
    title: str | None = None,
    output: str | Path | None = None,
) -> Figure:
    """Rules side by side: the tree coloured by each rule's credit (own colour scale each), and a
    heatmap of Kendall's tau between the rules' rankings (from :func:`attribution.comparison.compare`).

    Parameters
    ----------
    lineage
        The lineage whose agents are credited.
    rules
        Rule specs, one panel each.
    labels
        Agents labelled per panel (the highest credit).
    title, output
        As in :func:`spawn.plots.plot_tree`.
    """
    from attribution.comparison import compare

    if not rules:
        raise PlotError("compare needs at least one rule")
    comparison = compare(lineage, list(rules))
    specs = list(comparison.table.columns)
    k = len(specs) + 1
    rows, cols = grid(k, 4 if k == 4 else 3)  # three rules and the heatmap fit in one row
    fig = new_figure(6.0 * cols, 5.0 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    best = best_agent(lineage)
    for ax, spec in zip(axes.flat, specs, strict=False):
        credit = comparison.table[spec].astype(float)
        sc = draw_tree(ax, lineage, credit, norm([credit]), labels=labels, highlight=best, what="credit")
        fig.colorbar(sc, ax=ax, shrink=0.85, label="credit")
        leader = comparison.leaders.loc[spec, "agent"]
        ax.set_title(tex(f"{_wrap(spec)}\nfirst: {leader}", lines=True), fontsize=11)
    _draw_kendall(fig, axes.flat[len(specs)], comparison.kendall.to_numpy(dtype=float), specs)
    for ax in list(axes.flat)[k:]:
        ax.set_visible(False)
    sub = f"{len(lineage)} agents" + (f"; red: best agent's lineage ({best})" if best is not None else "")
    fig.suptitle(tex(title or f"Attribution rules compared ({sub})"), fontsize=14)
    return finish(fig, output)
