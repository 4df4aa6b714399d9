"""AIQ statistics: allocation, the stratified mean and its interval, paired differences, aligned scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attribution import (
    ValueDataError,
    aligned_scores,
    paired_difference,
    proportional_allocation,
    stratified_estimate,
)


def test_allocation_is_proportional_with_a_floor() -> None:
    p = np.array([0.0, 0.1755, 0.1042, 0.0053, 0.7150])
    x = proportional_allocation(p, 1000)
    assert x[0] == 0 and x.sum() == 1000 and (x[1:] >= 2).all()
    assert np.abs(x[1:] - 2 - (1000 - 8) * p[1:] / p.sum()).max() < 1.0
    assert proportional_allocation(p, 3).tolist() == [0, 2, 2, 2, 2]  # the floor wins
    with pytest.raises(ValueDataError):
        proportional_allocation([0.0, -1.0], 10)


def test_one_stratum_is_the_plain_mean_with_a_t_free_interval() -> None:
    rng = np.random.default_rng(0)
    pairs = rng.normal(10, 5, size=(50, 2))
    est = stratified_estimate([0.0, 1.0], [[], pairs])
    values = pairs.mean(axis=1)
    assert est.estimate == pytest.approx(values.mean())
    assert est.half_width == pytest.approx(1.959964 * values.std(ddof=1) / math.sqrt(50), rel=1e-6)
    assert est.reference_half_width == pytest.approx(1.959964 * values.std(ddof=1) / math.sqrt(100), rel=1e-6)
    assert est.n == (0, 50) and est.programs == 50


def test_nan_pairs_are_dropped_and_weights_renormalised_over_strata_with_data() -> None:
    est = stratified_estimate([0.5, 0.25, 0.25], [[[1, 1], [math.nan, 3]], [[5, 5], [7, 7]], []])
    assert est.n == (1, 2, 0)
    assert est.missing_weight == pytest.approx(0.25)
    assert est.estimate == pytest.approx((0.5 * 1 + 0.25 * 6) / 0.75)
    assert np.isfinite(est.half_width)  # a one-program stratum borrows the largest other sd


def test_interval_covers_the_truth_about_95_percent() -> None:
    rng = np.random.default_rng(1)
    p = np.array([0.0, 0.6, 0.3, 0.1])
    mu = np.array([0.0, 40.0, -10.0, 80.0])
    truth = float(p @ mu)
    alloc = proportional_allocation(p, 60)
    hits = 0
    for _ in range(1000):
        pairs = [rng.normal(mu[i], 20, size=(alloc[i], 2)) for i in range(4)]
        lo, hi = stratified_estimate(p, pairs).ci95
        hits += lo <= truth <= hi
    assert 0.92 <= hits / 1000 <= 0.975


def test_paired_difference_uses_common_programs_and_beats_unpaired() -> None:
    rng = np.random.default_rng(2)
    base = rng.normal(0, 30, size=(200, 1))
    a = base + 2 + rng.normal(0, 1, size=(200, 2))
    b = base + rng.normal(0, 1, size=(200, 2))
    d = paired_difference([0.0, 1.0], [[], a], [[], b])
    assert d.ci95[0] > 0 and d.estimate == pytest.approx(2, abs=0.3)
    unpaired = stratified_estimate([0.0, 1.0], [[], a]).half_width
    assert d.half_width < unpaired / 5
    b[3, 0] = math.nan
    assert paired_difference([0.0, 1.0], [[], a], [[], b]).n == (0, 199)
    with pytest.raises(ValueDataError):
        paired_difference([0.0, 1.0], [[], a], [[], b[:10]])


def test_aligned_scores() -> None:
    assert aligned_scores([40.0], [0.0]).tolist() == [40.0]
    assert aligned_scores([100.0, 60.0], [1.0, 2.0]).tolist() == pytest.approx([0.0, -60.0])
    with pytest.raises(ValueDataError):
        aligned_scores([10.0], [-1.0])


def test_aligned_scores_keep_a_run_without_a_constitution() -> None:
    # NaN distance: no constitution, D = 0 (the old code turned the score into NaN, dropping the run).
    out = aligned_scores([40.0, 60.0, math.nan], [math.nan, 1.0, 0.0])
    assert out[:2].tolist() == pytest.approx([40.0, -20.0]) and math.isnan(out[2])
