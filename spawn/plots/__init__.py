"""Pictures of runs, sweeps and selector studies: lineage trees, generations, rule comparisons, selection
curves, learning curves.

Every ``plot_*`` function takes data already loaded (a :class:`~lineage.LineageGraph`, a mapping of
arm name to lineages, or a frame of curves), returns the matplotlib ``Figure`` and, given
``output``, writes it as a PNG atomically. :func:`load_source` reads what ``lineage-sim plot RUN``
accepts (a run directory, a lineage file, a sweep or a selector-study directory) and
:func:`plot_path` draws any kind from it, as the command line does.

One module per kind: :mod:`~spawn.plots.tree`, :mod:`~spawn.plots.generations`,
:mod:`~spawn.plots.compare`, :mod:`~spawn.plots.selection` and :mod:`~spawn.plots.curves`; what
they share (saving a figure, reading a source, drawing helpers) is in :mod:`~spawn.plots.common`.

Examples
--------
>>> from lineage import LineageGraph
>>> g = LineageGraph(); g.add_agent("0", value=0.2); g.add_agent("0.0", parent="0", value=0.7)
>>> fig = plot_tree(g)
>>> [round(x) for x in fig.get_size_inches() * fig.dpi]
[1200, 700]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from lineage import LineageGraph
from spawn.errors import PlotError, did_you_mean
from spawn.plots.common import DPI, PlotSource, load_source, save_figure
from spawn.plots.compare import DEFAULT_COMPARE_RULES, plot_compare
from spawn.plots.curves import plot_curves, read_curves
from spawn.plots.generations import GENERATION_METRICS, plot_generations
from spawn.plots.selection import plot_selection, selection_curves
from spawn.plots.tree import plot_tree

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_COMPARE_RULES",
    "DPI",
    "GENERATION_METRICS",
    "KINDS",
    "PlotError",
    "PlotSource",
    "load_source",
    "plot_compare",
    "plot_curves",
    "plot_generations",
    "plot_path",
    "plot_selection",
    "plot_tree",
    "read_curves",
    "save_figure",
    "selection_curves",
]

#: What ``lineage-sim plot --kind`` draws.
KINDS = ("tree", "generations", "compare", "selection", "curves")


class _Options(NamedTuple):
    """What :func:`plot_path` was given besides the kind."""

    path: str | Path
    rules: Sequence[str]
    attributes: Sequence[str]
    labels: int | None
    output: str | Path | None
    agent: str | None = None


def _tree(src: PlotSource, o: _Options) -> Figure:
    if len(o.rules) > 1 or len(o.attributes) > 1 or (o.rules and o.attributes):
        raise PlotError("tree colours by one --rule or one --attribute; use --kind compare for several rules")
    panels = {arm: gs[0] for arm, gs in src.lineages().items()}
    if src.kind in ("sweep", "study"):
        panels = {f"{arm} (seed {src.arms[arm][0].name.removeprefix('seed-')})": g for arm, g in panels.items()}
        lineage: LineageGraph | dict[str, LineageGraph] = panels
    else:
        lineage = next(iter(panels.values()))
    what = f"credit: {o.rules[0]}" if o.rules else (o.attributes[0] if o.attributes else "value")
    return plot_tree(
        lineage,
        attribute=o.attributes[0] if o.attributes else "value",
        rule=o.rules[0] if o.rules else None,
        labels=5 if o.labels is None else o.labels,
        title=f"{src.path.name}: lineage coloured by {what}",
        output=o.output,
    )


def _generations(src: PlotSource, o: _Options) -> Figure:
    if o.rules:
        raise PlotError("generations takes --attribute (one panel each), not --rule")
    arms = src.lineages()
    many = src.kind in ("sweep", "study")
    data: LineageGraph | dict[str, list[LineageGraph]] = arms if many else next(iter(arms.values()))[0]
    seeds = max(len(v) for v in arms.values())
    extra = f" ({len(arms)} arms, {seeds} seed{'s' * (seeds != 1)} each)" if many else ""
    title = f"{src.path.name}: metrics over generations{extra}"
    return plot_generations(data, metrics=list(o.attributes) or None, title=title, output=o.output)


def _compare(src: PlotSource, o: _Options) -> Figure:
    if o.attributes:
        raise PlotError(
            "compare colours by rules' credit: give --rule (rules take value=ATTRIBUTE), not --attribute"
        )
    g = src.single()
    return plot_compare(
        g,
        list(o.rules) or DEFAULT_COMPARE_RULES,
        labels=3 if o.labels is None else o.labels,
        title=f"{src.path.name}: attribution rules compared ({len(g)} agents)",
        output=o.output,
    )


def _selection(src: PlotSource, o: _Options) -> Figure:
    if o.rules or o.attributes:
        raise PlotError("selection plots best value against budget; it takes no --rule or --attribute")
    curves = selection_curves(src)
    if curves.empty:
        raise PlotError(f"{str(o.path)!r}: no selection curves to draw")
    return plot_selection(curves, title=f"{src.path.name}: best value against steps spent per arm", output=o.output)


def _curves(src: PlotSource, o: _Options) -> Figure:
    if o.rules or o.attributes:
        raise PlotError("curves plots an agent's learning curve; it takes --agent, not --rule or --attribute")
    g = src.single()
    # A run directory holds curves.csv beside lineage.json; so does the folder of a lineage file.
    folder = src.path if src.kind == "run" else src.path.parent
    curves = read_curves(folder / "curves.csv")
    return plot_curves(
        curves, g, agent=o.agent, title=f"{src.path.name}: learning curve on world time", output=o.output
    )


_DRAW = {
    "tree": _tree,
    "generations": _generations,
    "compare": _compare,
    "selection": _selection,
    "curves": _curves,
}


def plot_path(
    path: str | Path,
    kind: str,
    *,
    rules: Sequence[str] = (),
    attributes: Sequence[str] = (),
    labels: int | None = None,
    output: str | Path | None = None,
    agent: str | None = None,
) -> Figure:
    """Draw ``kind`` (one of :data:`KINDS`) from whatever ``path`` holds, as ``lineage-sim plot`` does.

    ``tree`` takes at most one rule or one attribute; ``generations`` any attributes (its panels);
    ``compare`` any rules (default :data:`DEFAULT_COMPARE_RULES`); ``selection`` neither; ``curves``
    an ``agent`` (default: the best by value), whose learning curve it draws after its ancestors'.

    Raises
    ------
    PlotError
        A path that cannot make this kind, or options the kind does not take.
    """
    if kind not in KINDS:
        hint = did_you_mean(kind, KINDS)
        raise PlotError(f"unknown kind {kind!r}{hint}; choose from {', '.join(KINDS)}")
    if agent is not None and kind != "curves":
        raise PlotError(f"--agent is for --kind curves, not {kind}")
    return _DRAW[kind](load_source(path), _Options(path, rules, attributes, labels, output, agent))
