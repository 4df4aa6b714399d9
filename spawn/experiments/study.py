"""Studies over selectors: the same archive config under several selectors and seeds, compared.

Every (selector, seed) is run by the sweep machinery (:func:`spawn.experiments.sweep.run_arms`)
into a normal run directory ``DIR/<selector>/seed-<s>/``. The study then reports, per selector,
the best value found against the budget spent (:func:`spawn.experiments.curves.best_against_budget`:
mean and 95% interval over seeds), and, for each attribution rule, how well the rule's credit at
each batch predicts the best value that agent's clade reached by the end (HGM's check of which
estimate predicts metaproductivity): a weighted Pearson correlation over every (batch, agent)
pair, each batch weighing as much as any other.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attribution.intervals import t_interval
from lineage import LineageGraph, atomic_write
from spawn.config import SimConfig, check_rule, parse_config
from spawn.config.arms import Arm, arm_slug
from spawn.errors import ConfigError
from spawn.experiments.curves import best_against_budget, run_curve, steps_curve
from spawn.experiments.sweep import run_arms
from spawn.run.driver import prepare_run_dir
from spawn.run.layout import RunDir

__all__ = [
    "DEFAULT_RULES",
    "PREDICTIVENESS_COLUMNS",
    "TARGETS",
    "StudyResult",
    "arm_predictiveness",
    "arm_slug",
    "pooled_predictiveness",
    "predictiveness",
    "selector_study",
    "study_tables",
    "sweep_predictiveness",
    "weighted_correlation",
]

DEFAULT_RULES = ("self", "discounted", "clade-mean", "cmp", "best-descendant")

#: The columns of a study's ``predictiveness.csv`` (:func:`arm_predictiveness`).
PREDICTIVENESS_COLUMNS = ("selector", "rule", "correlation", "mean", "lo", "hi", "seeds", "pairs")


def weighted_correlation(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted Pearson correlation (NaN when either side is constant).

    Examples
    --------
    >>> round(weighted_correlation(np.array([1.0, 2, 3]), np.array([2.0, 4, 7]), np.ones(3)), 4)
    0.9934
    """
    w = w / w.sum()
    mx, my = (w * x).sum(), (w * y).sum()
    cov = (w * (x - mx) * (y - my)).sum()
    vx, vy = (w * (x - mx) ** 2).sum(), (w * (y - my) ** 2).sum()
    return float(cov / np.sqrt(vx * vy)) if vx > 0 and vy > 0 else float("nan")


def _states(run: Path) -> list[tuple[list[str], dict[str, dict[str, float]]]]:
    """The archive after each batch (batch -1: the root alone): who was in it, and, under HGM's loop,
    what each agent measured then (``value``, ``successes``, ``trials`` from ``steps.csv``: its last
    row up to the batch's end), since the loop's evaluations change them; ``{}`` for an expand-only
    run, whose agents measure what they measured when they joined."""
    with (run / "batches.csv").open() as fh:
        batches = list(csv.DictReader(fh))
    steps: list[dict[str, str]] = []
    if (run / "steps.csv").is_file():
        with (run / "steps.csv").open() as fh:
            steps = list(csv.DictReader(fh))
    loop = any(r["action"] == "evaluate" for r in steps)
    members = ["0"]
    seen: dict[str, dict[str, float]] = {}
    rows = iter(steps)
    pending = next(rows, None)

    def measured(until: float) -> dict[str, dict[str, float]]:
        nonlocal pending
        while loop and pending is not None and int(pending["total_steps"]) <= until:
            figures = {k: pending[k].split() for k in ("value", "successes", "trials")}
            for j, agent in enumerate(pending["agent"].split()):
                seen[agent] = {k: float(v[j]) for k, v in figures.items() if j < len(v)}
            pending = next(rows, None)
        return {a: dict(f) for a, f in seen.items()}

    root_end = int(steps[0]["total_steps"]) if steps else 0
    out = [(list(members), measured(root_end))]
    for row in batches:
        members += row["children"].split()
        out.append((list(members), measured(int(row["spent"]))))
    return out


#: What a credit predicts (``target``): ``clade``, the best final value in the agent's clade, itself
#: included; ``descendants``, HGM's empirical CMP, the best final value among its descendants only
#: (a leaf has none and gives no pair).
TARGETS = ("clade", "descendants")


def _targets(g: LineageGraph, target: str) -> dict[str, float]:
    if target not in TARGETS:
        raise ValueError(f"predictiveness target {target!r} is not one of {', '.join(TARGETS)}")
    best = g.clade_max("value")
    if target == "clade":
        return best
    kids = {a: [best[c] for c in g.children(a) if not math.isnan(best[c])] for a in g}
    return {a: max(v, default=float("nan")) for a, v in kids.items()}


def predictiveness(
    run: Path, rules: Sequence[str], target: str = "clade"
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per rule: credit at each batch, the clade's final best value (``target``: see :data:`TARGETS`),
    and the weights (one run).

    Every state of the archive but the last (the root alone, then after each batch) is credited as
    it was then (under HGM's loop with each agent's value and counts as they were then, see
    :func:`_states`); each agent present gives a pair (its credit then, the best value of its clade in
    the finished run), weighing ``1 / agents present`` so that every state weighs the same. Pairs
    without a finite credit or clade value are left out.
    """
    from attribution import parse_rule

    full = LineageGraph.load(RunDir(run).lineage)
    final_best = _targets(full, target)
    out: dict[str, tuple[list[float], list[float], list[float]]] = {r: ([], [], []) for r in rules}
    for members, then in _states(run)[:-1]:  # the last state has no future to predict
        keep = set(members)
        g = LineageGraph()
        for a in full:
            if a in keep:
                p = full.parent(a)
                attrs = full.attributes(a) | then.get(a, {})
                g.add_agent(a, parent=p, operator=full.operator(a) if p else None, **attrs)
        for spec in rules:
            credit = parse_rule(spec)(g)
            xs, ys, ws = out[spec]
            for a in members:
                c = float(credit[a])
                if np.isfinite(c) and np.isfinite(final_best[a]):
                    xs.append(c)
                    ys.append(final_best[a])
                    ws.append(1.0 / len(members))
    return {r: (np.array(x), np.array(y), np.array(w)) for r, (x, y, w) in out.items()}


def _correlation(triples: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[float, int]:
    """The weighted correlation of pooled pairs (NaN with fewer than two) and how many pairs."""
    x, y, w = (np.concatenate([t[i] for t in triples]) if triples else np.array([]) for i in range(3))
    return (weighted_correlation(x, y, w) if len(x) > 1 else float("nan")), len(x)


def pooled_predictiveness(runs: Sequence[Path], rules: Sequence[str], target: str = "clade") -> pd.DataFrame:
    """Per rule (``rule, correlation, pairs``): the weighted correlation of every run's pairs from
    :func:`predictiveness` pooled (NaN with fewer than two pairs), and how many pairs there are."""
    pooled: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {r: [] for r in rules}
    for run in runs:
        for rule, triple in predictiveness(run, rules, target).items():
            pooled[rule].append(triple)
    rows = []
    for rule, triples in pooled.items():
        corr, n = _correlation(triples)
        rows.append({"rule": rule, "correlation": corr, "pairs": n})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class StudyResult:
    curves: pd.DataFrame  # selector, spent, mean, lo, hi, n
    predictiveness: pd.DataFrame  # PREDICTIVENESS_COLUMNS: per selector and rule, and pooled ("all")
    final: pd.DataFrame  # selector, seed, best_value, best_agent, agents, spent (the curve's end), test_value


def selector_study(
    cfg: SimConfig,
    selectors: Sequence[str],
    seeds: Sequence[int],
    out: str | Path,
    *,
    rules: Sequence[str] = DEFAULT_RULES,
    runtime: str = "inline",
    runtime_options: dict[str, Any] | None = None,
    force: bool = False,
    progress: bool = False,
) -> StudyResult:
    """Run ``cfg`` (archive regime) under every selector and seed into ``out``; compare them.

    Writes ``out/study.csv`` (best value against budget, per selector, with a 95% t-interval over
    seeds), ``out/predictiveness.csv`` and ``out/final.csv``.

    Raises
    ------
    spawn.errors.ConfigError
        Before anything is written: a bad selector or rule, a config one of the arms makes invalid,
        no selector or seed, or one given twice (two selectors sharing a folder count as the same).
    """
    out = Path(out)
    arm_list = _study_arms(cfg, selectors, seeds)  # every arm, and every rule, checked before anything is written
    for rule in rules:
        check_rule(rule)
    rd = prepare_run_dir(out, force, kind="study")
    try:
        run_arms(
            out, arm_list, runtime=runtime, runtime_options=runtime_options, progress=progress, what="the study's arm"
        )
        runs = {arm.settings["selector"]: {s: arm.run_dir(out, s) for s in arm.seeds} for arm in arm_list}
        result = study_tables(runs, rules)
        for name, frame in (
            ("study.csv", result.curves),
            ("predictiveness.csv", result.predictiveness),
            ("final.csv", result.final),
        ):
            buf = io.StringIO()
            frame.to_csv(buf, index=False, float_format="%.12g", lineterminator="\n")
            atomic_write(out / name, buf.getvalue())
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            rd.release()
        else:
            rd.undo()
        raise
    rd.release()
    return result


def _study_arms(cfg: SimConfig, selectors: Sequence[str], seeds: Sequence[int]) -> list[Arm]:
    """One arm per selector, in its folder ``arm_slug(selector)``; every seed's config validated."""
    if not selectors or not seeds:
        raise ConfigError("a selector study needs at least one selector and one seed")
    if len(set(seeds)) < len(seeds):
        raise ConfigError(f"a selector study's seeds are given twice: {list(seeds)}")
    arm_list: list[Arm] = []
    for selector in selectors:
        configs = [_arm(cfg, selector, seed) for seed in seeds]
        slug = arm_slug(selector)
        same = [arm.settings["selector"] for arm in arm_list if arm.name == slug]
        if same:
            raise ConfigError(f"selectors {same[0]!r} and {selector!r} would share the study's folder {slug!r}")
        arm_list.append(Arm(slug, {"selector": selector}, configs[0], tuple(seeds)))
    return arm_list


def _arm(cfg: SimConfig, selector: str, seed: int) -> SimConfig:
    """The config of one arm and seed, validated as a whole (names, values and work limits)."""
    changed = cfg.model_copy(update={"selector": selector, "seed": seed, "regime": "archive"})
    return parse_config(changed.model_dump(by_alias=True), source=f"study arm {selector!r}, seed {seed}")


def study_tables(runs: Mapping[str, Mapping[int, Path]], rules: Sequence[str]) -> StudyResult:
    """The study's three tables from its finished archive runs (selector -> seed -> run directory).

    ``curves``: :func:`~spawn.experiments.curves.best_against_budget` of each selector's seeds;
    ``predictiveness``: :func:`pooled_predictiveness` over every run; ``final``: per run the best
    value and agent after the last batch (the root's when there was none) and how many agents.
    """
    curves: dict[str, list[pd.Series]] = {}
    finals: list[dict[str, Any]] = []
    for selector, by_seed in runs.items():
        for seed, run in by_seed.items():
            lineage = LineageGraph.load(RunDir(run).lineage)
            batches = pd.read_csv(run / "batches.csv", dtype={"best_agent": str})  # "0.10" stays an id
            root = lineage.attributes("0")
            root_value = float(root.get("value", np.nan))
            if (run / "steps.csv").is_file():
                curve = steps_curve(pd.read_csv(run / "steps.csv", usecols=["total_steps", "best_value"]))
            else:  # a run of an older version: against training steps
                curve = run_curve(int(root.get("train_steps", 0)), root_value, batches)
            curves.setdefault(selector, []).append(curve)
            last = batches.iloc[-1] if len(batches) else None
            finals.append(
                {
                    "selector": selector,
                    "seed": seed,
                    "best_value": float(last["best_value"]) if last is not None else root_value,
                    "best_agent": str(last["best_agent"]) if last is not None else "0",
                    "agents": len(lineage),
                    "spent": int(curve.index[-1]),
                    "test_value": _test_value(run),
                }
            )
    predictive = arm_predictiveness(runs, rules)
    return StudyResult(best_against_budget(curves), predictive, pd.DataFrame(finals))


def _test_value(run: Path) -> float:
    """The best agent's value on held-out episodes (``[archive] test_episodes``), NaN without one."""
    if not (run / "summary.json").is_file():
        return float("nan")
    test = json.loads((run / "summary.json").read_text()).get("archive_best", {}).get("test_value")
    return float("nan") if test is None else float(test)


def arm_predictiveness(
    runs: Mapping[str, Mapping[int, Path]], rules: Sequence[str], target: str = "clade"
) -> pd.DataFrame:
    """How well each rule's credit predicts the clade's final best value, per arm (HGM's check of a
    selector's estimate, on the archives that selector grew): ``selector, rule, correlation`` (the
    arm's seeds' pairs pooled, :func:`pooled_predictiveness`), ``mean, lo, hi`` (each seed's own
    correlation, mean and 95% t-interval over the seeds where it is defined), ``seeds``, ``pairs``;
    then the same pooled over every arm, as selector ``all``. ``target``: see :data:`TARGETS`."""
    pairs = {sel: [predictiveness(run, rules, target) for run in by_seed.values()] for sel, by_seed in runs.items()}
    pairs["all"] = [t for sel in runs for t in pairs[sel]]
    rows: list[dict[str, Any]] = []
    for selector, triples in pairs.items():
        for rule in rules:
            corr, n = _correlation([t[rule] for t in triples])
            each = np.array([_correlation([t[rule]])[0] for t in triples]) if selector != "all" else np.array([])
            each = each[np.isfinite(each)]
            mean, lo, hi = t_interval(each) if len(each) else (math.nan, math.nan, math.nan)
            rows.append(
                {"selector": selector, "rule": rule, "correlation": corr}
                | {"mean": mean, "lo": lo, "hi": hi, "seeds": len(each), "pairs": n}
            )
    return pd.DataFrame(rows, columns=list(PREDICTIVENESS_COLUMNS))


def sweep_predictiveness(
    sweep_dir: str | Path, rules: Sequence[str] = DEFAULT_RULES, target: str = "clade"
) -> pd.DataFrame:
    """:func:`arm_predictiveness` of a finished sweep of archive runs (``lineage-sim run`` of a config
    with ``[sweep]``, such as ``examples/selection.toml``), one arm per sweep arm."""
    from spawn.experiments.compare_sweep import sweep_runs

    for rule in rules:
        check_rule(rule)
    runs = {arm: {seed: lineage.parent for seed, lineage in seeds} for arm, seeds in sweep_runs(sweep_dir).items()}
    return arm_predictiveness(runs, rules, target)
