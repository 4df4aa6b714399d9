"""AIQ statistics from numbers: allocation, the stratified mean and its interval, paired differences."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from attribution.errors import ValueDataError
from attribution.transforms import transform_values

__all__ = [
    "StratifiedEstimate",
    "aligned_scores",
    "paired_difference",
    "proportional_allocation",
    "stratified_estimate",
]

FloatArray = npt.NDArray[np.float64]
Z95 = 1.959963984540054


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


def paired_difference(
    p: npt.ArrayLike, a: Sequence[npt.ArrayLike], b: Sequence[npt.ArrayLike]
) -> StratifiedEstimate:
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


def aligned_scores(scores: npt.ArrayLike, distance: npt.ArrayLike) -> FloatArray:
    """Aligned AIQ scores: ``V = (score + 100) / 200`` becomes ``V 2**-D``, back on the -100..100 scale.

    Examples
    --------
    >>> aligned_scores([100.0, 0.0, -100.0], [1.0, 0.0, 3.0]).tolist()
    [0.0, 0.0, -100.0]
    """
    s = np.asarray(scores, dtype=np.float64)
    v = (s + 100.0) / 200.0
    return 200.0 * transform_values(v, distance=distance, transform="multiplicative") - 100.0
