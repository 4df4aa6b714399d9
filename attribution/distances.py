"""Alignment distances D(σ, π) between a policy and what a constitution allows, on plain numpy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from attribution.errors import AttributionError

__all__ = [
    "DEFAULT_KL_EPS",
    "PROJECTION_FLOOR",
    "DistanceInputError",
    "alignment_distances",
    "forbidden_occupancy",
    "invariance_tv",
    "js_distance",
    "kl_distance",
    "projection_distance",
    "sigma_from_allowed",
    "tv_distance",
]

#: Floor on π(allowed | s) in the projection distance: a policy that never complies is at
#: -log2(1e-12) ≈ 39.86 bits, large but finite, so that 2^-D stays a number and averages stay defined.
PROJECTION_FLOOR = 1e-12

#: Default smoothing of σ in :func:`kl_distance`; the KL value depends on it, so it is always reported.
DEFAULT_KL_EPS = 1e-3

_ROW_TOLERANCE = 1e-6


class DistanceInputError(AttributionError):
    """Arrays handed to a distance that do not describe policies, masks or occupancies (a ValueError)."""


def _as_policy(pi: npt.ArrayLike, name: str = "pi") -> np.ndarray:
    arr = np.asarray(pi, dtype=float)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DistanceInputError(
            f"{name} must be a non-empty 2-D array (n_states, n_actions); got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        bad = np.argwhere(~np.isfinite(arr) | (arr < 0))[0]
        raise DistanceInputError(
            f"{name}[{bad[0]}, {bad[1]}] = {float(arr[tuple(bad)])!r}; probabilities must be finite and >= 0"
        )
    sums = arr.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > _ROW_TOLERANCE)
    if off.size:
        raise DistanceInputError(
            f"row {off[0]} of {name} sums to {float(sums[off[0]])!r}; each row must sum to 1 "
            f"(tolerance {_ROW_TOLERANCE})"
        )
    return arr


def _as_allowed(allowed: npt.ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(allowed)
    if arr.dtype != bool:
        raise DistanceInputError(f"allowed must be a boolean array; got dtype {arr.dtype}")
    if arr.shape != shape:
        raise DistanceInputError(f"allowed has shape {arr.shape}; expected {shape}, the shape of pi")
    empty = np.flatnonzero(~arr.any(axis=1))
    if empty.size:
        raise DistanceInputError(
            f"state {empty[0]} allows no action, so σ is undefined there; every row of allowed needs a True"
        )
    return arr


def _as_weights(weights: npt.ArrayLike | None, n_states: int) -> np.ndarray:
    if weights is None:
        return np.full(n_states, 1.0 / n_states)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n_states,):
        raise DistanceInputError(f"weights has shape {w.shape}; expected ({n_states},), one per state")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise DistanceInputError(f"weights must be finite and >= 0; got {w.tolist()!r}")
    total = w.sum()
    if total <= 0:
        raise DistanceInputError("weights sum to 0; at least one state needs positive occupancy")
    return w / total


def sigma_from_allowed(allowed: npt.ArrayLike) -> np.ndarray:
    """σ(· | s): uniform over the allowed actions of each state.

    Parameters
    ----------
    allowed : array of bool, shape (n_states, n_actions)
        ``allowed[s, a]`` is True when the constitution allows action ``a`` in state ``s``.

    Returns
    -------
    numpy.ndarray of float, shape (n_states, n_actions)

    Examples
    --------
    >>> sigma_from_allowed([[True, True, False]]).round(3).tolist()
    [[0.5, 0.5, 0.0]]
    """
    arr = np.asarray(allowed)
    if arr.ndim != 2:
        raise DistanceInputError(f"allowed must be 2-D (n_states, n_actions); got shape {arr.shape}")
    arr = _as_allowed(arr, arr.shape)
    return arr / arr.sum(axis=1, keepdims=True)


def _check(
    pi: npt.ArrayLike, allowed: npt.ArrayLike, weights: npt.ArrayLike | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = _as_policy(pi)
    a = _as_allowed(allowed, p.shape)
    return p, a, _as_weights(weights, p.shape[0])


def projection_distance(
    pi: npt.ArrayLike,
    allowed: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    floor: float = PROJECTION_FLOOR,
) -> float:
    """Occupancy mean of -log2 π(allowed | s), in bits: the default alignment distance.

    Per state it is min over σ' supported on the allowed actions of KL(σ' ‖ π), so 0 for every compliant
    policy however decisive; 2^-D is the probability of complying, and over the occupancy the geometric
    mean of those probabilities. π(allowed | s) is floored at ``floor`` (default 1e-12, so at most about
    39.86 bits per state) so that a policy that always violates gets a large finite distance.

    Parameters
    ----------
    pi : array, shape (n_states, n_actions)
        The policy; rows sum to 1.
    allowed : array of bool, shape (n_states, n_actions)
    weights : array, shape (n_states,), optional
        State occupancy; normalised here. Uniform when omitted.
    floor : float
        Lower bound on π(allowed | s), in (0, 1).

    Examples
    --------
    >>> projection_distance([[1.0, 0.0], [0.5, 0.5]], [[True, False], [True, False]])
    0.5
    >>> round(projection_distance([[0.0, 1.0]], [[True, False]]), 2)
    39.86
    """
    if not 0.0 < floor < 1.0:
        raise DistanceInputError(f"floor = {floor!r}; it must be in (0, 1)")
    p, a, w = _check(pi, allowed, weights)
    # Compliance as 1 - forbidden mass, clipped to [floor, 1]: a policy with no forbidden mass is at
    # exactly 0, not at the rounding error of a sum of allowed probabilities.
    comply = np.clip(1.0 - (p * ~a).sum(axis=1), floor, 1.0)
    return float(w @ -np.log2(comply))


def kl_distance(
    pi: npt.ArrayLike,
    allowed: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    eps: float = DEFAULT_KL_EPS,
) -> tuple[float, float]:
    """Occupancy mean of KL(π ‖ σ_ε) in bits, and the ε it used.

    σ_ε = (1 - ε) σ + ε · uniform over all actions, so every action has mass and the divergence is finite;
    its value depends on ε, which is why it is returned alongside.

    Returns
    -------
    (kl, eps) : tuple of float

    Examples
    --------
    >>> kl, eps = kl_distance([[1.0, 0.0, 0.0, 0.0]], [[True, True, True, False]])
    >>> round(kl, 3), eps
    (1.585, 0.001)
    """
    if not 0.0 < eps <= 1.0:
        raise DistanceInputError(f"eps = {eps!r}; the smoothing of σ must be in (0, 1]")
    p, a, w = _check(pi, allowed, weights)
    sigma = a / a.sum(axis=1, keepdims=True)
    sigma_eps = (1.0 - eps) * sigma + eps / p.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / sigma_eps), 0.0)
    return float(w @ terms.sum(axis=1)), float(eps)


def tv_distance(pi: npt.ArrayLike, allowed: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """Occupancy mean of the total variation ½ Σ_a |π(a|s) - σ(a|s)|, in [0, 1].

    Examples
    --------
    >>> round(tv_distance([[1.0, 0.0, 0.0, 0.0]], [[True, True, True, False]]), 3)
    0.667
    """
    p, a, w = _check(pi, allowed, weights)
    sigma = a / a.sum(axis=1, keepdims=True)
    return float(w @ (0.5 * np.abs(p - sigma).sum(axis=1)))


def js_distance(pi: npt.ArrayLike, allowed: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """Occupancy mean of the Jensen–Shannon *distance* between π and σ, in [0, 1].

    The distance is the square root of the base-2 Jensen–Shannon divergence (what
    ``scipy.spatial.distance.jensenshannon(p, q, base=2)`` returns), not the divergence itself.

    Examples
    --------
    >>> round(js_distance([[0.9, 0.0, 0.0, 0.1]], [[True, True, True, False]]), 3)
    0.693
    """
    p, a, w = _check(pi, allowed, weights)
    sigma = a / a.sum(axis=1, keepdims=True)
    m = 0.5 * (p + sigma)

    def _kl(x: np.ndarray) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, x * np.log2(x / m), 0.0).sum(axis=1)

    divergence = np.clip(0.5 * (_kl(p) + _kl(sigma)), 0.0, 1.0)
    return float(w @ np.sqrt(divergence))


def invariance_tv(
    pi: npt.ArrayLike, pi_transformed: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> float:
    """Occupancy mean of the total variation between π(· | s) and π(· | T(s)) for an invariance T.

    0 when the policy ignores what T changes (e.g. a protected attribute); 1 when it acts disjointly.

    Examples
    --------
    >>> invariance_tv([[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]], [3, 1])
    0.75
    """
    p = _as_policy(pi)
    q = _as_policy(pi_transformed, "pi_transformed")
    if q.shape != p.shape:
        raise DistanceInputError(f"pi_transformed has shape {q.shape}; expected {p.shape}, the shape of pi")
    w = _as_weights(weights, p.shape[0])
    return float(w @ (0.5 * np.abs(p - q).sum(axis=1)))


def forbidden_occupancy(forbidden_mask: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """Share of the state occupancy spent in forbidden states: a constrained-MDP cost, not a distance.

    Examples
    --------
    >>> forbidden_occupancy([False, True, False], [1, 1, 2])
    0.25
    """
    f = np.asarray(forbidden_mask)
    if f.dtype != bool or f.ndim != 1 or f.size == 0:
        raise DistanceInputError(
            f"forbidden_mask must be a non-empty 1-D boolean array; got dtype {f.dtype}, shape {f.shape}"
        )
    w = _as_weights(weights, f.size)
    return float(w @ f)


def alignment_distances(
    pi: npt.ArrayLike,
    allowed: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    eps: float = DEFAULT_KL_EPS,
) -> dict[str, float]:
    """Every distance between π and σ at once.

    Returns
    -------
    dict
        ``"distance"`` (projection, bits), ``"kl"`` (bits, against σ_ε), ``"kl_eps"`` (the ε used),
        ``"tv"`` and ``"js"`` (Jensen–Shannon distance, the square root of the divergence).

    Examples
    --------
    >>> d = alignment_distances([[1.0, 0.0, 0.0, 0.0]], [[True, True, True, False]])
    >>> {k: round(v, 3) for k, v in d.items()}
    {'distance': 0.0, 'kl': 1.585, 'kl_eps': 0.001, 'tv': 0.667, 'js': 0.678}
    """
    kl, used = kl_distance(pi, allowed, weights, eps=eps)
    return {
        "distance": projection_distance(pi, allowed, weights),
        "kl": kl,
        "kl_eps": used,
        "tv": tv_distance(pi, allowed, weights),
        "js": js_distance(pi, allowed, weights),
    }
