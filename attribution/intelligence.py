"""Universal-intelligence sums from numbers: Upsilon and the aligned Sigma, in log space."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import logsumexp

from attribution.errors import ValueDataError
from attribution.transforms import transform_values

__all__ = ["IntelligenceEstimate", "intelligence_table", "universal_intelligence"]

FloatArray = npt.NDArray[np.float64]
_LN2 = math.log(2.0)


@dataclasses.dataclass(frozen=True)
class IntelligenceEstimate:
    """Upsilon = sum of 2**-K V and Sigma = sum of 2**-K V' for one agent over an environment suite.

    ``log2_*`` are exact where the plain sums underflow (``-inf`` when a sum is 0, NaN when a
    Lagrangian Sigma is negative); ``weights`` are the normalised ``2**-K``; ``shares`` each
    environment's part of Upsilon, so that one environment dominating shows.
    """

    log2_upsilon: float
    log2_sigma: float
    upsilon: float
    sigma: float
    weights: FloatArray
    shares: FloatArray
    dominant: int


def _log2_sum(log2_terms: FloatArray, coef: FloatArray) -> tuple[float, float]:
    """``(log2 |sum coef * 2**log2_terms|, sign)`` without underflow."""
    use = ~np.isnan(coef)
    if not use.any() or not np.any(coef[use] != 0):
        return -math.inf, 0.0
    out, sign = logsumexp(log2_terms[use] * _LN2, b=coef[use], return_sign=True)
    return float(out) / _LN2, float(sign)


def _unconstrained_zero(x: npt.ArrayLike | None) -> FloatArray | None:
    """Distances or costs with NaN (an environment without a constitution) read as 0: nothing is forbidden."""
    if x is None:
        return None
    arr = np.asarray(x, dtype=np.float64)
    return np.where(np.isnan(arr), 0.0, arr)


def universal_intelligence(
    values: npt.ArrayLike,
    complexity: npt.ArrayLike,
    distance: npt.ArrayLike | None = None,
    cost: npt.ArrayLike | None = None,
    transform: str = "multiplicative",
    w: float = 1.0,
    lam: float = 1.0,
) -> IntelligenceEstimate:
    """Legg and Hutter's Upsilon for one agent, and the essay's aligned Sigma.

    Parameters
    ----------
    values : array_like
        V in [0, 1] per environment (NaN: not evaluated, left out).
    complexity : array_like
        K per environment, in bits.
    distance, cost : array_like, optional
        Alignment distance (bits) and cost per environment, for Sigma's ``transform``. NaN marks an
        environment without a constitution: nothing is forbidden there, so its distance and cost are
        0 and it counts in Sigma with ``V' = V`` (multiplicative and Lagrangian; additive gives
        ``(V + w) / (1 + w)``). Only a NaN value leaves an environment out, of both sums.
    transform : str
        How V' is made from V (see :func:`~attribution.transforms.transform_values`);
        without ``distance`` (or ``cost`` for ``lagrangian``) at all, Sigma is NaN.

    Examples
    --------
    >>> est = universal_intelligence([0.5, 1.0], [1.0, 2.0], distance=[0.0, 1.0])
    >>> float(est.upsilon), float(est.sigma), est.weights.round(4).tolist(), est.dominant
    (0.5, 0.375, [0.6667, 0.3333], 0)
    >>> free = universal_intelligence([0.5, 0.5], [1.0, 2.0], distance=[math.nan, 0.0])
    >>> free.upsilon, free.sigma  # the first environment has no constitution: D = 0 there
    (0.375, 0.375)
    >>> big = universal_intelligence([0.5, 0.5], [2000.0, 2001.0])
    >>> big.upsilon, round(big.log2_upsilon, 6)
    (0.0, -2000.415037)
    """
    v = np.asarray(values, dtype=np.float64)
    k = np.asarray(complexity, dtype=np.float64)
    if v.ndim != 1 or v.shape != k.shape:
        raise ValueDataError(
            f"values has shape {v.shape} and complexity {k.shape}; expected one per environment"
        )
    if np.any(np.isnan(k)) or np.any(k < 0):
        raise ValueDataError(f"complexities are description lengths in bits (>= 0); got {k.tolist()}")
    neg = -k
    log2_u, _ = _log2_sum(neg, v)
    norm = _log2_sum(neg, np.ones_like(k))[0] if len(k) else -math.inf
    weights = np.exp2(neg - norm) if len(k) else np.zeros(0)
    if math.isfinite(log2_u):  # each term over the sum, in log space (a tiny V times 2**-log2_u overflows)
        vv = np.nan_to_num(v)
        with np.errstate(divide="ignore"):
            shares = np.sign(vv) * np.exp2(neg + np.log2(np.abs(vv)) - log2_u)
    else:
        shares = np.zeros(len(k))
    have = (
        (distance is not None)
        if transform in ("multiplicative", "additive")
        else (cost is not None if transform == "lagrangian" else True)
    )
    if have:
        aligned = transform_values(
            v, distance=_unconstrained_zero(distance), cost=_unconstrained_zero(cost), transform=transform, w=w, lam=lam
        )
        log2_s, sign = _log2_sum(neg, aligned)
        sigma = sign * math.exp2(log2_s) if math.isfinite(log2_s) else 0.0
        if sign < 0:
            log2_s = math.nan
    else:
        log2_s, sigma = math.nan, math.nan
    return IntelligenceEstimate(
        log2_upsilon=log2_u,
        log2_sigma=log2_s,
        upsilon=math.exp2(log2_u) if math.isfinite(log2_u) else 0.0,
        sigma=sigma,
        weights=weights,
        shares=shares,
        dominant=int(np.argmax(shares)) if len(shares) else -1,
    )


def intelligence_table(
    values: pd.DataFrame,
    complexity: Mapping[str, float] | pd.Series,
    distance: pd.DataFrame | None = None,
    cost: pd.DataFrame | None = None,
    transform: str = "multiplicative",
    w: float = 1.0,
    lam: float = 1.0,
) -> pd.DataFrame:
    """Upsilon and Sigma per agent: ``values`` has agents as rows and environments as columns.

    Columns: ``log2_upsilon``, ``log2_sigma``, ``upsilon``, ``sigma``, ``dominant`` (the environment
    with the largest share of Upsilon) and ``dominant_share``. ``distance`` and ``cost`` have the
    same agents as rows; an environment missing from their columns, or NaN there, has no
    constitution and counts in Sigma with distance and cost 0 (see :func:`universal_intelligence`).

    Examples
    --------
    >>> v = pd.DataFrame({"a": [0.5, 0.0], "b": [1.0, 1.0]}, index=["0", "0.0"])
    >>> intelligence_table(v, {"a": 1.0, "b": 2.0})[["upsilon", "dominant", "dominant_share"]]
         upsilon dominant  dominant_share
    0       0.50        a             0.5
    0.0     0.25        b             1.0
    >>> d = pd.DataFrame({"b": [1.0, 0.0]}, index=["0", "0.0"])  # "a" has no constitution
    >>> intelligence_table(v, {"a": 1.0, "b": 2.0}, distance=d)["sigma"].tolist()
    [0.375, 0.25]
    """
    envs = list(values.columns)
    k = pd.Series(complexity, dtype=float)
    missing = [e for e in envs if e not in k.index]
    if missing:
        raise ValueDataError(f"no complexity for environment(s) {missing}; known: {list(k.index)}")
    kk = k.loc[envs].to_numpy()
    frames: dict[str, pd.DataFrame | None] = {"distance": distance, "cost": cost}
    for name, frame in frames.items():
        if frame is not None:
            absent = [a for a in values.index if a not in frame.index]
            if absent:
                raise ValueDataError(f"{name} has no row for agent(s) {absent[:5]}; it needs one per agent of values")
            frames[name] = frame.reindex(columns=envs)  # a missing column: no constitution there
    distance, cost = frames["distance"], frames["cost"]
    rows = []
    for agent in values.index:
        est = universal_intelligence(
            values.loc[agent].to_numpy(dtype=float),
            kk,
            distance=None if distance is None else distance.loc[agent, envs].to_numpy(dtype=float),
            cost=None if cost is None else cost.loc[agent, envs].to_numpy(dtype=float),
            transform=transform,
            w=w,
            lam=lam,
        )
        rows.append(
            {
                "log2_upsilon": est.log2_upsilon,
                "log2_sigma": est.log2_sigma,
                "upsilon": est.upsilon,
                "sigma": est.sigma,
                "dominant": envs[est.dominant] if est.dominant >= 0 and est.shares.sum() > 0 else None,
                "dominant_share": float(est.shares[est.dominant]) if len(envs) else math.nan,
            }
        )
    return pd.DataFrame(rows, index=values.index)
