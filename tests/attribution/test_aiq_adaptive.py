"""The adaptive stratified estimator (AIQ notes, section 4.2): the reference's numbers, a slow transcription."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from attribution import ValueDataError, stratified_estimate
from attribution.aiq import (
    STAGE_MULTIPLES,
    adaptive_allocation,
    adaptive_estimate,
    adaptive_stages,
    pair_sds,
)

Z = 1.959963984540054  # the reference's 1.96, to the precision attribution.aiq uses everywhere


# ---------------------------------------------------------------------- slow transcriptions
def slow_stages(a: int, max_samples: int) -> list[int]:
    n = [0, 3 * a, 6 * a, 10 * a, 20 * a, 30 * a, 50 * a, 70 * a, 100 * a, 250 * a, 500 * a, 750 * a]
    n += [1000 * a, 1250 * a, 1500 * a, 1750 * a, 2000 * a, 2500 * a, 3000 * a, 3500 * a, 4000 * a, 5000 * a]
    for i in range(len(n)):
        if n[i] + a >= max_samples:
            n[i] = max_samples
            return n[: i + 1]
    return n


def slow_allocation(p: list[float], s: list[float], n_k: int, n_k1: int) -> list[int]:
    a = 0
    for x in p:
        a += math.ceil(x)
    total = 0.0
    for i in range(len(p)):
        total += p[i] * s[i]
    m = [p[i] * s[i] / total * (n_k - n_k1 - 2.0 * a) / 2.0 for i in range(len(p))]
    x = [math.floor(m[0])]
    for i in range(1, len(p)):
        x.append(max(math.floor(sum(m[: i + 1]) + 0.001) - math.floor(sum(m[:i])), 0))
    return [2 * x[i] + 2 * math.ceil(p[i]) for i in range(len(p))]


def slow_sds(p: list[float], pairs: list[list[tuple[float, float]]]) -> list[float]:
    out = []
    for i in range(len(p)):
        if p[i] > 0 and 2 * len(pairs[i]) > 2:
            r1 = [a for a, _ in pairs[i]]
            r2 = [b for _, b in pairs[i]]
            s1, s2 = statistics.stdev(r1), statistics.stdev(r2)
            out.append(math.sqrt(0.25 * (s1 * s1 + s2 * s2 + 2.0 * statistics.covariance(r1, r2))))
        else:
            out.append(1.0)
    return out


def slow_estimate(p: list[float], pairs: list[list[tuple[float, float]]], n_k: int) -> tuple[float, float, float]:
    """(estimate, correct half-width, reference half-width)."""
    est = 0.0
    var = 0.0
    sds = [statistics.stdev([(a + b) / 2 for a, b in y]) if len(y) > 1 else math.nan for y in pairs]
    fallback = max(x for x in sds if not math.isnan(x))
    for i in range(len(p)):
        if p[i] > 0:
            runs = [v for pair in pairs[i] for v in pair]
            est += p[i] / len(runs) * sum(runs)
            sd = fallback if math.isnan(sds[i]) else sds[i]
            var += p[i] ** 2 * sd**2 / len(pairs[i])
    ref = Z * sum(pi * si for pi, si in zip(p, slow_sds(p, pairs), strict=True)) / math.sqrt(n_k)
    return est, Z * math.sqrt(var), ref


def random_case(rng: np.random.Generator, strata: int = 21) -> tuple[list[float], list[list[tuple[float, float]]]]:
    w = rng.dirichlet(np.ones(strata - 1)) * (rng.random(strata - 1) > 0.2)
    w[rng.integers(strata - 1)] += 0.1
    p = [0.0, *(w / w.sum()).tolist()]
    pairs = []
    for i in range(strata):
        k = int(rng.integers(1, 12)) if p[i] > 0 else 0
        mu, sd = rng.uniform(-80, 80), rng.uniform(0, 40)
        pairs.append([(float(a), float(b)) for a, b in rng.normal(mu, sd, size=(k, 2)).round(2)])
    return p, pairs


# ---------------------------------------------------------------------- the reference's numbers
def test_stage_totals_are_the_worked_examples() -> None:
    assert adaptive_stages(20, 1000) == [0, 60, 120, 200, 400, 600, 1000]
    assert adaptive_stages(20, 10000) == [0, 60, 120, 200, 400, 600, 1000, 1400, 2000, 5000, 10000]
    assert adaptive_stages(20, 240) == [0, 60, 120, 200, 240]  # 400 + 20 >= 240
    assert adaptive_stages(20, 20) == [20]  # no stage at all: the reference prints nothing
    assert adaptive_stages(1, 10**6) == list(STAGE_MULTIPLES)  # beyond 4999 A it stops at 5000 A
    for a, samples in [(1, 1), (3, 17), (7, 700), (20, 40_000), (19, 99_999), (20, 100_020)]:
        assert adaptive_stages(a, samples) == slow_stages(a, samples)
    with pytest.raises(ValueDataError):
        adaptive_stages(0, 100)


def test_first_stage_is_proportional_with_the_minimum() -> None:
    p = np.array([0.0, 0.1755, 0.1042, 0.0249, 0.0053, 0.6901])
    m = adaptive_allocation(p, np.ones(6), 3 * 5)  # A = 5: 15 - 10 = 5 runs to share, 2.5 pairs
    assert m.tolist() == slow_allocation(p.tolist(), [1.0] * 6, 15, 0)
    assert m[0] == 0 and (m[1:] >= 2).all() and (m % 2 == 0).all()
    big = adaptive_allocation(p, np.ones(6), 10_000)
    assert abs(int(big.sum()) - 10_000) <= 2
    assert np.abs(big[1:] / 2 - 1 - p[1:] * (10_000 - 10) / 2).max() < 1.0


def test_allocation_follows_p_times_s() -> None:
    p = [0.0, 0.5, 0.5]
    m = adaptive_allocation(p, [1.0, 10.0, 30.0], 2 * 2 + 400)
    assert m.tolist() == [0, 2 + 100, 2 + 300]  # Neyman: in proportion to p s
    assert adaptive_allocation(p, [1.0, 0.0, 0.0], 24).tolist() == [0, 12, 12]  # all s = 0: back to p
    quirk = adaptive_allocation([0.0, 0.5, 0.3, 0.2], [1.0, 0.0, 2.0, 1.0], 30).tolist()
    assert quirk == slow_allocation([0.0, 0.5, 0.3, 0.2], [1.0, 0.0, 2.0, 1.0], 30, 0) == [0, 2, 20, 10]
    with pytest.raises(ValueDataError):
        adaptive_allocation(p, [1.0, -1.0, 1.0], 24)
    with pytest.raises(ValueDataError):
        adaptive_allocation(p, [1.0, 1.0], 24)


@pytest.mark.parametrize("seed", range(40))
def test_allocation_matches_the_slow_transcription(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p, _ = random_case(rng)
    s = rng.uniform(0, 50, size=len(p)) * (rng.random(len(p)) > 0.1)
    a = sum(math.ceil(x) for x in p)
    stages = slow_stages(a, int(rng.integers(a + 1, 40 * a)))
    for k in range(1, len(stages)):
        runs = stages[k] - stages[k - 1]
        assert adaptive_allocation(p, s, runs).tolist() == slow_allocation(p, s.tolist(), stages[k], stages[k - 1])


@pytest.mark.parametrize("seed", range(20))
def test_first_stages_of_pool_shares_match_the_slow_transcription(seed: int) -> None:
    """Shares of integer counts (like a pool's ``p``) put cumulative sums on integers, where the +0.001 bites."""
    rng = np.random.default_rng(200 + seed)
    counts = rng.integers(0, 6, size=21) * 50
    counts[0], counts[1] = 0, counts[1] + 50
    p = (counts / counts.sum()).tolist()
    a = sum(math.ceil(x) for x in p)
    for runs in range(2 * a, 2 * a + 200, 7):
        assert adaptive_allocation(p, np.ones(21), runs).tolist() == slow_allocation(p, [1.0] * 21, runs, 0)


@pytest.mark.parametrize("seed", range(40))
def test_sds_and_estimate_match_the_slow_transcription(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    p, pairs = random_case(rng)
    assert pair_sds(p, pairs) == pytest.approx(slow_sds(p, pairs), rel=1e-9, abs=1e-9)
    n_k = 2 * sum(len(y) for y in pairs) + int(rng.integers(-3, 4))
    got = adaptive_estimate(p, pairs, n_k)
    est, half, ref = slow_estimate(p, pairs, n_k)
    assert got.estimate == pytest.approx(est, rel=1e-12, abs=1e-9)
    assert got.half_width == pytest.approx(half, rel=1e-9)
    assert got.reference_half_width == pytest.approx(ref, rel=1e-9)
    assert got.ci95 == pytest.approx((est - half, est + half), rel=1e-9, abs=1e-9)
    assert got.n == tuple(len(y) for y in pairs)
    plain = stratified_estimate(p, pairs)  # same point estimate and interval, another stage total
    assert plain.estimate == pytest.approx(got.estimate, abs=1e-9)
    assert plain.half_width == pytest.approx(got.half_width, rel=1e-12)


def test_pair_sd_is_the_sd_of_the_pair_mean() -> None:
    rng = np.random.default_rng(7)
    y = rng.normal(0, 10, size=(30, 2))
    assert pair_sds([0.0, 1.0], [[], y])[1] == pytest.approx(y.mean(axis=1).std(ddof=1), rel=1e-12)
    assert pair_sds([0.0, 1.0], [[], y[:1]]).tolist() == [1.0, 1.0]  # one pair: 1
    mirror = np.column_stack([y[:, 0], -y[:, 0]])  # pair means all 0: no negative variance, no NaN
    assert pair_sds([0.0, 1.0], [[], mirror])[1] == pytest.approx(0.0, abs=1e-6)
    with_nan = np.vstack([y, [[math.nan, 1.0]]])
    assert pair_sds([0.0, 1.0], [[], with_nan])[1] == pair_sds([0.0, 1.0], [[], y])[1]


def test_estimate_needs_every_live_stratum() -> None:
    with pytest.raises(ValueDataError, match="no pairs"):
        adaptive_estimate([0.0, 0.5, 0.5], [[], [[1, 2]], []])
    with pytest.raises(ValueDataError):
        adaptive_estimate([0.0, 1.0], [[], [[1, 2]]], 0)


def _run_adaptive(rng: np.random.Generator, p: np.ndarray, mu: np.ndarray, sd: np.ndarray, samples: int):
    """The stage loop of the reference on normal pairs (programs of stratum i have value ~ N(mu, sd))."""
    stages = adaptive_stages(int(np.ceil(p).sum()), samples)
    s = np.ones(len(p))
    pairs: list[np.ndarray] = [np.zeros((0, 2)) for _ in p]
    for k in range(1, len(stages)):
        m = adaptive_allocation(p, s, stages[k] - stages[k - 1])
        for i in range(1, len(p)):
            v = rng.normal(mu[i], sd[i], size=(m[i] // 2, 1))
            pairs[i] = np.vstack([pairs[i], v + rng.normal(0, 1, size=(m[i] // 2, 2))])
        s = pair_sds(p, pairs)
    return adaptive_estimate(p, pairs, stages[-1])


def test_adaptive_interval_covers_the_truth_and_beats_proportional_when_sds_differ() -> None:
    rng = np.random.default_rng(11)
    p = np.array([0.0, 0.4, 0.3, 0.2, 0.1])
    mu = np.array([0.0, 40.0, -10.0, 80.0, 5.0])
    sd = np.array([0.0, 1.0, 2.0, 40.0, 30.0])
    truth = float(p @ mu)
    ests, hits = [], 0
    for _ in range(300):
        e = _run_adaptive(rng, p, mu, sd, 400)
        ests.append(e.estimate)
        hits += e.ci95[0] <= truth <= e.ci95[1]
        assert e.reference_half_width > 0
    assert 0.90 <= hits / 300 <= 0.99
    assert abs(np.mean(ests) - truth) < 0.2
    counts = [round(200 * x) for x in p]  # the same 200 programs, in proportion to p
    prop = []
    for _ in range(300):
        pairs = [rng.normal(mu[i], sd[i], size=(c, 1)) + rng.normal(0, 1, size=(c, 2)) for i, c in enumerate(counts)]
        prop.append(stratified_estimate(p, pairs).estimate)
    assert np.std(ests) < 0.8 * np.std(prop)  # the point of adapting: fewer programs where s is small
