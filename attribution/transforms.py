"""Value transforms applied before any rule: raw, multiplicative, additive and Lagrangian alignment."""

from __future__ import annotations

import difflib

import numpy as np
import numpy.typing as npt

from attribution.errors import RuleParameterError, ValueDataError

__all__ = ["TRANSFORMS", "check_transform", "transform_values"]

FloatArray = npt.NDArray[np.float64]

#: Accepted values of every rule's ``transform`` parameter, with what each computes.
TRANSFORMS: dict[str, str] = {
    "raw": "V",
    "multiplicative": "V * 2**-D",
    "additive": "(V + w * 2**-D) / (1 + w)",
    "lagrangian": "V - lam * cost",
}


def check_transform(transform: object) -> str:
    """Return ``transform`` if it is one of :data:`TRANSFORMS`, else raise naming the accepted ones.

    Examples
    --------
    >>> check_transform("additive")
    'additive'
    >>> check_transform("multiplicativ")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    attribution.errors.RuleParameterError: unknown transform 'multiplicativ'; ... 'multiplicative'?)
    """
    if isinstance(transform, str) and transform in TRANSFORMS:
        return transform
    hint = ""
    if isinstance(transform, str):
        close = difflib.get_close_matches(transform, list(TRANSFORMS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise RuleParameterError(f"unknown transform {transform!r}; accepted: {', '.join(TRANSFORMS)}{hint}")


def _as_float(name: str, x: npt.ArrayLike | None, shape: tuple[int, ...]) -> FloatArray:
    if x is None:
        raise ValueDataError(f"this transform needs {name!r} values, got none")
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != shape:
        arr = np.broadcast_to(arr, shape) if arr.ndim == 0 else arr
    if arr.shape != shape:
        raise ValueDataError(f"{name} has shape {arr.shape}, expected {shape} (one per value)")
    return arr


def transform_values(
    value: npt.ArrayLike,
    distance: npt.ArrayLike | None = None,
    cost: npt.ArrayLike | None = None,
    transform: str = "raw",
    w: float = 1.0,
    lam: float = 1.0,
) -> FloatArray:
    """Turn values ``V`` into the values a rule credits.

    ``raw`` keeps ``V``; ``multiplicative`` is the essay's aligned value ``V * 2**-D`` with ``D``
    the alignment distance in bits; ``additive`` is the essay's distance reward
    ``(V + w * 2**-D) / (1 + w)``; ``lagrangian`` is ``V - lam * cost``. A missing input (NaN)
    gives a NaN result: an agent without a measured distance has no aligned value.

    Parameters
    ----------
    value, distance, cost : array_like
        One number per agent (or environment); ``distance`` is needed by ``multiplicative`` and
        ``additive``, ``cost`` by ``lagrangian``.
    transform : str
        One of :data:`TRANSFORMS`.
    w, lam : float
        The additive form's weight and the Lagrangian multiplier, both >= 0.

    Raises
    ------
    RuleParameterError
        For an unknown transform or a negative ``w`` or ``lam``.
    ValueDataError
        For a missing input array, mismatched shapes, or a negative distance.

    Examples
    --------
    >>> transform_values([0.8, 0.5], distance=[1.0, 0.0], transform="multiplicative").tolist()
    [0.4, 0.5]
    >>> transform_values([0.8], distance=[1.0], transform="additive", w=1.0).tolist()
    [0.65]
    >>> transform_values([0.8], cost=[0.5], transform="lagrangian", lam=0.4).tolist()
    [0.6000000000000001]
    """
    check_transform(transform)
    for name, x in (("w", w), ("lam", lam)):
        if not (isinstance(x, int | float) and not isinstance(x, bool) and x >= 0 and np.isfinite(x)):
            raise RuleParameterError(f"{name} must be a finite number >= 0, got {x!r}")
    v = np.asarray(value, dtype=np.float64)
    if transform == "raw":
        return v.copy()
    if transform == "lagrangian":
        return v - lam * _as_float("cost", cost, v.shape)
    d = _as_float("distance", distance, v.shape)
    bad = np.flatnonzero(d < 0)
    if len(bad):
        raise ValueDataError(
            f"alignment distances are in bits and >= 0; got {d.flat[bad[0]]!r} at position {int(bad[0])}"
        )
    factor = np.exp2(-d)
    if transform == "multiplicative":
        return v * factor
    return (v + w * factor) / (1.0 + w)
