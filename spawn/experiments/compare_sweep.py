"""Attribution rules compared across a sweep: :func:`attribution.comparison.compare` on every arm's
seed runs, aggregated over seeds per arm, each statistic with a 95% interval.

Per arm, per rule (``rule`` names it; arm-level statistics have ``rule`` ``""``):

``root_credit``
    the root's credit (net of liability) under the rule: mean over seeds, Student-t interval.
``gini``
    the Gini concentration of the rule's credit: mean over seeds, Student-t interval.
``kendall_tau[<other>]``
    Kendall's tau between the rule and a later rule (each pair once, in the order the rules are
    given): mean over seeds, Student-t interval.
``prediction_tau``
    how well the rule computed on the earlier lineage predicts later clade value (Kendall's tau,
    see :func:`~attribution.comparison.compare`): mean over seeds, Student-t interval.
``alignment_tax`` (arm level)
    best raw value minus the raw value of the best aligned agent: mean over seeds, Student-t interval.
``relative_alignment_tax`` (arm level)
    the summed tax over the summed best raw value, a ratio of means and so no mean itself: the
    interval is a percentile bootstrap over seeds (:data:`BOOTSTRAP_RESAMPLES` resamples drawn with
    ``numpy.random.Generator(PCG64(seed))``), and ``mean`` holds the ratio.

With ``universal`` (``compare --universal``), per rule, each a mean over seeds with a Student-t
interval: every number of :data:`spawn.experiments.universal.UNIVERSAL_COLUMNS` (``log2_upsilon``,
``relative_tax``, ``mix_upsilon``, ...) of the root's credit (see :mod:`spawn.experiments.universal`); and on an arm
with ``constitutions = true`` whose twin arm (the same settings but ``constitutions = false``) ran
the same seeds, the value lost to the constitution, paired by seed against the twin's Upsilon:
``value_lost`` (``1 - Upsilon / Upsilon_free``: what the governed lineage lost by the raw measure),
``value_lost_imperative`` (``1 - Sigma / Upsilon_free``), ``value_lost_complexity``
(``1 - Sigma_K / Upsilon_free``) and ``mix_value_lost`` (``mix_upsilon_free - mix_upsilon``, in
value's units).

A seed whose statistic is NaN (no birth times, one agent, ...) is left out; ``n_seeds`` counts the
seeds that were used. With fewer than two, the interval is NaN (``null`` in JSON, empty in CSV).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attribution.base import Rule
from attribution.comparison import Comparison, compare
from attribution.intervals import t_interval
from attribution.table import resolve_rules
from lineage import LineageGraph
from lineage.text import csv_line
from spawn.experiments.universal import UNIVERSAL_COLUMNS, relative_loss, run_complexities, universal_credit

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "STATISTIC_COLUMNS",
    "SweepComparison",
    "compare_sweep",
    "render_sweep_comparison",
    "sweep_runs",
]

#: The per-rule statistics ``universal`` adds: every number of :data:`spawn.experiments.universal.UNIVERSAL_COLUMNS`.
UNIVERSAL_STATISTICS = tuple(c for c in UNIVERSAL_COLUMNS if c not in ("rule", "dominant"))
#: The paired statistics of a ``constitutions = true`` arm against its ``constitutions = false`` twin.
CONSTITUTION_STATISTICS = ("value_lost", "value_lost_imperative", "value_lost_complexity", "mix_value_lost")
#: How many resamples the bootstrap of a statistic that is not a mean over seeds draws.
BOOTSTRAP_RESAMPLES = 2000
#: The columns of :attr:`SweepComparison.statistics` (and of ``compare --csv`` on a sweep).
STATISTIC_COLUMNS = ("arm", "rule", "statistic", "mean", "lo", "hi", "n_seeds", "method")
_LEVEL = 0.95
_METHODS = {
    "t": "mean over seeds with a Student-t 95% interval",
    "bootstrap": "ratio of means over seeds with a percentile-bootstrap 95% interval",
}


@dataclasses.dataclass(frozen=True)
class SweepComparison:
    """What :func:`compare_sweep` found."""

    #: the sweep directory
    path: Path
    #: rule specs, in the order given
    rules: tuple[str, ...]
    #: per arm, in the order ``sweep.json`` lists them: the seeds compared, sorted
    seeds: dict[str, tuple[int, ...]]
    #: one row per seed run and statistic: arm, seed, rule, statistic, value
    per_seed: pd.DataFrame
    #: one row per arm, rule and statistic: the columns of :data:`STATISTIC_COLUMNS`
    statistics: pd.DataFrame
    #: the bootstrap's seed
    seed: int = 0
    #: what single-run comparisons noted (Monte Carlo Shapley), each prefixed by its arm and seed
    notes: tuple[str, ...] = ()

    def interval(self, arm: str, statistic: str, rule: str = "") -> tuple[float, float, float]:
        """``(mean, lo, hi)`` of one statistic of one arm (``rule`` ``""`` for the arm-level ones)."""
        s = self.statistics
        row = s[(s["arm"] == arm) & (s["rule"] == rule) & (s["statistic"] == statistic)]
        if len(row) != 1:
            raise KeyError(f"no statistic {statistic!r} for arm {arm!r}, rule {rule!r}")
        r = row.iloc[0]
        return float(r["mean"]), float(r["lo"]), float(r["hi"])

    def values(self, arm: str, statistic: str, rule: str = "") -> list[float]:
        """The per-seed values of one statistic of one arm, by seed."""
        s = self.per_seed
        return [float(v) for v in s[(s["arm"] == arm) & (s["rule"] == rule) & (s["statistic"] == statistic)]["value"]]

    def single_seed_arms(self) -> list[str]:
        return [a for a, seeds in self.seeds.items() if len(seeds) < 2]

    def to_csv(self) -> str:
        """One row per arm, rule and statistic (NaN as an empty field): what ``compare --csv`` writes."""
        lines = [csv_line(STATISTIC_COLUMNS)]
        for row in self.statistics.itertuples(index=False):
            d = row._asdict()
            lines.append(
                csv_line(
                    [
                        d["arm"],
                        d["rule"],
                        d["statistic"],
                        *(_cell(d[k]) for k in ("mean", "lo", "hi")),
                        int(d["n_seeds"]),
                        d["method"],
                    ]
                )
            )
        return "".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON data (NaN as ``None``): what ``compare --json`` writes on a sweep."""
        return {
            "sweep": str(self.path),
            "rules": list(self.rules),
            "arms": [{"arm": a, "seeds": list(s)} for a, s in self.seeds.items()],
            "methods": {**_METHODS, "bootstrap_resamples": BOOTSTRAP_RESAMPLES, "bootstrap_seed": self.seed},
            "statistics": [{k: _num(v) for k, v in r.items()} for r in self.statistics.to_dict("records")],
            "per_seed": [{k: _num(v) for k, v in r.items()} for r in self.per_seed.to_dict("records")],
            "notes": list(self.notes),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"

    def __rich__(self) -> Any:
        from rich.console import Group

        return Group(*render_sweep_comparison(self))


def _cell(x: Any) -> str:
    x = float(x)
    return "" if math.isnan(x) else "%.12g" % x  # noqa: UP031  # the same bytes on every platform


def _num(x: Any) -> Any:
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, (int, np.integer)):
        return int(x)
    f = float(x)
    return None if math.isnan(f) else f


def sweep_runs(sweep_dir: str | Path) -> dict[str, list[tuple[int, Path]]]:
    """Every arm of a sweep directory with its runs: see :func:`sweep_arms`."""
    return {name: runs for name, (_, runs) in sweep_arms(sweep_dir).items()}


def sweep_arms(sweep_dir: str | Path) -> dict[str, tuple[dict[str, Any], list[tuple[int, Path]]]]:
    """Every arm of a sweep directory, as ``sweep.json`` lists them, with its ``(seed, lineage file)``
    runs sorted by seed: the seeds the sweep's ``config.toml`` makes (``--seed`` as the sweep was run),
    each with the arm's settings (sweep key to value).

    Raises :class:`~spawn.errors.RunDirError` when ``sweep_dir`` is not a sweep directory, when its
    config makes other arms than ``sweep.json`` names, or when a run has no lineage yet.
    """
    from spawn.config import load_config
    from spawn.config.arms import arms
    from spawn.errors import ConfigError, RunDirError
    from spawn.run.layout import RunDir, SweepDir, open_output
    from spawn.run.rundir import inside

    path = Path(sweep_dir)
    sweep = open_output(path)
    if not isinstance(sweep, SweepDir):
        raise RunDirError(f"{str(path)!r} is not a sweep directory (no sweep.json)")
    names = sweep.read()["arms"]
    try:
        arm_list = arms(load_config(sweep.config), sweep.seed())
    except ConfigError as exc:
        raise RunDirError(f"{path}: the sweep's config.toml cannot be read ({exc})") from None
    if [a.name for a in arm_list] != names:
        raise RunDirError(f"{sweep.description}: names other arms than {sweep.config} makes")
    out: dict[str, tuple[dict[str, Any], list[tuple[int, Path]]]] = {}
    for arm in arm_list:
        runs = []
        for s in sorted(arm.seeds):
            run = inside(path, f"{arm.name}/seed-{s}", "the sweep's run")
            lineage = RunDir(run).lineage
            if not lineage.is_file():
                raise RunDirError(
                    f"{path}: the run {arm.name}/seed-{s} is missing (no lineage.json); "
                    f"finish the sweep with 'lineage-sim resume {path}'"
                )
            runs.append((s, lineage))
        out[arm.name] = (dict(arm.settings), runs)
    return out


def _load(path: Path) -> LineageGraph:
    from spawn import limits

    return LineageGraph.load(path, max_bytes=limits.get("data_bytes"), hint=limits.hint("data_bytes"))


def _run_values(c: Comparison, rules: Sequence[str]) -> list[tuple[str, str, float]]:
    """(rule, statistic, value) of one run's comparison."""
    out: list[tuple[str, str, float]] = []
    root = c.table.index[0] if len(c.table) else None
    for r in rules:
        out.append((r, "root_credit", math.nan if root is None else float(c.table.loc[root, r])))
        out.append((r, "gini", float(c.leaders.loc[r, "gini"])))
        pred = math.nan if c.prediction is None else float(c.prediction.loc[r, "kendall_tau"])
        out.append((r, "prediction_tau", pred))
    for i, a in enumerate(rules):
        for b in rules[i + 1 :]:
            out.append((a, f"kendall_tau[{b}]", float(c.kendall.loc[a, b])))
    tax = c.alignment_tax
    out.append(("", "alignment_tax", float(tax["tax"])))
    out.append(("", "raw_best_value", float(tax["raw_best_value"])))
    return out


def _t(values: np.ndarray) -> tuple[float, float, float, int]:
    v = values[np.isfinite(values)]
    mean, lo, hi = t_interval(v, _LEVEL)
    if len(v) < 2:
        lo = hi = math.nan
    return mean, lo, hi, len(v)


def _ratio_bootstrap(num: np.ndarray, den: np.ndarray, seed: int) -> tuple[float, float, float, int]:
    """sum(num) / sum(den) over the seeds where both are finite, with a percentile-bootstrap interval."""
    ok = np.isfinite(num) & np.isfinite(den)
    num, den = num[ok], den[ok]
    n = len(num)
    point = float(num.sum() / den.sum()) if n and den.sum() != 0 else math.nan
    if n < 2:
        return point, math.nan, math.nan, n
    rng = np.random.Generator(np.random.PCG64(seed))
    idx = rng.integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))
    tops, bottoms = num[idx].sum(axis=1), den[idx].sum(axis=1)
    ratios = np.divide(tops, bottoms, out=np.full(len(tops), np.nan), where=bottoms != 0)
    ratios = ratios[np.isfinite(ratios)]
    if len(ratios) == 0:
        return point, math.nan, math.nan, n
    lo, hi = np.quantile(ratios, [(1 - _LEVEL) / 2, (1 + _LEVEL) / 2])
    return point, float(lo), float(hi), n


def compare_sweep(
    sweep_dir: str | Path,
    rules: Iterable[str | Rule] | str | Rule,
    *,
    seed: int = 0,
    aligned: str = "multiplicative",
    cutoff: float = 0.5,
    universal: bool = False,
) -> SweepComparison:
    """Compare ``rules`` on every run of a sweep directory and aggregate over seeds per arm.

    Arms are taken in the order ``sweep.json`` lists them, seeds sorted; every run is compared with
    :func:`~attribution.comparison.compare` (``aligned`` and ``cutoff`` as there). ``seed`` seeds the
    bootstrap of ``relative_alignment_tax``. Rules are checked before any lineage is read.
    ``universal`` adds the per-environment statistics (see the module's documentation); each arm's
    environments are described once, from its first run's ``config.toml``.
    """
    resolved = resolve_rules(rules)
    specs = [r.spec for r in resolved]
    if type(seed) is not int or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    described = sweep_arms(sweep_dir)
    runs = {arm: arm_runs for arm, (_, arm_runs) in described.items()}
    per_seed: list[dict[str, Any]] = []
    notes: list[str] = []
    sums: dict[tuple[str, int], pd.DataFrame] = {}
    for arm, arm_runs in runs.items():
        complexities = run_complexities(arm_runs[0][1]) if universal and arm_runs else None
        for s, lineage in arm_runs:
            graph = _load(lineage)
            c = compare(graph, resolved, aligned=aligned, cutoff=cutoff)
            values = _run_values(c, specs)
            if complexities is not None:
                table = universal_credit(graph, resolved, complexities).table.set_index("rule")
                sums[arm, s] = table
                values += [(r, stat, float(table.loc[r, stat])) for r in specs for stat in UNIVERSAL_STATISTICS]
            for rule, stat, value in values:
                per_seed.append({"arm": arm, "seed": s, "rule": rule, "statistic": stat, "value": value})
            notes.extend(f"{arm} seed {s}: {n}" for n in c.notes)
    if universal:
        per_seed += _constitution_losses(described, sums, specs)
    frame = pd.DataFrame(per_seed, columns=["arm", "seed", "rule", "statistic", "value"])

    rows: list[dict[str, Any]] = []
    for arm in runs:
        of_arm = frame[frame["arm"] == arm]
        keys = list(dict.fromkeys(zip(of_arm["rule"], of_arm["statistic"], strict=True)))
        for rule, stat in keys:
            if stat == "raw_best_value":
                continue
            v = of_arm[(of_arm["rule"] == rule) & (of_arm["statistic"] == stat)]["value"].to_numpy(dtype=float)
            mean, lo, hi, n = _t(v)
            rows.append(dict(zip(STATISTIC_COLUMNS, (arm, rule, stat, mean, lo, hi, n, "t"), strict=True)))
        tax = of_arm[of_arm["statistic"] == "alignment_tax"]["value"].to_numpy(dtype=float)
        best = of_arm[of_arm["statistic"] == "raw_best_value"]["value"].to_numpy(dtype=float)
        point, lo, hi, n = _ratio_bootstrap(tax, best, seed)
        rows.append(
            dict(
                zip(
                    STATISTIC_COLUMNS,
                    (arm, "", "relative_alignment_tax", point, lo, hi, n, "bootstrap"),
                    strict=True,
                )
            )
        )
    statistics = pd.DataFrame(rows, columns=list(STATISTIC_COLUMNS))
    seeds = {arm: tuple(s for s, _ in arm_runs) for arm, arm_runs in runs.items()}
    return SweepComparison(Path(sweep_dir), tuple(specs), seeds, frame, statistics, seed, tuple(notes))


def _twin(settings: dict[str, Any], described: dict[str, tuple[dict[str, Any], Any]]) -> str | None:
    """The arm with the same settings as ``settings`` but ``constitutions = false``."""
    want = {**settings, "constitutions": False}
    return next((name for name, (other, _) in described.items() if other == want), None)


def _constitution_losses(
    described: dict[str, tuple[dict[str, Any], list[tuple[int, Path]]]],
    sums: dict[tuple[str, int], pd.DataFrame],
    specs: Sequence[str],
) -> list[dict[str, Any]]:
    """Per seed: each ``constitutions = true`` arm's value lost against its twin without constitutions."""
    out: list[dict[str, Any]] = []
    for arm, (settings, arm_runs) in described.items():
        if settings.get("constitutions") is not True or (free := _twin(settings, described)) is None:
            continue
        for s, _ in arm_runs:
            if (free, s) not in sums or (arm, s) not in sums:
                continue
            gov, ref = sums[arm, s], sums[free, s]
            for r in specs:
                base = float(ref.loc[r, "log2_upsilon"])
                lost = (
                    *(
                        relative_loss(base, float(gov.loc[r, c]))
                        for c in ("log2_upsilon", "log2_sigma", "log2_sigma_k")
                    ),
                    float(ref.loc[r, "mix_upsilon"]) - float(gov.loc[r, "mix_upsilon"]),
                )
                out += [
                    {"arm": arm, "seed": s, "rule": r, "statistic": k, "value": v}
                    for k, v in zip(CONSTITUTION_STATISTICS, lost, strict=True)
                ]
    return out


def _fmt(x: float) -> str:
    return "nan" if math.isnan(x) else f"{x:.4g}"


def _show(mean: float, lo: float, hi: float) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return _fmt(mean)
    return f"{_fmt(mean)} [{_fmt(lo)}, {_fmt(hi)}]"


def render_sweep_comparison(c: SweepComparison) -> list[Any]:
    """Rich tables, one per statistic: a row per arm, a column per rule (or rule pair), each cell the
    mean and its 95% interval ``[lo, hi]``. Arm names and rule specs are never read as markup."""
    from rich.table import Table

    from lineage.text import plain

    s = c.statistics
    cells = {(r.arm, r.rule, r.statistic): r for r in s.itertuples(index=False)}

    def table(title: str, columns: list[tuple[str, str, str]]) -> Table:
        """``columns``: (header, rule, statistic)."""
        t = Table(title=title, title_justify="left")
        t.add_column("arm", overflow="fold")
        t.add_column("seeds", justify="right")
        for header, _, _ in columns:
            t.add_column(plain(header), justify="right", overflow="fold")
        for arm, seeds in c.seeds.items():
            row: list[Any] = [plain(arm), str(len(seeds))]
            for _, rule, stat in columns:
                r = cells.get((arm, rule, stat))
                row.append("-" if r is None else _show(float(r.mean), float(r.lo), float(r.hi)))
            t.add_row(*row)
        return t

    by_rule = [(r, r) for r in c.rules]
    out: list[Any] = [
        table("root credit per rule", [(h, r, "root_credit") for h, r in by_rule]),
        table("credit concentration (Gini) per rule", [(h, r, "gini") for h, r in by_rule]),
    ]
    pairs = [(f"{a} ~ {b}", a, f"kendall_tau[{b}]") for i, a in enumerate(c.rules) for b in c.rules[i + 1 :]]
    if pairs:
        out.append(table("rank correlation between rules (Kendall tau)", pairs))
    out.append(table("predicts later best (Kendall tau) per rule", [(h, r, "prediction_tau") for h, r in by_rule]))
    out.append(
        table(
            "alignment tax",
            [("tax", "", "alignment_tax"), ("relative to the best raw value", "", "relative_alignment_tax")],
        )
    )
    universal = [
        ("Upsilon of the root's credit, log2 (sum of 2^-K credit per environment)", "log2_upsilon"),
        ("Sigma, log2 (V' = V 2^-D: alignment as the agent's imperative)", "log2_sigma"),
        ("relative tax 1 - Sigma/Upsilon", "relative_tax"),
        ("relative tax 1 - Sigma_K/Upsilon (alignment as more environment complexity)", "relative_tax_k"),
        ("mix Upsilon (every environment weighted equally: a departure from Legg and Hutter)", "mix_upsilon"),
        ("mix Sigma (equal weights)", "mix_sigma"),
        ("value lost to the constitution, 1 - Upsilon/Upsilon of the constitutions = false twin", "value_lost"),
        ("value lost, imperative: 1 - Sigma/Upsilon of the twin", "value_lost_imperative"),
        ("value lost, complexity: 1 - Sigma_K/Upsilon of the twin", "value_lost_complexity"),
        ("value lost, mix: mix Upsilon of the twin - mix Upsilon", "mix_value_lost"),
    ]
    have = set(s["statistic"])
    for title, stat in universal:
        if stat in have:
            out.append(table(title, [(h, r, stat) for h, r in by_rule]))
    out.append(
        plain(
            f"mean [lo, hi] over seeds: a Student-t 95% interval for every statistic but the relative "
            f"alignment tax (summed tax over summed best raw value), whose interval is a percentile "
            f"bootstrap over seeds ({BOOTSTRAP_RESAMPLES} resamples, seed {c.seed})"
        )
    )
    if single := c.single_seed_arms():
        out.append(plain(f"no interval for an arm with one seed: {', '.join(single)}"))
    out.extend(plain(n) for n in c.notes)
    return out
