"""What every kind of plot shares: writing a figure, reading what ``lineage-sim plot`` is given (a run
directory, a lineage file, a sweep or a selector-study directory), and small drawing helpers.

Examples
--------
>>> fig = new_figure(4.0, 3.0)
>>> [round(x) for x in fig.get_size_inches() * fig.dpi]
[400, 300]
>>> tex("a $b$ c")
'a \\\\$b\\\\$ c'
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lineage import LineageGraph, atomic_write
from spawn.errors import PlotError, SpawnError, did_you_mean
from spawn.run.layout import RunDir

if TYPE_CHECKING:
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "PlotSource",
    "best_agent",
    "check_attribute",
    "finish",
    "grid",
    "has_attribute",
    "load_lineage",
    "load_source",
    "new_figure",
    "norm",
    "read_csv",
    "save_figure",
    "tex",
]

#: Pixels per inch of every figure; sizes are in inches.
DPI = 100


# ------------------------------------------------------------------------------------------ figures


def save_figure(fig: Figure, path: str | Path, dpi: int = DPI) -> None:
    """Write ``fig`` as a PNG to ``path`` atomically (readers see the old file or the whole new one).

    The PNG carries no software or date metadata, so the same figure gives the same bytes.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    atomic_write(path, buf.getvalue())


def tex(text: object, lines: bool = False) -> str:
    """Text for a figure: control characters escaped (a line break kept where ``lines``), and every
    ``$`` escaped, so that an agent id or a name is never read as mathtext (``$\\frac{$`` would fail)."""
    from lineage.text import printable

    parts = str(text).split("\n") if lines else [str(text)]
    return "\n".join(printable(p).replace("$", r"\$") for p in parts)


def new_figure(width: float, height: float) -> Figure:
    """A bare ``Figure`` of ``width`` x ``height`` inches (no pyplot: nothing global is touched and
    nothing needs closing), laid out by matplotlib's constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def finish(fig: Figure, output: str | Path | None) -> Figure:
    """``fig``, written to ``output`` first when one is given."""
    if output is not None:
        save_figure(fig, output)
    return fig


def grid(k: int, cols: int) -> tuple[int, int]:
    """Rows and columns for ``k`` panels, at most ``cols`` a row."""
    c = max(1, min(k, cols))
    return math.ceil(k / c), c


def norm(series: Sequence[pd.Series]) -> Normalize:
    """One colour scale over the finite numbers of every series (a constant gets a unit-wide scale)."""
    from matplotlib.colors import Normalize

    values = np.concatenate([s.to_numpy(dtype=float) for s in series]) if series else np.array([])
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return Normalize(0.0, 1.0)
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return Normalize(lo, hi)


def best_agent(lineage: LineageGraph, value: str = "value") -> str | None:
    """The agent with the highest ``value`` (the first in insertion order among ties), or ``None``."""
    if len(lineage) == 0 or value not in lineage.arrays.names:
        return None
    v = lineage.column(value)
    if not np.isfinite(v).any():
        return None
    return lineage.ids[int(np.nanargmax(v))]


# ---------------------------------------------------------------------------------------- attributes


def check_attribute(name: str, lineages: Sequence[LineageGraph]) -> None:
    """Refuse (one line, with the closest name) an attribute none of ``lineages`` has."""
    names: set[str] = set()
    for g in lineages:
        names.update(g.arrays.names)
    known = sorted(names)
    if name in known:
        return
    hint = did_you_mean(name, known)
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    raise PlotError(f"unknown attribute {name!r}{hint}; numeric attributes of this lineage: {shown}")


def has_attribute(lineages: Sequence[LineageGraph], name: str) -> bool:
    """Whether any of ``lineages`` has a finite ``name`` for some agent."""
    return any(name in g.arrays.names and np.isfinite(g.column(name)).any() for g in lineages)


# --------------------------------------------------------------------------------------------- files


def _data_limit() -> dict[str, Any]:
    from spawn import limits

    return {"max_bytes": limits.get("data_bytes"), "hint": limits.hint("data_bytes")}


def load_lineage(path: str | Path) -> LineageGraph:
    """A lineage file of a run, refused (one line) if not a regular file or over the ``data_bytes`` limit."""
    return LineageGraph.load(path, **_data_limit())


def read_csv(path: str | Path, what: str) -> pd.DataFrame:
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
            return {self.path.name: [load_lineage(self.path)]}
        return {arm: [load_lineage(RunDir(run).lineage) for run in runs] for arm, runs in self.arms.items()}

    def single(self) -> LineageGraph:
        """The one lineage of a run or lineage file; a sweep or study has several, so it is refused."""
        if self.kind in ("sweep", "study"):
            first = next(iter(self.arms.values()))[0]
            raise PlotError(
                f"{self.path} is a {self.kind} directory with {len(self.arms)} arms; this kind draws one "
                f"lineage: give one run directory such as {first}"
            )
        return next(iter(self.lineages().values()))[0]


def _sweep_arms(p: Path, given: str | Path) -> dict[str, list[Path]]:
    """The arms ``sweep.json`` names, each with its finished seed runs (an arm without one is refused)."""
    from spawn.run.layout import SweepDir

    try:
        arms = {a: [run.path for run in runs] for a, runs in SweepDir(p).arms().items()}
    except SpawnError as exc:
        raise PlotError(str(exc)) from None
    missing = [a for a, runs in arms.items() if not runs]
    if missing:
        raise PlotError(f"sweep {str(given)!r}: arm {missing[0]!r} has no finished run; finish it with 'resume'")
    return arms


def _study_arms(p: Path) -> dict[str, list[Path]]:
    """Every folder of a study directory that holds finished seed runs, by name."""
    from spawn.run.layout import StudyDir

    try:
        return {a: [run.path for run in runs] for a, runs in StudyDir(p).arms().items()}
    except SpawnError as exc:
        raise PlotError(str(exc)) from None


def load_source(path: str | Path) -> PlotSource:
    """Recognise a run directory, a lineage file, a sweep directory or a selector-study directory.

    Raises
    ------
    PlotError
        When the path does not exist or holds none of these.
    """
    from spawn.run.rundir import run_kind

    p = Path(path)
    if not p.exists():
        raise PlotError(f"{str(path)!r} does not exist; give a run directory, a lineage file or a sweep directory")
    if p.is_file():
        return PlotSource(p, "lineage")
    # The directory's marker says what it is, so a stale sweep.json or study.csv left by another
    # kind of run decides nothing; a directory of an older version is recognised by its files.
    kind = run_kind(p)
    if kind == "sweep" and (p / "sweep.json").is_file():
        return PlotSource(p, "sweep", _sweep_arms(p, path))
    if kind == "study" and (p / "study.csv").is_file():
        return PlotSource(p, "study", _study_arms(p))
    if RunDir(p).finished:
        return PlotSource(p, "run", {p.name: [p]})
    raise PlotError(
        f"{str(path)!r} holds no lineage.json, lineage.parquet, sweep.json or study.csv; "
        "give a run directory, a lineage file or a sweep directory"
    )
