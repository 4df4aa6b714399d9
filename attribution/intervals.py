"""Confidence intervals over seeds: the mean with a Student-t 95% interval."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["t_interval"]


def t_interval(values: npt.ArrayLike, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t interval of the finite ``values`` (NaN are left out).

    One value gives a zero-width interval; none gives NaNs.

    Examples
    --------
    >>> [round(x, 3) for x in t_interval([1.0, 2.0, 3.0])]
    [2.0, -0.484, 4.484]
    >>> t_interval([5.0, float("nan")])
    (5.0, 5.0, 5.0)
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (math.nan,) * 3
    mean = float(v.mean())
    if len(v) < 2:
        return mean, mean, mean
    from scipy import stats

    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return mean, mean - half, mean + half
