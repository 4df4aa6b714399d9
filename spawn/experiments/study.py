"""Studies over selectors: the same archive config under several selectors and seeds, compared.

For every (selector, seed) a normal run directory ``DIR/<selector>/seed-<s>/`` is written. The
study then reports, per selector, the best value found against the budget spent (mean and 95%
interval over seeds), and, for each attribution rule, how well the rule's credit at each batch
predicts the best value that agent's clade reached by the end (HGM's check of which estimate
predicts metaproductivity): a weighted Pearson correlation over every (batch, agent) pair,
each batch weighing as much as any other.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attribution.intervals import t_interval
from lineage import LineageGraph, atomic_write
from spawn.config import SimConfig, check_rule, parse_config
from spawn.config.arms import arm_slug
from spawn.run.driver import prepare_run_dir, simulate
from spawn.runtimes import make_executor

__all__ = ["DEFAULT_RULES", "StudyResult", "arm_slug", "predictiveness", "selector_study", "weighted_correlation"]

DEFAULT_RULES = ("self", "discounted", "clade-mean", "cmp", "best-descendant")


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


def _members_by_batch(run: Path) -> list[list[str]]:
    """Agents present after each batch (batch -1: the root alone)."""
    members = ["0"]
    out = [list(members)]
    with (run / "batches.csv").open() as fh:
        for row in csv.DictReader(fh):
            members += row["children"].split()
            out.append(list(members))
    return out


def predictiveness(run: Path, rules: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per rule: credit at each batch, the clade's final best value, and the weights (one run)."""
    from attribution import parse_rule

    full = LineageGraph.load(run / "lineage.json")
    final_best = full.clade_max("value")
    out: dict[str, tuple[list[float], list[float], list[float]]] = {r: ([], [], []) for r in rules}
    for members in _members_by_batch(run)[:-1]:  # the last state has no future to predict
        keep = set(members)
        g = LineageGraph()
        for a in full:
            if a in keep:
                p = full.parent(a)
                g.add_agent(a, parent=p, operator=full.operator(a) if p else None, **full.attributes(a))
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


@dataclass(frozen=True)
class StudyResult:
    curves: pd.DataFrame  # selector, spent, mean, lo, hi, n
    predictiveness: pd.DataFrame  # rule, correlation, pairs
    final: pd.DataFrame  # selector, seed, best_value, best_agent, agents


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
    """
    out = Path(out)
    for selector in selectors:  # every arm, and every rule, checked before anything is written
        for seed in seeds:
            _arm(cfg, selector, seed)
    for rule in rules:
        check_rule(rule)
    rd = prepare_run_dir(out, force, kind="study")
    try:
        result = _study(cfg, selectors, seeds, out, rules, runtime, runtime_options, progress)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            rd.release()
        else:
            rd.undo()
        raise
    rd.release()
    return result


def _arm(cfg: SimConfig, selector: str, seed: int) -> SimConfig:
    """The config of one arm and seed, validated as a whole (names, values and work limits)."""
    changed = cfg.model_copy(update={"selector": selector, "seed": seed, "regime": "archive"})
    return parse_config(changed.model_dump(by_alias=True), source=f"study arm {selector!r}, seed {seed}")


def _study(
    cfg: SimConfig,
    selectors: Sequence[str],
    seeds: Sequence[int],
    out: Path,
    rules: Sequence[str],
    runtime: str,
    runtime_options: dict[str, Any] | None,
    progress: bool,
) -> StudyResult:
    finals: list[dict[str, Any]] = []
    curve_rows: list[dict[str, Any]] = []
    pooled: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {r: [] for r in rules}
    for selector in selectors:
        best_by_spent: dict[int, list[float]] = {}
        for seed in seeds:
            arm = _arm(cfg, selector, seed)
            run = out / arm_slug(selector) / f"seed-{seed}"
            executor = make_executor(runtime, **(runtime_options or {}))
            outcome = simulate(arm, run, executor, progress=progress)
            assert outcome.lineage is not None
            batches = pd.read_csv(run / "batches.csv")
            root = outcome.lineage.attributes("0")
            best_by_spent.setdefault(int(root["train_steps"]), []).append(float(root.get("value", np.nan)))
            for spent, best in zip(batches["spent"], batches["best_value"], strict=True):
                best_by_spent.setdefault(int(spent), []).append(float(best))
            s = outcome.lineage.summary()
            last = batches.iloc[-1] if len(batches) else None
            finals.append(
                {
                    "selector": selector,
                    "seed": seed,
                    "best_value": float(last["best_value"]) if last is not None else float(root.get("value", np.nan)),
                    "best_agent": str(last["best_agent"]) if last is not None else "0",
                    "agents": s["agents"],
                }
            )
            for rule, triple in predictiveness(run, rules).items():
                pooled[rule].append(triple)
        for spent in sorted(best_by_spent):
            vals = np.array(best_by_spent[spent])
            mean, lo, hi = t_interval(vals)
            curve_rows.append({"selector": selector, "spent": spent, "mean": mean, "lo": lo, "hi": hi, "n": len(vals)})
    pred_rows = []
    for rule, triples in pooled.items():
        x = np.concatenate([t[0] for t in triples]) if triples else np.array([])
        y = np.concatenate([t[1] for t in triples]) if triples else np.array([])
        w = np.concatenate([t[2] for t in triples]) if triples else np.array([])
        corr = weighted_correlation(x, y, w) if len(x) > 1 else float("nan")
        pred_rows.append({"rule": rule, "correlation": corr, "pairs": len(x)})
    result = StudyResult(pd.DataFrame(curve_rows), pd.DataFrame(pred_rows), pd.DataFrame(finals))
    for name, frame in (
        ("study.csv", result.curves),
        ("predictiveness.csv", result.predictiveness),
        ("final.csv", result.final),
    ):
        buf = io.StringIO()
        frame.to_csv(buf, index=False, float_format="%.12g", lineterminator="\n")
        atomic_write(out / name, buf.getvalue())
    return result
