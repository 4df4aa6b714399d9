"""A selector study's numbers on runs built by hand, where every one of them is worked out below.

Run A (see ``runs.py``): root 0 (value 0.2); batch 0 makes 0.0 (0.6) and 0.1 (0.1); batch 1 makes
0.0.0 (0.8). Its clades' best values at the end: 0 -> 0.8, 0.0 -> 0.8, 0.1 -> 0.1, 0.0.0 -> 0.8.
Predictiveness looks at every state but the last: {0} and {0, 0.0, 0.1}, each state weighing 1 in
all (so 1 per agent in the first, 1/3 in the second).

Run B: root 0 (0.5); batch 0 makes 0.10 (0.9). One state, {0}, whose clade reaches 0.9.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from spawn.experiments.study import pooled_predictiveness, predictiveness, study_tables, weighted_correlation

from .runs import run_a, run_b, run_c

THIRD = 1 / 3


def test_predictiveness_pairs_of_one_run(tmp_path: Path) -> None:
    pairs = predictiveness(run_a(tmp_path / "a"), ["self", "best-descendant", "best-descendant:include_self=false"])
    x, y, w = pairs["self"]  # each agent's own value then, against its clade's best at the end
    assert x.tolist() == [0.2, 0.2, 0.6, 0.1]
    assert y.tolist() == [0.8, 0.8, 0.8, 0.1]
    assert w.tolist() == [1.0, THIRD, THIRD, THIRD]
    x, y, w = pairs["best-descendant"]  # the best value in the clade as it was then: the root's is 0.6
    assert x.tolist() == [0.2, 0.6, 0.6, 0.1]
    assert y.tolist() == [0.8, 0.8, 0.8, 0.1]
    assert w.tolist() == [1.0, THIRD, THIRD, THIRD]
    # Descendants only: NaN for a leaf, so only the root of the second state has a pair, still 1/3.
    x, y, w = pairs["best-descendant:include_self=false"]
    assert (x.tolist(), y.tolist(), w.tolist()) == ([0.6], [0.8], [THIRD])


def test_predictiveness_against_descendants_only_hgms_empirical_cmp(tmp_path: Path) -> None:
    # Descendants' best final values: 0 -> 0.8 (0.0.0, through 0.0), 0.0 -> 0.8, 0.1 none (a leaf).
    x, y, w = predictiveness(run_a(tmp_path / "a"), ["self"], target="descendants")["self"]
    assert (x.tolist(), y.tolist(), w.tolist()) == ([0.2, 0.2, 0.6], [0.8, 0.8, 0.8], [1.0, THIRD, THIRD])
    with pytest.raises(ValueError, match="'kids' is not one of clade, descendants"):
        predictiveness(tmp_path / "a", ["self"], target="kids")


def test_predictiveness_of_a_run_by_hand(tmp_path: Path) -> None:
    # self, in tenths: x = 2, 2, 6, 1; y = 8, 8, 8, 1; weights 1/2, 1/6, 1/6, 1/6 (normalised).
    # Means 5/2 and 41/6; covariance 7/4; variances 31/12 and 245/36: r = 7/4 / sqrt(31/12 * 245/36)
    # = sqrt(27/155). best-descendant: x = 2, 6, 6, 1; means 19/6 and 41/6; covariance 91/36;
    # variances 149/36 and 245/36: r = 91 / sqrt(149 * 245) = 13 / sqrt(745).
    table = pooled_predictiveness([run_a(tmp_path / "a")], ["self", "best-descendant"])
    assert list(table.rule) == ["self", "best-descendant"] and list(table.pairs) == [4, 4]
    assert table.correlation.tolist() == pytest.approx([math.sqrt(27 / 155), 13 / math.sqrt(745)], abs=1e-12)


def test_predictiveness_pooled_over_runs_by_hand(tmp_path: Path) -> None:
    # Run B adds the pair (5, 9) weighing 1, as much as each of run A's states: weights 1/4, 1/12,
    # 1/12, 1/12, 1/4. self: means 10/3 and 68/9, covariance 64/27, variances 28/9 and 452/81:
    # r = 16 / sqrt(791). best-descendant: means 34/9 and 68/9, covariance 208/81, variances 284/81
    # and 452/81: r = 52 / sqrt(8023). Descendants only: one pair in all (run B's root is a leaf
    # then), too few for a correlation. cmp: no agent has trials, so no pair at all.
    runs = [run_a(tmp_path / "a"), run_b(tmp_path / "b")]
    rules = ["self", "best-descendant", "best-descendant:include_self=false", "cmp"]
    table = pooled_predictiveness(runs, rules)
    assert list(table.rule) == rules and list(table.pairs) == [5, 5, 1, 0]
    expected = [16 / math.sqrt(791), 52 / math.sqrt(8023)]
    assert table.correlation[:2].tolist() == pytest.approx(expected, abs=1e-12)
    assert table.correlation[2:].isna().all()


def test_study_tables_by_hand(tmp_path: Path) -> None:
    runs = {"greedy": {1: run_a(tmp_path / "a"), 2: run_b(tmp_path / "b")}, "hgm": {3: run_c(tmp_path / "c")}}
    result = study_tables(runs, ["self"])
    # Run A's best so far is 0.2 at 100 steps, 0.6 at 300, 0.8 at 400; run B's 0.5 at 100, 0.9 at
    # 200. On the union of their budget points each holds its last best: A 0.2, 0.2, 0.6, 0.8 and
    # B 0.5, 0.9, 0.9, 0.9, so both seeds count everywhere and the mean never falls.
    curves = result.curves
    assert list(curves.columns) == ["selector", "spent", "mean", "lo", "hi", "n"]
    greedy = curves[curves.selector == "greedy"]
    assert greedy.spent.tolist() == [100, 200, 300, 400] and greedy.n.tolist() == [2, 2, 2, 2]
    assert greedy["mean"].tolist() == pytest.approx([0.35, 0.55, 0.75, 0.85], abs=1e-12)
    half = stats.t.ppf(0.975, 1) * np.array([0.3, 0.7, 0.3, 0.1]) / 2  # t * sd / sqrt(2), sd = |a - b| / sqrt(2)
    assert greedy.hi.to_numpy() - greedy["mean"].to_numpy() == pytest.approx(half, abs=1e-9)
    assert greedy["mean"].to_numpy() - greedy.lo.to_numpy() == pytest.approx(half, abs=1e-9)
    hgm = curves[curves.selector == "hgm"]
    assert hgm[["spent", "mean", "lo", "hi", "n"]].values.tolist() == [[100, 0.4, 0.4, 0.4, 1]]
    # The best agent's id is read as text: 0.10 (the root's eleventh child) is not the number 0.1.
    assert result.final.test_value.isna().all()  # no held-out test in these runs
    assert result.final.drop(columns="test_value").to_dict("records") == [
        {"selector": "greedy", "seed": 1, "best_value": 0.8, "best_agent": "0.0.0", "agents": 4, "spent": 400},
        {"selector": "greedy", "seed": 2, "best_value": 0.9, "best_agent": "0.10", "agents": 2, "spent": 200},
        {"selector": "hgm", "seed": 3, "best_value": 0.4, "best_agent": "0", "agents": 1, "spent": 100},  # the root
    ]
    # Per selector: greedy pools runs A and B (16 / sqrt(791), as above); its seeds' own correlations
    # are run A's sqrt(27/155) and none for run B (one pair), so one seed counts. hgm's run C has no
    # state with a future: no pair. "all" pools every run.
    table = result.predictiveness
    assert list(table.columns) == ["selector", "rule", "correlation", "mean", "lo", "hi", "seeds", "pairs"]
    greedy, hgm, pooled = (table[table.selector == s].iloc[0] for s in ("greedy", "hgm", "all"))
    assert greedy.correlation == pytest.approx(16 / math.sqrt(791), abs=1e-12) and greedy.pairs == 5
    assert (greedy["mean"], greedy.lo, greedy.hi) == pytest.approx((math.sqrt(27 / 155),) * 3, abs=1e-12)
    assert greedy.seeds == 1
    assert math.isnan(hgm.correlation) and hgm.pairs == 0 and hgm.seeds == 0
    assert pooled.correlation == pytest.approx(16 / math.sqrt(791), abs=1e-12) and pooled.pairs == 5


def _reference(x: list[float], y: list[float], w: list[float]) -> float:
    """The weighted Pearson correlation by its definition, one term at a time in exact fractions."""
    xs, ys, ws = ([Fraction(v) for v in vs] for vs in (x, y, w))
    total = sum(ws)
    mx = sum(wi * xi for wi, xi in zip(ws, xs, strict=True)) / total
    my = sum(wi * yi for wi, yi in zip(ws, ys, strict=True)) / total
    cov = sum(wi * (xi - mx) * (yi - my) for wi, xi, yi in zip(ws, xs, ys, strict=True)) / total
    vx = sum(wi * (xi - mx) ** 2 for wi, xi in zip(ws, xs, strict=True)) / total
    vy = sum(wi * (yi - my) ** 2 for wi, yi in zip(ws, ys, strict=True)) / total
    if vx == 0 or vy == 0:
        return math.nan
    return float(cov) / math.sqrt(float(vx) * float(vy))


def test_weighted_correlation_matches_the_definition_on_small_cases() -> None:
    rng = np.random.default_rng(7)
    cases = [
        ([1.0, 2.0], [3.0, 1.0], [1.0, 1.0]),  # two points: -1
        ([0.2, 0.2, 0.6, 0.1], [0.8, 0.8, 0.8, 0.1], [1.0, THIRD, THIRD, THIRD]),
        ([1.0, 2.0, 3.0, 4.0], [1.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.5, 1.0]),  # a zero weight
        ([5.0, 5.0, 5.0], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0]),  # x constant: NaN
        ([1.0, 2.0, 3.0], [4.0, 4.0, 4.0], [1.0, 2.0, 3.0]),  # y constant: NaN
        ([1.0, 2.0, 3.0], [1.0, 5.0, 9.0], [0.0, 0.0, 1.0]),  # one point weighs: NaN
    ]
    for n in (2, 3, 4, 5, 6, 6, 7):
        cases.append((rng.normal(size=n).tolist(), rng.normal(size=n).tolist(), rng.random(n).tolist()))
        cases.append((rng.integers(0, 3, n).astype(float).tolist(), rng.normal(size=n).tolist(), [1.0] * n))
    for x, y, w in cases:
        got = weighted_correlation(np.array(x), np.array(y), np.array(w))
        want = _reference(x, y, w)
        if math.isnan(want):
            assert math.isnan(got), (x, y, w)
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12), (x, y, w)
    assert _reference([1.0, 2.0], [3.0, 1.0], [1.0, 1.0]) == -1.0


def test_weighted_correlation_with_whole_weights_is_that_of_repeated_points() -> None:
    rng = np.random.default_rng(11)
    for n in (3, 4, 8):
        x, y = rng.normal(size=n), rng.normal(size=n)
        counts = rng.integers(1, 4, n)
        repeated = np.corrcoef(np.repeat(x, counts), np.repeat(y, counts))[0, 1]
        assert weighted_correlation(x, y, counts.astype(float)) == pytest.approx(repeated, rel=1e-12)
        assert weighted_correlation(x, y, 5.0 * counts) == pytest.approx(repeated, rel=1e-12)  # scale-free

