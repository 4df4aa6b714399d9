"""Pictures of runs, sweeps and selector studies: lineage trees, generations, rule comparisons, selection curves.

Every ``plot_*`` function takes data already loaded (a :class:`~lineage.LineageGraph`, a mapping of
arm name to lineages, or a frame of curves), returns the matplotlib ``Figure`` and, given
``output``, writes it as a PNG atomically. :func:`load_source` reads what ``lineage-sim plot RUN``
accepts (a run directory, a lineage file, a sweep or a selector-study directory) and
:func:`plot_path` draws any kind from it, as the command line does.

Examples
--------
>>> from lineage import LineageGraph
>>> g = LineageGraph(); g.add_agent("0", value=0.2); g.add_agent("0.0", parent="0", value=0.7)
>>> fig = plot_tree(g)
>>> [round(x) for x in fig.get_size_inches() * fig.dpi]
[1200, 700]
"""

from __future__ import annotations

import io
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from attribution.intervals import t_interval
from lineage import LineageGraph, atomic_write
from spawn.errors import PlotError, SpawnError, did_you_mean

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_COMPARE_RULES",
    "DPI",
    "KINDS",
    "PlotError",
    "PlotSource",
    "load_source",
    "plot_compare",
    "plot_generations",
    "plot_path",
    "plot_selection",
    "plot_tree",
    "save_figure",
    "selection_curves",
]

#: What ``lineage-sim plot --kind`` draws.
KINDS = ("tree", "generations", "compare", "selection")
#: Rules compared when none are given: own value, discounted descendants, HGM's CMP, best descendant.
DEFAULT_COMPARE_RULES = ("self", "discounted:gamma=0.7", "cmp", "best-descendant")
#: Metrics drawn over generations when present (the first always is).
GENERATION_METRICS = ("value", "distance", "cost", "hidden_performance")
#: Pixels per inch of every figure; sizes below are in inches.
DPI = 100

_LABEL_FONT = 9
_HIGHLIGHT = "#d62728"
_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"))


# --------------------------------------------------------------------------------------------- io


def save_figure(fig: Figure, path: str | Path, dpi: int = DPI) -> None:
    """Write ``fig`` as a PNG to ``path`` atomically (readers see the old file or the whole new one).

    The PNG carries no software or date metadata, so the same figure gives the same bytes.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    atomic_write(path, buf.getvalue())


def _tex(text: object, lines: bool = False) -> str:
    """Text for a figure: control characters escaped (a line break kept where ``lines``), and every
    ``$`` escaped, so that an agent id or a name is never read as mathtext (``$\\frac{$`` would fail)."""
    from lineage.text import printable

    parts = str(text).split("\n") if lines else [str(text)]
    return "\n".join(printable(p).replace("$", r"\$") for p in parts)


def _figure(width: float, height: float) -> Figure:
    # A bare Figure (no pyplot): nothing global is touched and nothing needs closing.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _finish(fig: Figure, output: str | Path | None) -> Figure:
    if output is not None:
        save_figure(fig, output)
    return fig


def _data_limit() -> dict[str, Any]:
    from spawn import limits

    return {"max_bytes": limits.get("data_bytes"), "hint": limits.hint("data_bytes")}


def _load_lineage(path: str | Path) -> LineageGraph:
    """A lineage file of a run, refused (one line) if not a regular file or over the ``data_bytes`` limit."""
    return LineageGraph.load(path, **_data_limit())


def _read_csv(path: str | Path, what: str) -> pd.DataFrame:
    """A CSV data file of a run (``batches.csv``, ``study.csv``), read within the ``data_bytes``
    limit; anything but a regular file is refused before reading."""
    from lineage import read_text

    lim = _data_limit()
    text = read_text(path, limit=lim["max_bytes"], what=what, hint=lim["hint"])
    try:
        return pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PlotError(f"{path}: is not {what} ({reason})") from None


@dataclass
class PlotSource:
    """What a path given to ``lineage-sim plot`` holds.

    ``kind`` is ``"run"`` (a run directory), ``"lineage"`` (a lineage file), ``"sweep"`` (a
    directory with ``sweep.json``) or ``"study"`` (a directory with ``study.csv``). ``arms`` maps
    each arm to its seed run directories (a run is its own single arm).
    """

    path: Path
    kind: str
    arms: dict[str, list[Path]] = field(default_factory=dict)

    def lineages(self) -> dict[str, list[LineageGraph]]:
        """Every arm's lineages, one per seed (a lineage file: itself, under its file name)."""
        if self.kind == "lineage":
            return {self.path.name: [_load_lineage(self.path)]}
        return {arm: [_load_lineage(run / "lineage.json") for run in runs] for arm, runs in self.arms.items()}

    def single(self) -> LineageGraph:
        """The one lineage of a run or lineage file; a sweep or study has several, so it is refused."""
        if self.kind in ("sweep", "study"):
            first = next(iter(self.arms.values()))[0]
            raise PlotError(
                f"{self.path} is a {self.kind} directory with {len(self.arms)} arms; this kind draws one "
                f"lineage: give one run directory such as {first}"
            )
        return next(iter(self.lineages().values()))[0]


def _seed_key(path: Path) -> tuple[int, str]:
    m = re.fullmatch(r"seed-(-?\d+)", path.name)
    return (int(m.group(1)) if m else 0, path.name)


def _seed_runs(arm_dir: Path, base: Path | None = None) -> list[Path]:
    """The finished seed runs in an arm's folder; one that leads outside ``base`` is refused."""
    from spawn.run.rundir import inside

    runs = []
    for q in arm_dir.glob("seed-*"):
        if base is not None:
            try:
                inside(base, str(q.relative_to(base)), "the run folder")
            except SpawnError as exc:
                raise PlotError(str(exc)) from None
        if (q / "lineage.json").is_file():
            runs.append(q)
    return sorted(runs, key=_seed_key)


def load_source(path: str | Path) -> PlotSource:
    """Recognise a run directory, a lineage file, a sweep directory or a selector-study directory.

    Raises
    ------
    PlotError
        When the path does not exist or holds none of these.
    """
    from lineage import LineageError, read_text
    from spawn.run.rundir import inside, run_kind

    p = Path(path)
    if not p.exists():
        raise PlotError(f"{str(path)!r} does not exist; give a run directory, a lineage file or a sweep directory")
    if p.is_file():
        return PlotSource(p, "lineage")
    # The directory's marker says what it is, so a stale sweep.json or study.csv left by another
    # kind of run decides nothing; a directory of an older version is recognised by its files.
    kind = run_kind(p)
    if kind == "sweep" and (p / "sweep.json").is_file():
        try:
            names = json.loads(read_text(p / "sweep.json", limit=2**24, what="a sweep description"))["arms"]
            if not isinstance(names, list) or not all(isinstance(a, str) for a in names):
                raise TypeError("arms is not a list of names")
        except LineageError as exc:
            raise PlotError(str(exc)) from None
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise PlotError(f"{p / 'sweep.json'} is not a sweep description ({str(exc)[:120]})") from None
        try:
            arm_dirs = {a: inside(p, a, "sweep.json names the arm") for a in names}
        except SpawnError as exc:
            raise PlotError(str(exc)) from None
        arms = {a: _seed_runs(d, p) for a, d in arm_dirs.items()}
        missing = [a for a, runs in arms.items() if not runs]
        if missing:
            raise PlotError(f"sweep {str(path)!r}: arm {missing[0]!r} has no finished run; finish it with 'resume'")
        return PlotSource(p, "sweep", arms)
    if kind == "study" and (p / "study.csv").is_file():
        arms = {}
        for d in sorted(p.iterdir()):
            if d.is_dir():
                try:
                    inside(p, d.name, "the study's arm")
                except SpawnError as exc:
                    raise PlotError(str(exc)) from None
                if runs := _seed_runs(d, p):
                    arms[d.name] = runs
        return PlotSource(p, "study", arms)
    if (p / "lineage.json").is_file():
        return PlotSource(p, "run", {p.name: [p]})
    raise PlotError(
        f"{str(path)!r} holds no lineage.json, sweep.json or study.csv; "
        "give a run directory, a lineage file or a sweep directory"
    )


# ------------------------------------------------------------------------------------------ names


def _attribute_names(lineages: Sequence[LineageGraph]) -> list[str]:
    names: set[str] = set()
    for g in lineages:
        names.update(g.arrays.names)
    return sorted(names)


def _check_attribute(name: str, lineages: Sequence[LineageGraph]) -> None:
    known = _attribute_names(lineages)
    if name in known:
        return
    hint = did_you_mean(name, known)
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    raise PlotError(f"unknown attribute {name!r}{hint}; numeric attributes of this lineage: {shown}")


def _has(lineages: Sequence[LineageGraph], name: str) -> bool:
    return any(name in g.arrays.names and np.isfinite(g.column(name)).any() for g in lineages)


# ------------------------------------------------------------------------------------------- tree


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


def _draw_tree(
    ax: Axes,
    lineage: LineageGraph,
    colour: pd.Series,
    norm: Normalize,
    *,
    labels: int,
    highlight: str | None,
    what: str,
    cmap: str = "viridis",
) -> Any:
    """Draw ``lineage`` on ``ax`` with nodes coloured by ``colour``; return the scatter for a colourbar.

    The labelled agents get a numbered marker beside their node and a line in a key below the
    panel (id and number): ids of deep agents are long, and a key never overlaps the tree.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    from attribution.plot import tree_layout

    pos = tree_layout(lineage)
    ids = list(pos)
    xy = np.array([pos[a] for a in ids]) if ids else np.zeros((0, 2))
    segments = [(pos[p], pos[a]) for a in ids if (p := lineage.parent(a)) is not None]
    ax.add_collection(LineCollection(segments, colors="0.75", linewidths=0.7, zorder=1))
    handles: list[Any] = []
    path: list[str] = []
    if highlight is not None:
        path = [*reversed(lineage.ancestors(highlight)), highlight]
        hl = [(pos[a], pos[b]) for a, b in itertools.pairwise(path)]
        ax.add_collection(LineCollection(hl, colors=_HIGHLIGHT, linewidths=2.4, zorder=2))
        handles.append(Line2D([], [], color=_HIGHLIGHT, lw=2.4, label=_tex(f"best value's lineage: {highlight}")))
    values: npt.NDArray[np.float64] = colour.reindex(ids).to_numpy(dtype=float)
    known = np.isfinite(values)
    size = float(np.clip(6000.0 / max(len(ids), 1), 10.0, 140.0))
    if (~known).any():
        ax.scatter(xy[~known, 0], xy[~known, 1], s=size, c="0.88", edgecolors="0.5", linewidths=0.4, zorder=3)
        handles.append(Line2D([], [], marker="o", ls="", mfc="0.88", mec="0.5", label=_tex(f"no {what}")))
    sc = ax.scatter(
        xy[known, 0],
        xy[known, 1],
        s=size,
        c=values[known],
        cmap=cmap,
        norm=norm,
        edgecolors="0.25",
        linewidths=0.4,
        zorder=4,
    )
    if path:
        ax.scatter(*pos[path[-1]], s=size * 2.5, facecolors="none", edgecolors=_HIGHLIGHT, linewidths=2.0, zorder=5)
    ax.set_xticks([])
    ax.set_ylabel("generation (depth)")
    if not ids:
        return sc
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
    px = (0.85 * box.width * fig_w / (width + 2 * pad), 0.85 * box.height * fig_h / (depth + 1.0))
    for rank, agent in enumerate(_label_picks(pos, colour, labels, px), start=1):
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
            Line2D([], [], marker=f"${rank}$", ls="", color="black", ms=7, label=_tex(f"{agent}: {colour[agent]:.3g}"))
        )
    if handles:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.01),
            ncol=2 if len(handles) > 3 else 1,
            fontsize=9,
            frameon=False,
            title=_tex(f"numbered: highest {what}") if len(handles) > (1 if path else 0) else None,
            title_fontsize=9,
        )
    return sc


def _norm(series: Sequence[pd.Series]) -> Normalize:
    from matplotlib.colors import Normalize

    values = np.concatenate([s.to_numpy(dtype=float) for s in series]) if series else np.array([])
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return Normalize(0.0, 1.0)
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return Normalize(lo, hi)


def _best_agent(lineage: LineageGraph, value: str = "value") -> str | None:
    if len(lineage) == 0 or value not in lineage.arrays.names:
        return None
    v = lineage.column(value)
    if not np.isfinite(v).any():
        return None
    return lineage.ids[int(np.nanargmax(v))]  # first in insertion order among ties


def _grid(k: int, cols: int) -> tuple[int, int]:
    c = max(1, min(k, cols))
    return math.ceil(k / c), c


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
        _check_attribute(attribute, list(panels.values()))
    colours = {name: _colour_values(g, attribute, rule) for name, g in panels.items()}
    what = next(iter(colours.values()))[1]
    norm = _norm([c for c, _ in colours.values()])
    rows, cols = _grid(len(panels), 3)
    fig = _figure(12.0, 7.0) if len(panels) == 1 else _figure(min(6.0 * cols, 18.0), 5.0 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    sc = None
    for ax, (name, g) in zip(axes.flat, panels.items(), strict=False):
        best = _best_agent(g)
        sc = _draw_tree(ax, g, colours[name][0], norm, labels=labels, highlight=best, what=what)
        head = f"{name}  ({len(g)} agents)" if name else f"{len(g)} agents, depth {_max_depth(g)}"
        ax.set_title(_tex(head), fontsize=12)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    if sc is not None:
        fig.colorbar(sc, ax=axes.ravel().tolist(), shrink=0.8, label=_tex(what))
    fig.suptitle(_tex(title or f"Lineage coloured by {what}"), fontsize=14)
    return _finish(fig, output)


def _max_depth(g: LineageGraph) -> int:
    return int(g.arrays.depth.max()) if len(g) else 0


# ------------------------------------------------------------------------------------ generations


def _per_depth(g: LineageGraph, metric: str) -> pd.DataFrame:
    """Per depth: mean, standard deviation, count, and the best value at that depth or above."""
    frame = pd.DataFrame({"depth": g.arrays.depth, "x": g.column(metric)}).dropna()
    out = frame.groupby("depth")["x"].agg(["mean", "std", "count", "max"])
    out["best_so_far"] = out["max"].cummax()
    return out


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
        As in :func:`plot_tree`.
    """
    arms = {"": [lineage]} if isinstance(lineage, LineageGraph) else {k: list(v) for k, v in lineage.items()}
    every = [g for gs in arms.values() for g in gs]
    if not every:
        raise PlotError("nothing to draw: no lineages given")
    if metrics is None:
        metrics = [m for m in GENERATION_METRICS if m == "value" or _has(every, m)]
    for m in metrics:
        _check_attribute(m, every)
    rows, cols = _grid(len(metrics), 2)
    fig = _figure(6.5 * cols, 4.4 * rows + 0.5)
    axes = fig.subplots(rows, cols, squeeze=False)
    single = isinstance(lineage, LineageGraph)
    first = axes.flat[0]
    band = 0.12 if len(arms) > 1 else 0.2  # overlapping bands of several arms need to stay see-through
    for ax, metric in zip(axes.flat, metrics, strict=False):
        for j, (arm, gs) in enumerate(arms.items()):
            colour = f"C{j % 10}"
            stats = [_per_depth(g, metric) for g in gs]
            pooled = pd.DataFrame(
                {
                    "depth": np.concatenate([g.arrays.depth for g in gs]),
                    "x": np.concatenate([g.column(metric) for g in gs]),
                }
            ).dropna()
            if pooled.empty:
                continue
            agg = pooled.groupby("depth")["x"].agg(["mean", "std"]).fillna({"std": 0.0})
            d = agg.index.to_numpy()
            if single:
                jitter = (np.random.default_rng(0).random(len(pooled)) - 0.5) * 0.3  # fixed seed: same picture
                ax.scatter(pooled["depth"] + jitter, pooled["x"], s=9, color="0.55", alpha=0.45, lw=0, label="agents")
            ax.fill_between(d, agg["mean"] - agg["std"], agg["mean"] + agg["std"], color=colour, alpha=band, lw=0)
            legend = _tex(f"{arm + ': ' if arm else ''}mean ± sd")
            ax.plot(d, agg["mean"], "-o", color=colour, ms=4, lw=1.8, label=legend)
            if metric == "value":
                best = pd.concat([s["best_so_far"] for s in stats], axis=1).ffill().mean(axis=1)
                ax.plot(
                    best.index,
                    best.to_numpy(),
                    "--",
                    color=colour,
                    lw=1.6,
                    label=_tex(f"{arm + ': ' if arm else ''}best so far"),
                )
        ax.set_title(_tex(metric), fontsize=12)
        ax.set_xlabel("generation (depth)")
        ax.set_ylabel(_tex(metric))
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    handles, names = first.get_legend_handles_labels()
    # One legend for all panels, below them: inside a panel it would hide the data.
    ncol = max(1, min(len(handles), max(len(arms), 3)))
    fig.legend(handles, names, loc="outside lower center", ncol=ncol, fontsize=10, frameon=False)
    fig.suptitle(_tex(title or "Metrics over generations"), fontsize=14)
    return _finish(fig, output)


# ---------------------------------------------------------------------------------------- compare


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
        As in :func:`plot_tree`.
    """
    from matplotlib.colors import Normalize

    from attribution.comparison import compare

    if not rules:
        raise PlotError("compare needs at least one rule")
    comparison = compare(lineage, list(rules))
    specs = list(comparison.table.columns)
    k = len(specs) + 1
    rows, cols = _grid(k, 4 if k == 4 else 3)  # three rules and the heatmap fit in one row
    fig = _figure(6.0 * cols, 5.0 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    best = _best_agent(lineage)
    for ax, spec in zip(axes.flat, specs, strict=False):
        credit = comparison.table[spec].astype(float)
        sc = _draw_tree(ax, lineage, credit, _norm([credit]), labels=labels, highlight=best, what="credit")
        fig.colorbar(sc, ax=ax, shrink=0.85, label="credit")
        leader = comparison.leaders.loc[spec, "agent"]
        ax.set_title(_tex(f"{_wrap(spec)}\nfirst: {leader}", lines=True), fontsize=11)
    heat = axes.flat[len(specs)]
    tau = comparison.kendall.to_numpy(dtype=float)
    im = heat.imshow(tau, cmap="RdBu_r", norm=Normalize(-1.0, 1.0))
    short = [_tex(_wrap(s, 18), lines=True) for s in specs]
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
    for ax in list(axes.flat)[k:]:
        ax.set_visible(False)
    sub = f"{len(lineage)} agents" + (f"; red: best agent's lineage ({best})" if best is not None else "")
    fig.suptitle(_tex(title or f"Attribution rules compared ({sub})"), fontsize=14)
    return _finish(fig, output)


def _wrap(text: str, width: int = 30) -> str:
    if len(text) <= width:
        return text
    name, _, params = text.partition(":")
    return f"{name}:\n{params.replace(',', ', ')}" if params else text


# -------------------------------------------------------------------------------------- selection


def _run_curve(run: Path) -> pd.Series:
    """Best value so far against budget spent in one archive run (the root first)."""
    batches = _read_csv(run / "batches.csv", "an archive run's batches.csv")
    g = _load_lineage(run / "lineage.json")
    root = g.attributes(g.roots()[0])
    points = {int(root.get("train_steps", 0)): float(root.get("value", math.nan))}
    for spent, best in zip(batches["spent"], batches["best_value"], strict=True):
        points[int(spent)] = float(best)
    return pd.Series(points).sort_index().cummax()


def _arm_label(arm: str) -> str:
    return arm.removeprefix("selector=") if arm.count("=") == 1 else arm


def selection_curves(source: PlotSource | str | Path) -> pd.DataFrame:
    """Best value against budget spent per selector: ``selector, spent, mean, lo, hi, n``.

    A study directory's ``study.csv`` is read as it is; for a sweep directory (one curve per arm)
    or a single archive run each run's ``batches.csv`` gives a step curve, and runs of an arm are
    averaged on the union of their budget points with a 95% t-interval over seeds.

    Raises
    ------
    PlotError
        When the runs are not archive runs (no ``batches.csv``).
    """
    src = source if isinstance(source, PlotSource) else load_source(source)
    if src.kind == "study":
        return _read_csv(src.path / "study.csv", "a selector study's study.csv")
    if src.kind == "lineage":
        raise PlotError(
            f"selection needs an archive run's batches.csv, and {str(src.path)!r} is a lineage file; "
            "give the archive run directory or a sweep of selectors"
        )
    rows = []
    for arm, runs in src.arms.items():
        missing = [r for r in runs if not (r / "batches.csv").is_file()]
        if missing:
            raise PlotError(
                f'selection needs archive runs (regime = "archive", which write batches.csv); '
                f"{str(missing[0])!r} is a recursive run"
            )
        curves = pd.concat([_run_curve(r) for r in runs], axis=1).sort_index().ffill()
        for spent, row in curves.iterrows():
            mean, lo, hi = t_interval(row.to_numpy(dtype=float))
            n = int(np.isfinite(row.to_numpy(dtype=float)).sum())
            rows.append({"selector": _arm_label(arm), "spent": int(spent), "mean": mean, "lo": lo, "hi": hi, "n": n})
    return pd.DataFrame(rows, columns=["selector", "spent", "mean", "lo", "hi", "n"])


def plot_selection(
    curves: pd.DataFrame,
    *,
    title: str | None = None,
    output: str | Path | None = None,
) -> Figure:
    """Best value found against budget spent, one step line per selector with its band over seeds.

    Parameters
    ----------
    curves
        Columns ``selector, spent, mean, lo, hi, n`` (as :func:`selection_curves` or a study's
        ``study.csv`` give); the band is ``lo``..``hi`` and is drawn where ``n > 1``.
    title, output
        As in :func:`plot_tree`.
    """
    from matplotlib.lines import Line2D

    fig = _figure(10.0, 6.0)
    ax = fig.subplots()
    seeds = set()
    handles: list[Any] = []
    for j, (selector, c) in enumerate(curves.groupby("selector", sort=False)):
        c = c.sort_values("spent")
        colour = f"C{j % 10}"
        n = int(c["n"].max()) if len(c) else 0
        seeds.add(n)
        # Line style and marker vary with colour so that selectors with equal curves stay distinguishable.
        style = _STYLES[j % len(_STYLES)]
        ax.step(c["spent"], c["mean"], where="post", color=colour, lw=2.0, ls=style[0], zorder=3)
        ax.plot(c["spent"], c["mean"], style[0], marker=style[1], color=colour, lw=0, ms=6, zorder=3)
        if n > 1:
            ax.fill_between(c["spent"], c["lo"], c["hi"], step="post", color=colour, alpha=0.12, lw=0)
            ax.step(c["spent"], c["lo"], where="post", color=colour, lw=0.6, alpha=0.6)
            ax.step(c["spent"], c["hi"], where="post", color=colour, lw=0.6, alpha=0.6)
        label = f"{selector} ({n} seed{'s' * (n != 1)})"
        handles.append(Line2D([], [], color=colour, ls=style[0], marker=style[1], lw=2.0, label=_tex(label)))
    ax.set_xlabel("budget spent (training steps)")
    ax.set_ylabel("best value so far")
    ax.grid(alpha=0.3)
    band = "band: 95% t-interval over seeds" if max(seeds, default=0) > 1 else "one seed: no band"
    ax.legend(handles=handles, title=f"selector ({band})", fontsize=10, title_fontsize=10, loc="best")
    fig.suptitle(_tex(title or "Best value found against budget"), fontsize=14)
    return _finish(fig, output)


# ------------------------------------------------------------------------------------------ paths


def plot_path(
    path: str | Path,
    kind: str,
    *,
    rules: Sequence[str] = (),
    attributes: Sequence[str] = (),
    labels: int | None = None,
    output: str | Path | None = None,
) -> Figure:
    """Draw ``kind`` (one of :data:`KINDS`) from whatever ``path`` holds, as ``lineage-sim plot`` does.

    ``tree`` takes at most one rule or one attribute; ``generations`` any attributes (its panels);
    ``compare`` any rules (default :data:`DEFAULT_COMPARE_RULES`); ``selection`` neither.

    Raises
    ------
    PlotError
        A path that cannot make this kind, or options the kind does not take.
    """
    if kind not in KINDS:
        hint = did_you_mean(kind, KINDS)
        raise PlotError(f"unknown kind {kind!r}{hint}; choose from {', '.join(KINDS)}")
    src = load_source(path)
    name = src.path.name
    if kind == "tree":
        if len(rules) > 1 or len(attributes) > 1 or (rules and attributes):
            raise PlotError("tree colours by one --rule or one --attribute; use --kind compare for several rules")
        panels = {arm: gs[0] for arm, gs in src.lineages().items()}
        if src.kind in ("sweep", "study"):
            panels = {f"{arm} (seed {src.arms[arm][0].name.removeprefix('seed-')})": g for arm, g in panels.items()}
            lineage: LineageGraph | dict[str, LineageGraph] = panels
        else:
            lineage = next(iter(panels.values()))
        what = f"credit: {rules[0]}" if rules else (attributes[0] if attributes else "value")
        return plot_tree(
            lineage,
            attribute=attributes[0] if attributes else "value",
            rule=rules[0] if rules else None,
            labels=5 if labels is None else labels,
            title=f"{name}: lineage coloured by {what}",
            output=output,
        )
    if kind == "generations":
        if rules:
            raise PlotError("generations takes --attribute (one panel each), not --rule")
        arms = src.lineages()
        data: LineageGraph | dict[str, list[LineageGraph]] = (
            arms if src.kind in ("sweep", "study") else next(iter(arms.values()))[0]
        )
        seeds = max(len(v) for v in arms.values())
        extra = f" ({len(arms)} arms, {seeds} seed{'s' * (seeds != 1)} each)" if src.kind in ("sweep", "study") else ""
        return plot_generations(
            data, metrics=list(attributes) or None, title=f"{name}: metrics over generations{extra}", output=output
        )
    if kind == "compare":
        if attributes:
            raise PlotError(
                "compare colours by rules' credit: give --rule (rules take value=ATTRIBUTE), not --attribute"
            )
        g = src.single()
        return plot_compare(
            g,
            list(rules) or DEFAULT_COMPARE_RULES,
            labels=3 if labels is None else labels,
            title=f"{name}: attribution rules compared ({len(g)} agents)",
            output=output,
        )
    if rules or attributes:
        raise PlotError("selection plots best value against budget; it takes no --rule or --attribute")
    curves = selection_curves(src)
    if curves.empty:
        raise PlotError(f"{str(path)!r}: no selection curves to draw")
    return plot_selection(curves, title=f"{name}: best value against budget per selector", output=output)
