"""Metrics over generations: per depth the mean with a band, and the best value so far (``--kind generations``).

Examples
--------
>>> from lineage import LineageGraph
>>> g = LineageGraph(); g.add_agent("0", value=0.2); g.add_agent("0.0", parent="0", value=0.7)
>>> [ax.get_title() for ax in plot_generations(g).axes if ax.get_visible()]
['value']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lineage import LineageGraph
from spawn.errors import PlotError
from spawn.plots.common import check_attribute, finish, grid, has_attribute, new_figure, tex

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["GENERATION_METRICS", "plot_generations"]

#: Metrics drawn over generations when present (the first always is).
GENERATION_METRICS = ("value", "distance", "cost", "hidden_performance")


def _per_depth(g: LineageGraph, metric: str) -> pd.DataFrame:
    """Per depth: mean, standard deviation, count, and the best value at that depth or above."""
    frame = pd.DataFrame({"depth": g.arrays.depth, "x": g.column(metric)}).dropna()
    out = frame.groupby("depth")["x"].agg(["mean", "std", "count", "max"])
    out["best_so_far"] = out["max"].cummax()
    return out


def _draw_arm(
    ax: Axes, metric: str, arm: str, gs: Sequence[LineageGraph], colour: str, band: float, single: bool
) -> None:
    """One arm's mean with a band of one standard deviation (agents pooled over seeds), its agents
    as faint dots when it is a single lineage, and for ``value`` its best so far (averaged over seeds)."""
    stats = [_per_depth(g, metric) for g in gs]
    pooled = pd.DataFrame(
        {
            "depth": np.concatenate([g.arrays.depth for g in gs]),
            "x": np.concatenate([g.column(metric) for g in gs]),
        }
    ).dropna()
    if pooled.empty:
        return
    agg = pooled.groupby("depth")["x"].agg(["mean", "std"]).fillna({"std": 0.0})
    d = agg.index.to_numpy()
    if single:
        jitter = (np.random.default_rng(0).random(len(pooled)) - 0.5) * 0.3  # fixed seed: same picture
        ax.scatter(pooled["depth"] + jitter, pooled["x"], s=9, color="0.55", alpha=0.45, lw=0, label="agents")
    ax.fill_between(d, agg["mean"] - agg["std"], agg["mean"] + agg["std"], color=colour, alpha=band, lw=0)
    legend = tex(f"{arm + ': ' if arm else ''}mean ± sd")
    ax.plot(d, agg["mean"], "-o", color=colour, ms=4, lw=1.8, label=legend)
    if metric == "value":
        best = pd.concat([s["best_so_far"] for s in stats], axis=1).ffill().mean(axis=1)
        ax.plot(
            best.index,
            best.to_numpy(),
            "--",
            color=colour,
            lw=1.6,
            label=tex(f"{arm + ': ' if arm else ''}best so far"),
        )


def plot_generations(
    lineage: LineageGraph | Mapping[str, Sequence[LineageGraph]],
    *,
    metrics: Sequence[str] | None = None,
    title: str | None = None,
    output: str | Path | None = None,
) -> Figure:
    """Metrics over generations: per depth the mean with a band of one standard deviation, and for
    ``value`` the best so far (the best agent at that depth or above, dashed).

    Parameters
    ----------
    lineage
        One lineage (its agents are also drawn as faint dots), or a mapping of arm name to its
        seeds' lineages (one line per arm: agents pooled over seeds for mean and spread, the best
        so far averaged over seeds).
    metrics
        Attributes to draw, one panel each; default ``value``, ``distance``, and ``cost`` and
        ``hidden_performance`` where present.
    title, output
        As in :func:`spawn.plots.plot_tree`.
    """
    arms = {"": [lineage]} if isinstance(lineage, LineageGraph) else {k: list(v) for k, v in lineage.items()}
    every = [g for gs in arms.values() for g in gs]
    if not every:
        raise PlotError("nothing to draw: no lineages given")
    if metrics is None:
        metrics = [m for m in GENERATION_METRICS if m == "value" or has_attribute(every, m)]
    for m in metrics:
        check_attribute(m, every)
    rows, cols = grid(len(metrics), 2)
    fig = new_figure(6.5 * cols, 4.4 * rows + 0.5)
    axes = fig.subplots(rows, cols, squeeze=False)
    single = isinstance(lineage, LineageGraph)
    band = 0.12 if len(arms) > 1 else 0.2  # overlapping bands of several arms need to stay see-through
    for ax, metric in zip(axes.flat, metrics, strict=False):
        for j, (arm, gs) in enumerate(arms.items()):
            _draw_arm(ax, metric, arm, gs, f"C{j % 10}", band, single)
        ax.set_title(tex(metric), fontsize=12)
        ax.set_xlabel("generation (depth)")
        ax.set_ylabel(tex(metric))
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    handles, names = axes.flat[0].get_legend_handles_labels()
    # One legend for all panels, below them: inside a panel it would hide the data.
    ncol = max(1, min(len(handles), max(len(arms), 3)))
    fig.legend(handles, names, loc="outside lower center", ncol=ncol, fontsize=10, frameon=False)
    fig.suptitle(tex(title or "Metrics over generations"), fontsize=14)
    return finish(fig, output)
