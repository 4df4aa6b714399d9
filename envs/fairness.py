"""Group-fairness measures of binary decisions, as fairlearn defines them, in plain numpy."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from envs.errors import InvalidParameterError

__all__ = [
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "disparate_impact",
    "equal_opportunity_difference",
    "selection_rates",
    "true_positive_rates",
]


def _binary(values: npt.ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidParameterError(f"{name} must be 1-D; got shape {arr.shape}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        bad = arr[~np.isin(arr, (0, 1))][0]
        raise InvalidParameterError(
            f"{name} holds {bad.item()!r}; accepted values are 0 and 1 (or False and True)"
        )
    return arr.astype(bool)


def _grouped(decisions: npt.ArrayLike, groups: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    d = _binary(decisions, "decisions")
    g = np.asarray(groups)
    if g.shape != d.shape:
        raise InvalidParameterError(f"groups has shape {g.shape}; expected {d.shape}, one per decision")
    if d.size == 0:
        raise InvalidParameterError("no decisions given; the measures need at least one")
    return d, g


def selection_rates(decisions: npt.ArrayLike, groups: npt.ArrayLike) -> dict[object, float]:
    """P(decision = 1 | group) for each group present, keyed by group in sorted order.

    Examples
    --------
    >>> selection_rates([1, 0, 1, 1], [0, 0, 1, 1])
    {0: 0.5, 1: 1.0}
    """
    d, g = _grouped(decisions, groups)
    return {k.item() if hasattr(k, "item") else k: float(d[g == k].mean()) for k in np.unique(g)}


def true_positive_rates(
    decisions: npt.ArrayLike, groups: npt.ArrayLike, labels: npt.ArrayLike
) -> dict[object, float]:
    """P(decision = 1 | label = 1, group) per group; NaN for a group without positive labels.

    Examples
    --------
    >>> true_positive_rates([1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 1, 0])
    {0: 0.5, 1: 1.0}
    """
    d, g = _grouped(decisions, groups)
    y = _binary(labels, "labels")
    if y.shape != d.shape:
        raise InvalidParameterError(f"labels has shape {y.shape}; expected {d.shape}, one per decision")
    out: dict[object, float] = {}
    for k in np.unique(g):
        positives = (g == k) & y
        key = k.item() if hasattr(k, "item") else k
        out[key] = float(d[positives].mean()) if positives.any() else float("nan")
    return out


def demographic_parity_difference(decisions: npt.ArrayLike, groups: npt.ArrayLike) -> float:
    """Largest minus smallest selection rate over groups (0 is parity).

    Examples
    --------
    >>> demographic_parity_difference([1, 0, 1, 1], [0, 0, 1, 1])
    0.5
    """
    rates = list(selection_rates(decisions, groups).values())
    return float(max(rates) - min(rates))


def demographic_parity_ratio(decisions: npt.ArrayLike, groups: npt.ArrayLike) -> float:
    """Smallest over largest selection rate (1 is parity); NaN when nobody is selected.

    Examples
    --------
    >>> demographic_parity_ratio([1, 0, 1, 1], [0, 0, 1, 1])
    0.5
    """
    rates = list(selection_rates(decisions, groups).values())
    top = max(rates)
    return float(min(rates) / top) if top > 0 else float("nan")


def disparate_impact(
    decisions: npt.ArrayLike, groups: npt.ArrayLike, privileged: object | None = None
) -> float:
    """Selection rate of the worst-off group over that of the privileged group.

    Without ``privileged`` it is the demographic-parity ratio (lowest over highest rate). The
    "four-fifths rule" flags values below 0.8. NaN when the reference rate is 0.

    Examples
    --------
    >>> disparate_impact([1, 0, 1, 1], [0, 0, 1, 1], privileged=1)
    0.5
    """
    rates = selection_rates(decisions, groups)
    if privileged is None:
        return demographic_parity_ratio(decisions, groups)
    if privileged not in rates:
        raise InvalidParameterError(
            f"privileged group {privileged!r} has no decisions; groups present: {sorted(rates, key=repr)}"
        )
    reference = rates[privileged]
    others = [r for k, r in rates.items() if k != privileged]
    if not others:
        return 1.0
    return float(min(others) / reference) if reference > 0 else float("nan")


def equal_opportunity_difference(
    decisions: npt.ArrayLike, groups: npt.ArrayLike, labels: npt.ArrayLike
) -> float:
    """Largest minus smallest true-positive rate over groups; NaN when a group has no positive label.

    Examples
    --------
    >>> equal_opportunity_difference([1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 1, 0])
    0.5
    """
    rates = list(true_positive_rates(decisions, groups, labels).values())
    if any(np.isnan(rates)):
        return float("nan")
    return float(max(rates) - min(rates))
