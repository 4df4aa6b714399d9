"""Best value found against budget spent, one line per selector (``--kind selection``).

The curves are :func:`spawn.experiments.curves.best_against_budget`'s, the same a selector study
writes to its ``study.csv``.

Examples
--------
>>> import pandas as pd
>>> curves = pd.DataFrame({"selector": ["greedy", "greedy"], "spent": [400, 800], "mean": [0.5, 0.6],
...                        "lo": [0.5, 0.6], "hi": [0.5, 0.6], "n": [1, 1]})
>>> plot_selection(curves).axes[0].get_legend().get_texts()[0].get_text()
'greedy (1 seed)'
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from spawn.errors import PlotError
from spawn.experiments.curves import best_against_budget, run_curve, steps_curve
from spawn.plots.common import PlotSource, finish, load_lineage, load_source, new_figure, read_csv, tex
from spawn.run.layout import RunDir

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_selection", "selection_curves"]

_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"))


def _run_curve(run: Path, total: bool) -> pd.Series:
    """Best value so far against total steps (``total``: from ``steps.csv``) or training steps (from
    ``batches.csv``, a run of an older version) in one archive run (the root first)."""
    if total:
        return steps_curve(read_csv(run / "steps.csv", "an archive run's steps.csv"))
    batches = read_csv(run / "batches.csv", "an archive run's batches.csv")
    g = load_lineage(RunDir(run).lineage)
    root = g.attributes(g.roots()[0])
    return run_curve(int(root.get("train_steps", 0)), float(root.get("value", math.nan)), batches)


def _arm_label(arm: str) -> str:
    """An arm's name as a legend shows it: its settings' values (``selector=hgm,expand=ucb-air`` ->
    ``hgm · ucb-air``)."""
    if "=" not in arm:
        return arm
    return " · ".join(part.partition("=")[2] for part in arm.split(","))


def selection_curves(source: PlotSource | str | Path) -> pd.DataFrame:
    """Best value against steps spent per selector: ``selector, spent, mean, lo, hi, n``.

    ``spent`` counts training and evaluation steps together (each run's ``steps.csv``), so that
    expand-only selectors and HGM's loop (whose budget counts both) compare at equal cost; runs of an
    older version, without ``steps.csv``, are drawn against training steps (``batches.csv``), and
    the frame's ``attrs["cost"]`` says which (``"total"`` or ``"training"``). A study directory's
    ``study.csv`` is read as it is; for a sweep directory (one curve per arm) or a single archive
    run each run's file gives a step curve, and runs of an arm are
    averaged on the union of their budget points with a 95% t-interval over seeds (see
    :func:`spawn.experiments.curves.best_against_budget`).

    Raises
    ------
    PlotError
        When the runs are not archive runs (no ``batches.csv``).
    """
    src = source if isinstance(source, PlotSource) else load_source(source)
    if src.kind == "study":
        return read_csv(src.path / "study.csv", "a selector study's study.csv")
    if src.kind == "lineage":
        raise PlotError(
            f"selection needs an archive run's batches.csv, and {str(src.path)!r} is a lineage file; "
            "give the archive run directory or a sweep of selectors"
        )
    curves: dict[str, list[pd.Series]] = {}
    for runs in src.arms.values():
        missing = [r for r in runs if not (r / "batches.csv").is_file()]
        if missing:
            raise PlotError(
                f'selection needs archive runs (regime = "archive", which write batches.csv); '
                f"{str(missing[0])!r} is a recursive run"
            )
    total = all((r / "steps.csv").is_file() for runs in src.arms.values() for r in runs)
    for arm, runs in src.arms.items():
        curves[_arm_label(arm)] = [_run_curve(r, total) for r in runs]
    frame = best_against_budget(curves)
    frame.attrs["cost"] = "total" if total else "training"
    return frame


def plot_selection(
    curves: pd.DataFrame,
    *,
    title: str | None = None,
    output: str | Path | None = None,
) -> Figure:
    """Best value found against steps spent, one step line per arm with its band over seeds.

    Parameters
    ----------
    curves
        Columns ``selector, spent, mean, lo, hi, n`` (as :func:`selection_curves` or a study's
        ``study.csv`` give); the band is ``lo``..``hi`` and is drawn where ``n > 1``.
    title, output
        As in :func:`spawn.plots.plot_tree`.
    """
    from matplotlib.lines import Line2D

    fig = new_figure(10.0, 6.0)
    ax = fig.subplots()
    seeds = set()
    handles: list[Any] = []
    groups = list(curves.groupby("selector", sort=False))
    # An arm of several settings ("hgm · ucb-air") has its colour from the first and its line style
    # from the rest; an arm of one setting varies both, so that arms with equal curves stay apart.
    firsts = list(dict.fromkeys(str(label).split(" · ")[0] for label, _ in groups))
    rests = list(dict.fromkeys(str(label).partition(" · ")[2] for label, _ in groups))
    crowded = len(groups) > 4
    for j, (selector, c) in enumerate(groups):
        c = c.sort_values("spent")
        head, _, rest = str(selector).partition(" · ")
        k = firsts.index(head) if len(rests) > 1 else j
        colour = f"C{k % 10}"
        style = _STYLES[(rests.index(rest) if len(rests) > 1 else j) % len(_STYLES)]
        n = int(c["n"].max()) if len(c) else 0
        seeds.add(n)
        every = max(1, len(c) // 12)  # a marker at most every twelfth of the curve
        ax.step(c["spent"], c["mean"], where="post", color=colour, lw=2.0, ls=style[0], zorder=3)
        ax.plot(c["spent"], c["mean"], style[0], marker=style[1], color=colour, lw=0, ms=6, zorder=3, markevery=every)
        if n > 1:
            alpha = 0.05 if crowded else 0.12
            ax.fill_between(c["spent"], c["lo"], c["hi"], step="post", color=colour, alpha=alpha, lw=0)
            if not crowded:
                ax.step(c["spent"], c["lo"], where="post", color=colour, lw=0.6, alpha=0.6)
                ax.step(c["spent"], c["hi"], where="post", color=colour, lw=0.6, alpha=0.6)
        label = f"{selector} ({n} seed{'s' * (n != 1)})"
        handles.append(Line2D([], [], color=colour, ls=style[0], marker=style[1], lw=2.0, label=tex(label)))
    cost = curves.attrs.get("cost", "total")
    ax.set_xlabel("steps spent (training + evaluation)" if cost == "total" else "budget spent (training steps)")
    ax.set_ylabel("best value so far")
    ax.grid(alpha=0.3)
    band = "band: 95% t-interval over seeds" if max(seeds, default=0) > 1 else "one seed: no band"
    ax.legend(handles=handles, title=f"arm ({band})", fontsize=10, title_fontsize=10, loc="best")
    fig.suptitle(tex(title or "Best value found against steps spent"), fontsize=14)
    return finish(fig, output)
