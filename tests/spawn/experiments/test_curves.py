"""The one best-against-budget curve: a run's step curve, and an arm's seeds aligned on their budget points."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from spawn.experiments.curves import CURVE_COLUMNS, best_against_budget, run_curve


def _batches(*rows: tuple[int, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["spent", "best_value"])


def test_run_curve_is_a_running_maximum_from_the_root() -> None:
    curve = run_curve(100, 0.3, _batches((250, 0.2), (400, 0.7), (400, 0.6), (500, 0.5)))
    # The root first; a budget point given twice keeps its last value; the curve never falls.
    assert curve.to_dict() == {100: 0.3, 250: 0.3, 400: 0.6, 500: 0.6}
    assert run_curve(100, 0.3, _batches()).to_dict() == {100: 0.3}


def test_seeds_are_aligned_on_the_union_of_their_budget_points() -> None:
    a = run_curve(100, 0.2, _batches((300, 0.6), (400, 0.8)))
    b = run_curve(100, 0.5, _batches((200, 0.9)))  # stopped early: its best so far still holds later
    late = run_curve(200, 0.1, _batches((400, 0.3)))  # a root that trained longer counts from 200 on
    table = best_against_budget({"x": [a, b], "y": [a, late], "none": []})
    assert list(table.columns) == list(CURVE_COLUMNS)
    x = table[table.selector == "x"]
    assert x.spent.tolist() == [100, 200, 300, 400] and x.n.tolist() == [2, 2, 2, 2]
    assert x["mean"].tolist() == pytest.approx([0.35, 0.55, 0.75, 0.85], abs=1e-12)
    y = table[table.selector == "y"]
    assert y.spent.tolist() == [100, 200, 300, 400] and y.n.tolist() == [1, 2, 2, 2]
    assert y["mean"].tolist() == pytest.approx([0.2, 0.15, 0.35, 0.55], abs=1e-12)
    assert (y.lo.iloc[0], y.hi.iloc[0]) == (0.2, 0.2)  # one seed: no interval
    assert "none" not in set(table.selector)  # an arm without runs gives no rows


def test_a_root_without_a_value_counts_once_a_batch_has_one() -> None:
    unvalued = run_curve(100, math.nan, _batches((200, 0.4)))
    table = best_against_budget({"x": [unvalued, run_curve(100, 0.2, _batches())]})
    assert table.n.tolist() == [1, 2] and table["mean"].tolist() == pytest.approx([0.2, 0.3], abs=1e-12)
