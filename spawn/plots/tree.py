"""The lineage tree, each agent coloured by an attribute or a rule's credit (``--kind tree``).

:func:`draw_tree` draws one panel; :mod:`spawn.plots.compare` uses it for every rule's panel.

Examples
--------
>>> from lineage import LineageGraph
>>> g = LineageGraph(); g.add_agent("0", value=0.2); g.add_agent("0.0", parent="0", value=0.7)
>>> plot_tree(g).axes[0].get_title()
'2 agents, depth 1'
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from lineage import LineageGraph, clade_max, clade_sum
from spawn.errors import PlotError
from spawn.plots.common import DPI, best_agent, check_attribute, finish, grid, new_figure, norm, tex

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

__all__ = ["MAX_DRAWN", "draw_tree", "plot_tree", "top_generations"]

_LABEL_FONT = 9
_HIGHLIGHT = "#d62728"
#: Agents drawn at most in one panel: the generations from the top that fit, each deeper clade one
#: marker (a picture of 10^6 dots is a grey band, and takes minutes).
MAX_DRAWN = 3000


def top_generations(lineage: LineageGraph, budget: int | None = None) -> tuple[LineageGraph, dict[str, int]]:
    """The lineage cut to the generations from the top that fit ``budget`` agents (default
    :data:`MAX_DRAWN`; at least the roots), and for each agent of the last generation drawn that
    has descendants, how many.

    The lineage itself when it fits.

    Examples
    --------
    >>> g = LineageGraph(); g.add_agent("0"); g.add_agent("0.0", parent="0"); g.add_agent("0.0.0", parent="0.0")
    >>> top, below = top_generations(g, budget=2)
    >>> top.ids, below
    (['0', '0.0'], {'0.0': 1})
    """
    budget = MAX_DRAWN if budget is None else budget
    depth = lineage.arrays.depth
    if len(lineage) <= budget:
        return lineage, {}
    cum = np.cumsum(np.bincount(depth))
    cut = max(0, int(np.searchsorted(cum, budget, side="right")) - 1)
    parent = lineage.arrays.parent
    ids = lineage.ids
    top = LineageGraph(**lineage.metadata)
    for i in np.flatnonzero(depth <= cut).tolist():  # insertion order: parents first
        p = int(parent[i])
        top.add_agent(ids[i], parent=None if p < 0 else ids[p], operator=lineage.operator(ids[i]))
    size = clade_sum(np.ones(len(lineage)), parent, depth)
    edge = np.flatnonzero((depth == cut) & (size > 1)).tolist()
    return top, {ids[i]: int(size[i]) - 1 for i in edge}


def _colour_values(lineage: LineageGraph, attribute: str, rule: str | None) -> tuple[pd.Series, str]:
    """Per-agent numbers to colour by, and what to call them."""
    if rule is not None:
        from attribution.base import parse_rule

        r = parse_rule(rule)
        return r(lineage).reindex(lineage.ids).astype(float), f"credit: {r.spec}"
    return pd.Series(lineage.column(attribute), index=lineage.ids, dtype=float), attribute


def _label_picks(
    pos: Mapping[str, tuple[float, float]], score: pd.Series, labels: int, px: tuple[float, float]
) -> list[str]:
    """The top ``labels`` agents by ``score``, skipping any whose marker would touch one already picked.

    ``px`` is pixels per unit of x (leaf slots) and of y (generations), so the test holds however
    many agents the tree has.
    """
    if labels <= 0:
        return []
    gap = 20.0  # pixels between marker centres: a marker is about 14 px across
    picked: list[str] = []
    for agent in score.dropna().sort_values(ascending=False, kind="stable").index:
        x, y = pos[agent]
        if all(math.hypot((x - pos[o][0]) * px[0], (y - pos[o][1]) * px[1]) >= gap for o in picked):
            picked.append(agent)
        if len(picked) == labels:
            break
    return picked


def _draw_edges(
    ax: Axes,
    lineage: LineageGraph,
    pos: Mapping[str, tuple[float, float]],
    highlight: str | None,
    best: str | None = None,
) -> tuple[list[Any], list[str]]:
    """Parent-child edges, and the highlighted agent's ancestry in red; the legend handles and that path."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    segments = [(pos[p], pos[a]) for a in pos if (p := lineage.parent(a)) is not None]
    ax.add_collection(LineCollection(segments, colors="0.75", linewidths=0.7, zorder=1))
    handles: list[Any] = []
    path: list[str] = []
    if highlight is not None:
        path = [*reversed(lineage.ancestors(highlight)), highlight]
        hl = [(pos[a], pos[b]) for a, b in itertools.pairwise(path)]
        ax.add_collection(LineCollection(hl, colors=_HIGHLIGHT, linewidths=2.4, zorder=2))
        name = highlight if best in (None, highlight) else f"{best} (below)"
        handles.append(Line2D([], [], color=_HIGHLIGHT, lw=2.4, label=tex(f"best value's lineage: {name}")))
    return handles, path


def _draw_nodes(
    ax: Axes, xy: npt.NDArray[np.float64], values: npt.NDArray[np.float64], scale: Normalize, cmap: str, what: str
) -> tuple[Any, list[Any], float]:
    """Agents as dots, grey where there is no number; the scatter, legend handles and marker size."""
    from matplotlib.lines import Line2D

    handles: list[Any] = []
    known = np.isfinite(values)
    size = float(np.clip(6000.0 / max(len(values), 1), 10.0, 140.0))
    if (~known).any():
        ax.scatter(xy[~known, 0], xy[~known, 1], s=size, c="0.88", edgecolors="0.5", linewidths=0.4, zorder=3)
        handles.append(Line2D([], [], marker="o", ls="", mfc="0.88", mec="0.5", label=tex(f"no {what}")))
    sc = ax.scatter(
        xy[known, 0],
        xy[known, 1],
        s=size,
        c=values[known],
        cmap=cmap,
        norm=scale,
        edgecolors="0.25",
        linewidths=0.4,
        zorder=4,
    )
    return sc, handles, size


def _frame(ax: Axes, xy: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Generations as y ticks, limits around the tree, no box; pixels per unit of x and of y."""
    depth = int(-xy[:, 1].min())
    step = max(1, math.ceil((depth + 1) / 12))
    ax.set_yticks([-d for d in range(0, depth + 1, step)], [str(d) for d in range(0, depth + 1, step)])
    width = float(xy[:, 0].max() - xy[:, 0].min())
    pad = max(0.6, 0.02 * width)
    ax.set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
    ax.set_ylim(-depth - 0.5, 0.5)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    box = ax.get_position()
    root = ax.get_figure(root=True)
    fig_w, fig_h = root.get_size_inches() * DPI if root is not None else (1200.0, 700.0)
    return 0.85 * box.width * fig_w / (width + 2 * pad), 0.85 * box.height * fig_h / (depth + 1.0)


def _draw_labels(ax: Axes, pos: Mapping[str, tuple[float, float]], picks: list[str], colour: pd.Series) -> list[Any]:
    """A numbered marker beside each picked agent; the legend handles naming them."""
    from matplotlib.lines import Line2D

    handles: list[Any] = []
    for rank, agent in enumerate(picks, start=1):
        x, y = pos[agent]
        ax.annotate(
            str(rank),
            (x, y),
            xytext=(7, 7),
            textcoords="offset points",
            ha="center",
            va="center",
            fontsize=_LABEL_FONT,
            fontweight="bold",
            bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": "0.3", "lw": 0.8},
            zorder=6,
        )
        handles.append(
            Line2D([], [], marker=f"${rank}$", ls="", color="black", ms=7, label=tex(f"{agent}: {colour[agent]:.3g}"))
        )
    return handles


def _draw_clades(
    ax: Axes,
    full: LineageGraph,
    pos: Mapping[str, tuple[float, float]],
    below: Mapping[str, int],
    colour: pd.Series,
    scale: Normalize,
    cmap: str,
    what: str,
) -> list[Any]:
    """Each deeper clade as a triangle under its top agent, sized by its agents, coloured by its best."""
    from matplotlib.lines import Line2D

    best = clade_max(colour.reindex(full.ids).to_numpy(dtype=float), full.arrays.parent, full.arrays.depth)
    tops = list(below)
    rows = [full.index(a) for a in tops]
    xy = np.array([pos[a] for a in tops])
    n = np.array([below[a] for a in tops], dtype=float)
    ax.scatter(
        xy[:, 0],
        xy[:, 1] - 0.45,
        s=np.clip(6.0 * np.log10(1.0 + n) ** 2, 4.0, 120.0),
        c=best[rows],
        cmap=cmap,
        norm=scale,
        marker="v",
        edgecolors="0.35",
        linewidths=0.3,
        zorder=3,
    )
    ax.text(
        1.0,
        1.0,
        tex(f"{len(pos):,} of {len(full):,} agents drawn") + "\n" + tex(f"{len(tops):,} deeper clades as ▼"),
        transform=ax.transAxes,
        fontsize=8,
        color="0.3",
        ha="right",
        va="top",
    )
    return [Line2D([], [], marker="v", ls="", mfc="0.6", mec="0.35", label=tex(f"deeper clade (size, best {what})"))]


def draw_tree(
    ax: Axes,
    lineage: LineageGraph,
    colour: pd.Series,
    scale: Normalize,
    *,
    labels: int,
    highlight: str | None,
    what: str,
    cmap: str = "viridis",
) -> Any:
    """Draw ``lineage`` on ``ax`` with nodes coloured by ``colour`` on the colour scale ``scale``;
    return the scatter for a colourbar.

    The labelled agents get a numbered marker beside their node and a line in a key below the
    panel (id and number): ids of deep agents are long, and a key never overlaps the tree. A
    lineage of more than :data:`MAX_DRAWN` agents is drawn down to the last generation that fits
    (:func:`top_generations`), each deeper clade one triangle, as the key says.
    """
    from attribution.plot import tree_layout

    full, best = lineage, highlight
    lineage, below = top_generations(full)
    if highlight is not None and highlight not in lineage:  # the best is deeper: ring its clade's top
        highlight = next(a for a in full.ancestors(highlight) if a in lineage)
    pos = tree_layout(lineage)
    ids = list(pos)
    xy = np.array([pos[a] for a in ids]) if ids else np.zeros((0, 2))
    handles, path = _draw_edges(ax, lineage, pos, highlight, best)
    values: npt.NDArray[np.float64] = colour.reindex(ids).to_numpy(dtype=float)
    sc, missing, size = _draw_nodes(ax, xy, values, scale, cmap, what)
    handles += missing
    if below:
        handles += _draw_clades(ax, full, pos, below, colour, scale, cmap, what)
    if path:
        ax.scatter(*pos[path[-1]], s=size * 2.5, facecolors="none", edgecolors=_HIGHLIGHT, linewidths=2.0, zorder=5)
    ax.set_xticks([])
    ax.set_ylabel("generation (depth)")
    if not ids:
        return sc
    px = _frame(ax, xy)
    shown = colour.reindex(ids)
    handles += _draw_labels(ax, pos, _label_picks(pos, shown, labels, px), shown)
    if handles:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.01),
            ncol=2 if len(handles) > 3 else 1,
            fontsize=9,
            frameon=False,
            title=tex(f"numbered: highest {what}") if len(handles) > (1 if path else 0) else None,
            title_fontsize=9,
        )
    return sc


def plot_tree(
    lineage: LineageGraph | Mapping[str, LineageGraph],
    *,
    attribute: str = "value",
    rule: str | None = None,
    labels: int = 5,
    title: str | None = None,
    output: str | Path | None = None,
) -> Figure:
    """The lineage tree, each agent coloured by an attribute or by a rule's credit, with a colourbar.

    The best agent's ancestry (by ``value``) is drawn as a thick red path and ringed; only the
    ``labels`` highest-coloured agents are labelled (id and number), skipping any too close to an
    earlier label, so trees of hundreds of agents stay readable.

    Parameters
    ----------
    lineage
        One lineage, or a mapping of panel name to lineage (one panel each, one colour scale).
    attribute
        Numeric attribute to colour by (``value``, ``distance``, ``cost``, ``Hiring-v0.value`` ...).
    rule
        A rule spec (``discounted:gamma=0.7``): colour by its credit instead of ``attribute``.
    labels
        How many agents to label per panel.
    title
        The figure's title (default: what the colour shows).
    output
        Where to write the PNG (atomically); ``None`` writes nothing.

    Raises
    ------
    PlotError
        An unknown attribute (with the closest name).
    attribution.AttributionError
        An unknown rule or bad rule parameter.
    """
    panels = {"": lineage} if isinstance(lineage, LineageGraph) else dict(lineage)
    if not panels:
        raise PlotError("nothing to draw: no lineages given")
    if rule is None:
        check_attribute(attribute, list(panels.values()))
    colours = {name: _colour_values(g, attribute, rule) for name, g in panels.items()}
    what = next(iter(colours.values()))[1]
    scale = norm([c for c, _ in colours.values()])
    rows, cols = grid(len(panels), 3)
    fig = new_figure(12.0, 7.0) if len(panels) == 1 else new_figure(min(6.0 * cols, 18.0), 5.0 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    sc = None
    for ax, (name, g) in zip(axes.flat, panels.items(), strict=False):
        sc = draw_tree(ax, g, colours[name][0], scale, labels=labels, highlight=best_agent(g), what=what)
        depth = int(g.arrays.depth.max()) if len(g) else 0
        head = f"{name}  ({len(g)} agents)" if name else f"{len(g)} agents, depth {depth}"
        ax.set_title(tex(head), fontsize=12)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    if sc is not None:
        fig.colorbar(sc, ax=axes.ravel().tolist(), shrink=0.8, label=tex(what))
    fig.suptitle(tex(title or f"Lineage coloured by {what}"), fontsize=14)
    return finish(fig, output)
