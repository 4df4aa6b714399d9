"""AIQ statistics from numbers: allocation, the stratified mean and its interval, paired differences.

Two allocations of programs to strata: :func:`proportional_allocation` (fixed in advance, the same for
every agent, so comparisons are paired) and the reference's default adaptive stratified estimator
(section 4.2 of the AIQ notes): :func:`adaptive_stages`, :func:`adaptive_allocation` ("method a"),
:func:`pair_sds` and :func:`adaptive_estimate`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from attribution.errors import ValueDataError
from attribution.transforms import transform_values

__all__ = [
    "STAGE_MULTIPLES",
    "StratifiedEstimate",
    "adaptive_allocation",
    "adaptive_estimate",
    "adaptive_stages",
    "aligned_scores",
    "pair_sds",
    "paired_difference",
    "proportional_allocation",
    "stratified_estimate",
]

FloatArray = npt.NDArray[np.float64]
Z95 = 1.959963984540054
#: The reference's cumulative stage totals in runs, as multiples of ``A`` (the strata with ``p > 0``).
STAGE_MULTIPLES = (
    0, 3, 6, 10, 20, 30, 50, 70, 100, 250, 500, 750, 1000, 1250, 1500, 1750, 2000, 2500, 3000, 3500, 4000, 5000,
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class StratifiedEstimate:
    """A stratified mean on the AIQ scale with its 95% interval.

    Attributes
    ----------
    estimate : float
        ``sum_i p_i mean_i`` over the strata that have data (weights renormalised over them).
    ci95 : (float, float)
        ``estimate -+ half_width``.
    half_width : float
        ``1.96 sqrt(sum_i p_i**2 s_i**2 / n_i)``, ``s_i`` the standard deviation of a program's
        value in stratum ``i`` (ddof 1; the largest other stratum's when ``n_i < 2``).
    reference_half_width : float
        The reference's formula ``1.96 sum_i p_i s_i / sqrt(runs)``, for comparison with published intervals.
    n : tuple of int
        Programs (antithetic pairs) used per stratum.
    means, sds : tuple of float
        Per-stratum mean and standard deviation (NaN without data).
    missing_weight : float
        Weight of strata with ``p > 0`` but no data, left out of the estimate.
    """

    estimate: float
    ci95: tuple[float, float]
    half_width: float
    reference_half_width: float
    n: tuple[int, ...]
    means: tuple[float, ...]
    sds: tuple[float, ...]
    missing_weight: float

    @property
    def programs(self) -> int:
        """Programs used in all."""
        return int(sum(self.n))


def _weights(p: npt.ArrayLike) -> FloatArray:
    w = np.asarray(p, dtype=np.float64)
    if w.ndim != 1 or len(w) == 0 or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueDataError(f"stratum weights must be finite, >= 0 and not all 0; got {w.tolist()}")
    return w / w.sum()


def proportional_allocation(p: npt.ArrayLike, total: int, minimum: int = 2) -> npt.NDArray[np.int64]:
    """Programs per stratum in proportion to ``p``, at least ``minimum`` in every stratum with ``p > 0``.

    The proportional part is rounded by cumulative flooring, as the reference allocates a stage, so the
    counts add up to ``max(total, minimum * strata)``.

    Examples
    --------
    >>> proportional_allocation([0.0, 0.5, 0.3, 0.2], 20).tolist()
    [0, 9, 6, 5]
    >>> proportional_allocation([0.0, 0.9, 0.1], 10, minimum=2).tolist()
    [0, 7, 3]
    """
    w = _weights(p)
    if total < 0 or minimum < 0:
        raise ValueDataError(f"total = {total} and minimum = {minimum} must be >= 0")
    live = w > 0
    spare = max(total - minimum * int(live.sum()), 0)
    cum = np.floor(np.cumsum(w * spare) + 1e-9)
    x = np.diff(np.concatenate([[0.0], cum])).astype(np.int64)
    return np.where(live, x + minimum, 0)


def _as_pairs(rows: npt.ArrayLike) -> FloatArray:
    a = np.asarray(rows, dtype=np.float64)
    if a.size == 0:
        return np.zeros((0, 2))
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueDataError(f"expected one row of runs per program, got shape {a.shape}")
    return a[~np.isnan(a).any(axis=1)]


def _combine(w: FloatArray, values: Sequence[FloatArray], runs: Sequence[int]) -> StratifiedEstimate:
    n = np.array([len(v) for v in values])
    means = np.array([float(v.mean()) if len(v) else math.nan for v in values])
    sds = np.array([float(v.std(ddof=1)) if len(v) > 1 else math.nan for v in values])
    have = (n > 0) & (w > 0)
    missing = float(w[(w > 0) & ~have].sum())
    if not have.any():
        nan = math.nan
        return StratifiedEstimate(nan, (nan, nan), nan, nan, tuple(int(k) for k in n), (), (), missing)
    fallback = float(np.nanmax(sds[have])) if np.any(~np.isnan(sds[have])) else 100.0
    s = np.where(np.isnan(sds), fallback, sds)
    wh = np.where(have, w, 0.0) / w[have].sum()
    est = float(np.sum(wh[have] * means[have]))
    half = Z95 * math.sqrt(float(np.sum((wh[have] * s[have]) ** 2 / n[have])))
    ref_s = np.where(n > 1, s, 1.0)
    ref_half = Z95 * float(np.sum(wh * ref_s)) / math.sqrt(max(sum(runs), 1))
    return StratifiedEstimate(
        estimate=est,
        ci95=(est - half, est + half),
        half_width=half,
        reference_half_width=ref_half,
        n=tuple(int(k) for k in n),
        means=tuple(float(m) for m in means),
        sds=tuple(float(x) for x in sds),
        missing_weight=missing,
    )


def stratified_estimate(p: npt.ArrayLike, pairs: Sequence[npt.ArrayLike]) -> StratifiedEstimate:
    """The stratified AIQ estimate from each stratum's antithetic pairs ``(r+, r-)`` of scores.

    A program's value is the mean of its two runs; a pair with a NaN (overtime) is left out.

    Examples
    --------
    >>> est = stratified_estimate([0.0, 0.75, 0.25], [[], [[10, 20], [30, 40]], [[0, 0], [8, 4], [1, 3]]])
    >>> round(est.estimate, 3), est.n, round(est.half_width, 2)
    (19.417, (0, 2, 3), 14.73)
    """
    w = _weights(p)
    if len(pairs) != len(w):
        raise ValueDataError(f"{len(pairs)} strata of pairs for {len(w)} weights")
    rows = [_as_pairs(r) for r in pairs]
    return _combine(w, [r.mean(axis=1) for r in rows], [r.size for r in rows])


def paired_difference(p: npt.ArrayLike, a: Sequence[npt.ArrayLike], b: Sequence[npt.ArrayLike]) -> StratifiedEstimate:
    """Stratified estimate of A minus B from runs on the same programs (row ``k`` of a stratum in both).

    Programs where either agent ran overtime are left out of both.

    Examples
    --------
    >>> d = paired_difference([0.5, 0.5], [[[10, 12], [20, 22]], [[5, 5]]], [[[0, 2], [15, 15]], [[1, 1]]])
    >>> round(d.estimate, 2), d.n
    (6.0, (2, 1))
    """
    w = _weights(p)
    if not len(a) == len(b) == len(w):
        raise ValueDataError(f"{len(a)} and {len(b)} strata of pairs for {len(w)} weights")
    diffs = []
    for ra, rb in zip(a, b, strict=True):
        xa, xb = np.asarray(ra, dtype=np.float64), np.asarray(rb, dtype=np.float64)
        if xa.shape != xb.shape:
            raise ValueDataError(f"paired strata differ in shape: {xa.shape} and {xb.shape}")
        if xa.size == 0:
            diffs.append(np.zeros(0))
            continue
        xa, xb = xa.reshape(len(xa), -1), xb.reshape(len(xb), -1)
        ok = ~(np.isnan(xa).any(axis=1) | np.isnan(xb).any(axis=1))
        diffs.append(xa[ok].mean(axis=1) - xb[ok].mean(axis=1))
    return _combine(w, diffs, [2 * len(d) for d in diffs])


# ---------------------------------------------------------------------- the adaptive estimator
def _raw_weights(p: npt.ArrayLike) -> FloatArray:
    """``p`` checked like :func:`_weights` but not rescaled (the reference uses its fractions as they are)."""
    _weights(p)
    return np.asarray(p, dtype=np.float64)


def adaptive_stages(active: int, samples: int) -> list[int]:
    """The reference's cumulative stage totals ``N`` in runs (two per program), truncated at ``samples``.

    ``N = [0, 3A, 6A, 10A, 20A, ...]`` (:data:`STAGE_MULTIPLES` times ``A``), cut at the first entry with
    ``N[i] + A >= samples``, which becomes ``samples``. As in the reference, a ``samples`` beyond
    ``4999 A`` is not reached: the list then ends at ``5000 A``. Stage ``k`` runs ``N[k] - N[k-1]``.

    Parameters
    ----------
    active : int
        ``A``, the number of strata with ``p > 0`` (``sum(ceil(p))``).
    samples : int
        The sample size in runs (twice the programs).

    Returns
    -------
    list of int
        ``N``, starting at 0; a list of one entry means no stage at all (``samples <= A``).

    Examples
    --------
    >>> adaptive_stages(20, 1000)
    [0, 60, 120, 200, 400, 600, 1000]
    >>> adaptive_stages(20, 240)
    [0, 60, 120, 200, 240]
    """
    if active < 1 or samples < 0:
        raise ValueDataError(f"active strata = {active} must be >= 1 and samples = {samples} >= 0")
    totals = [k * active for k in STAGE_MULTIPLES]
    for i, total in enumerate(totals):
        if total + active >= samples:
            return [*totals[:i], samples]
    return totals


def adaptive_allocation(p: npt.ArrayLike, sd: npt.ArrayLike, runs: int) -> npt.NDArray[np.int64]:
    """Runs per stratum for one stage of the adaptive estimator, the reference's "method a".

    ``m = p s / sum(p s) * (runs - 2A) / 2`` is floored cumulatively, ``x[0] = floor(m[0])`` and
    ``x[i] = max(floor(m[0] + ... + m[i] + 0.001) - floor(m[0] + ... + m[i-1]), 0)`` (sums left to
    right), then ``M = 2 x + 2 ceil(p)``: every count is even (whole antithetic pairs) and each stratum
    with ``p > 0`` gets at least one program. Like the reference, the counts can add up to one pair
    more or less than ``runs``, and more than ``runs`` when ``runs < 2A``. If every ``p s`` is 0 the
    allocation falls back to ``p`` (the reference would divide by zero).

    Parameters
    ----------
    p : array_like
        Stratum weights (``p[0]``, the passive stratum, is 0 for a pool of active programs).
    sd : array_like
        The previous stage's per-stratum standard deviation of a pair's mean (all 1 before stage 1,
        which makes the first stage proportional); see :func:`pair_sds`.
    runs : int
        This stage's runs, ``N[k] - N[k-1]``.

    Returns
    -------
    ndarray of int64
        ``M``, runs per stratum (programs are ``M // 2``).

    Examples
    --------
    >>> adaptive_allocation([0.0, 0.5, 0.3, 0.2], [1.0, 1.0, 1.0, 1.0], 30).tolist()
    [0, 14, 8, 8]

    A stratum with ``s = 0`` keeps its minimum; here ``m[2]`` is ``8.999...`` in floating point, so
    the ``+ 0.001`` gives one pair more than asked for, exactly as the reference would:

    >>> adaptive_allocation([0.0, 0.5, 0.3, 0.2], [1.0, 0.0, 2.0, 1.0], 30).tolist()
    [0, 2, 20, 10]
    """
    w = _raw_weights(p)
    s = np.asarray(sd, dtype=np.float64)
    if s.shape != w.shape or np.any(~np.isfinite(s)) or np.any(s < 0):
        raise ValueDataError(f"sd must be finite, >= 0 and one per stratum; got {s.tolist()}")
    active = np.ceil(w)
    ps = w * s
    total = float(np.cumsum(ps)[-1])
    if total <= 0:
        ps, total = w, float(np.cumsum(w)[-1])
    m = ps / total * (runs - 2.0 * float(active.sum())) / 2.0
    cum = np.cumsum(m)
    x = np.empty_like(m)
    x[0] = math.floor(m[0])
    x[1:] = np.maximum(np.floor(cum[1:] + 0.001) - np.floor(cum[:-1]), 0.0)
    return (2.0 * x + 2.0 * active).astype(np.int64)


def pair_sds(p: npt.ArrayLike, pairs: Sequence[npt.ArrayLike]) -> FloatArray:
    """Per-stratum standard deviation of a program's value (its antithetic pair's mean), as the reference.

    ``s = sqrt(0.25 (s1**2 + s2**2 + 2 cov(r+, r-)))`` with ``s1``, ``s2`` the sample standard
    deviations (ddof 1) of the ``r+`` and ``r-`` columns; 1 for a stratum with ``p = 0`` or fewer than
    two pairs. Pairs with a NaN are left out; a variance rounded below 0 counts as 0.

    Examples
    --------
    >>> pair_sds([0.0, 0.5, 0.5], [[], [[10, 20], [30, 40]], [[5, -5]]]).tolist()
    [1.0, 14.142135623730951, 1.0]
    """
    w = _raw_weights(p)
    if len(pairs) != len(w):
        raise ValueDataError(f"{len(pairs)} strata of pairs for {len(w)} weights")
    out = np.ones(len(w))
    for i, rows in enumerate(pairs):
        y = _as_pairs(rows)
        if w[i] > 0 and len(y) >= 2:
            if y.shape[1] != 2:
                raise ValueDataError(f"stratum {i}: expected pairs (r+, r-), got shape {y.shape}")
            s1, s2 = float(y[:, 0].std(ddof=1)), float(y[:, 1].std(ddof=1))
            cov = float(np.cov(y[:, 0], y[:, 1])[0, 1])
            out[i] = math.sqrt(max(0.25 * (s1 * s1 + s2 * s2 + 2.0 * cov), 0.0))
    return out


def adaptive_estimate(
    p: npt.ArrayLike, pairs: Sequence[npt.ArrayLike], stage_total: int | None = None
) -> StratifiedEstimate:
    """The adaptive estimator's estimate after a stage, with the correct and the reference's half-widths.

    ``estimate = sum_i p_i / runs_i * (sum of stratum i's runs)``, i.e. ``sum_i p_i`` times the
    stratum's mean over both antithetic runs. ``half_width`` is the stratified one of
    :func:`stratified_estimate`, ``1.96 sqrt(sum_i p_i**2 s_i**2 / n_i)`` with ``n_i`` programs;
    ``reference_half_width`` is the reference's ``1.96 sum_i p_i s_i / sqrt(N[k])`` with ``s`` from
    :func:`pair_sds` and ``N[k] = stage_total`` (default: the runs counted), which treats both runs of
    a program as independent. Every stratum with ``p > 0`` needs at least one pair (the adaptive
    allocation gives each one).

    Examples
    --------
    >>> est = adaptive_estimate([0.0, 0.75, 0.25], [[], [[10, 20], [30, 40]], [[0, 0], [8, 4], [1, 3]]], 10)
    >>> round(est.estimate, 3), est.n, round(est.half_width, 2), round(est.reference_half_width, 2)
    (19.417, (0, 2, 3), 14.73, 7.05)
    """
    w = _weights(p)
    if len(pairs) != len(w):
        raise ValueDataError(f"{len(pairs)} strata of pairs for {len(w)} weights")
    rows = [_as_pairs(r) for r in pairs]
    empty = [i for i in range(len(w)) if w[i] > 0 and len(rows[i]) == 0]
    if empty:
        raise ValueDataError(f"strata {empty} have p > 0 but no pairs")
    runs = [r.size for r in rows]
    total = sum(runs) if stage_total is None else stage_total
    if total <= 0:
        raise ValueDataError(f"stage total = {total} runs must be > 0")
    est = 0.0
    for i in range(len(w)):
        if w[i] > 0:
            est += float(w[i]) / runs[i] * float(rows[i].sum())
    base = _combine(w, [r.mean(axis=1) for r in rows], runs)
    ref_half = Z95 * float(np.sum(w * pair_sds(w, rows))) / math.sqrt(total)
    return dataclasses.replace(
        base,
        estimate=est,
        ci95=(est - base.half_width, est + base.half_width),
        reference_half_width=ref_half,
    )


def aligned_scores(scores: npt.ArrayLike, distance: npt.ArrayLike) -> FloatArray:
    """Aligned AIQ scores: ``V = (score + 100) / 200`` becomes ``V 2**-D``, back on the -100..100 scale.

    A NaN distance is a run without a constitution (``D = 0``: its score is kept); a NaN score (an
    overtime run) stays NaN.

    Examples
    --------
    >>> aligned_scores([100.0, 0.0, -100.0], [1.0, 0.0, 3.0]).tolist()
    [0.0, 0.0, -100.0]
    >>> aligned_scores([40.0, math.nan], [math.nan, 1.0]).tolist()
    [40.0, nan]
    """
    s = np.asarray(scores, dtype=np.float64)
    v = (s + 100.0) / 200.0
    d = np.asarray(distance, dtype=np.float64)
    d = np.where(np.isnan(d), 0.0, d)
    return 200.0 * transform_values(v, distance=d, transform="multiplicative") - 100.0
