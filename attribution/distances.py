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
    "invariance_distance",
    "invariance_orbit_tv",
    "invariance_tv",
    "invariant_projection_distance",
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


def _as_orbits(
    pi_orbits: Any, allowed_orbits: Any | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-state orbit rows, checked and concatenated: ``(pi, allowed, starts, sizes)``.

    ``pi`` and ``allowed`` have one row per orbit state, the orbits one after the other; state ``i``'s
    rows are ``starts[i] : starts[i] + sizes[i]``. ``allowed_orbits`` None allows every action.
    """
    if isinstance(pi_orbits, np.ndarray) and pi_orbits.ndim != 3:
        raise DistanceInputError(
            f"pi_orbits has shape {pi_orbits.shape}; give a 3-D array (n_states, orbit size, n_actions) "
            "or a sequence of 2-D arrays (orbit size, n_actions), one per state"
        )
    try:
        blocks = [np.asarray(b, dtype=float) for b in pi_orbits]
    except (TypeError, ValueError) as exc:
        raise DistanceInputError(f"pi_orbits is not a sequence of 2-D probability arrays: {exc}") from None
    if not blocks:
        raise DistanceInputError("pi_orbits is empty; give at least one state's orbit rows")
    for i, b in enumerate(blocks):
        if b.ndim != 2 or b.shape[0] == 0:
            raise DistanceInputError(
                f"pi_orbits[{i}] has shape {b.shape}; each state's orbit rows must be a non-empty 2-D array "
                "(orbit size, n_actions), the visited state's own row among them"
            )
        if b.shape[1] != blocks[0].shape[1]:
            raise DistanceInputError(
                f"pi_orbits[{i}] has {b.shape[1]} actions; pi_orbits[0] has {blocks[0].shape[1]}, every orbit "
                "needs the same number"
            )
    sizes = np.array([b.shape[0] for b in blocks], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    pi = _as_policy(np.concatenate(blocks), "pi_orbits (concatenated)")
    if allowed_orbits is None:
        allowed = np.ones(pi.shape, dtype=bool)
    else:
        masks = [np.asarray(m) for m in allowed_orbits]
        if len(masks) != len(blocks):
            raise DistanceInputError(
                f"allowed_orbits has {len(masks)} states; pi_orbits has {len(blocks)}, one orbit per state"
            )
        for i, (m, b) in enumerate(zip(masks, blocks, strict=True)):
            if m.dtype != bool or m.shape != b.shape:
                raise DistanceInputError(
                    f"allowed_orbits[{i}] has dtype {m.dtype}, shape {m.shape}; expected a boolean array of "
                    f"shape {b.shape}, the shape of pi_orbits[{i}]"
                )
        allowed = np.concatenate(masks)
        _as_allowed(allowed, pi.shape)  # every orbit state allows some action
        common = np.logical_and.reduceat(allowed, starts, axis=0)
        empty = np.flatnonzero(~common.any(axis=1))
        if empty.size:
            raise DistanceInputError(
                f"state {empty[0]}: no action is allowed in every state of its orbit, so no invariant "
                "compliant policy exists there; the constitution's invariances and forbidden actions conflict"
            )
    return pi, allowed, starts, sizes


def _orbit_compliance(pi: np.ndarray, allowed: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Z(s) = Σ_{a ∈ A(s)} Π_{s' ∈ O(s)} π(a | s')^{1/|O(s)|} per state, from concatenated orbit rows.

    A(s) is the actions allowed in every state of the orbit. Computed two ways that agree for rows
    summing to 1: directly (accurate when Z is small), and as ``1 - Σ_{a ∉ A} p̄(a) - Σ_{a ∈ A} (p̄(a) - g(a))``
    with ``p̄`` the orbit's arithmetic and ``g`` its geometric mean of π(a | ·) (accurate near 1; a column
    constant over the orbit has a gap of exactly 0). The second is used for Z >= 1/2 and for orbits
    on which the policy is constant: then it is the projection distance's ``1 - forbidden mass``
    exactly, so a policy constant on every orbit and compliant has Z = 1 exactly.
    """
    k = sizes[:, None].astype(float)
    with np.errstate(divide="ignore"):
        logs = np.log2(pi)  # -inf where π is 0: the geometric mean is then 0
    g = np.exp2(np.add.reduceat(logs, starts, axis=0) / k)
    hi = np.maximum.reduceat(pi, starts, axis=0)
    constant = hi == np.minimum.reduceat(pi, starts, axis=0)
    mean = np.where(constant, hi, np.add.reduceat(pi, starts, axis=0) / k)
    gap = np.where(constant, 0.0, np.maximum(mean - g, 0.0))
    common = np.logical_and.reduceat(allowed, starts, axis=0)
    direct = (g * common).sum(axis=1)
    complement = 1.0 - (mean * ~common).sum(axis=1) - (gap * common).sum(axis=1)
    out: np.ndarray = np.where(constant.all(axis=1) | (complement >= 0.5), complement, direct)
    return out


def invariant_projection_distance(
    pi_orbits: Any,
    allowed_orbits: Any | None,
    weights: npt.ArrayLike | None = None,
    *,
    floor: float = PROJECTION_FLOOR,
) -> float:
    """The projection distance onto policies that keep every invariance and comply, in bits.

    For a visited state s with occupancy w(s), O(s) is its orbit under all the constitution's
    invariances (every state reachable by applying them repeatedly, s included, visited or not,
    weighted uniformly) and A(s) the actions allowed in every state of O(s). With

        Z(s) = Σ_{a ∈ A(s)} Π_{s' ∈ O(s)} π(a | s')^{1/|O(s)|},

    D(π) = Σ_s w(s) · -log2 clip(Z(s), floor, 1). Per orbit it is min over σ' (one distribution
    for the whole orbit, supported on A(s)) of the orbit's mean KL(σ' ‖ π(· | s')): the projection
    of π onto invariant compliant policies (the minimiser is σ'(a) ∝ the geometric mean of π(a | ·)).
    It is 0 exactly for a policy constant on every orbit and compliant, positive for one that
    decides differently within an orbit or puts mass on a forbidden action, and with no invariances
    (every orbit the state alone) it is :func:`projection_distance`.

    Parameters
    ----------
    pi_orbits : sequence of arrays (orbit size, n_actions), or array (n_states, orbit size, n_actions)
        For each visited state, the policy's row in every state of its orbit (the state's own row
        among them); orbits may differ in size. Rows sum to 1.
    allowed_orbits : the same shapes, of bool, or None (every action allowed: :func:`invariance_distance`)
        ``allowed_orbits[i][j, a]``: the constitution allows ``a`` in the ``j``-th state of orbit ``i``.
    weights : array, shape (n_states,), optional
        Occupancy of the visited states; normalised here. Uniform when omitted.
    floor : float
        Lower bound on Z(s), in (0, 1).

    Examples
    --------
    >>> flip = [[[1.0, 0.0], [0.0, 1.0]]]  # hires in one group, passes in the other
    >>> round(invariant_projection_distance(flip, [[[True, True], [True, True]]]), 2)
    39.86
    >>> half = [[[0.5, 0.5], [1.0, 0.0]]]
    >>> round(invariant_projection_distance(half, [[[True, True], [True, True]]]), 4)
    0.5
    >>> invariant_projection_distance([[[0.5, 0.5]]], [[[True, False]]])  # no invariance: projection
    1.0
    """
    if not 0.0 < floor < 1.0:
        raise DistanceInputError(f"floor = {floor!r}; it must be in (0, 1)")
    pi, allowed, starts, sizes = _as_orbits(pi_orbits, allowed_orbits)
    w = _as_weights(weights, len(sizes))
    z = np.clip(_orbit_compliance(pi, allowed, starts, sizes), floor, 1.0)
    return float(w @ -np.log2(z))


def invariance_distance(
    pi_orbits: Any, weights: npt.ArrayLike | None = None, *, floor: float = PROJECTION_FLOOR
) -> float:
    """The invariances' part of the distance, in bits: :func:`invariant_projection_distance` with every action allowed.

    ``Σ_s w(s) · -log2 clip(Σ_a Π_{s' ∈ O(s)} π(a | s')^{1/|O(s)|}, floor, 1)``: the projection onto
    invariant policies, forbidden actions ignored. At least 0, and 0 exactly for a policy constant
    on every orbit (whatever it does there); 0 with no invariances. It and the forbidden part
    (:func:`projection_distance`) do not add up to the whole distance: each is a projection on its own.

    Examples
    --------
    >>> invariance_distance([[[0.5, 0.5], [0.5, 0.5]], [[1.0, 0.0]]])
    0.0
    >>> round(invariance_distance([[[0.5, 0.5], [1.0, 0.0]]]), 4)
    0.5
    """
    return invariant_projection_distance(pi_orbits, None, weights, floor=floor)


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


def invariance_orbit_tv(pi: npt.ArrayLike, pi_orbits: Any, weights: npt.ArrayLike | None = None) -> float:
    """Occupancy mean over s of the largest TV between π(· | s) and π(· | s') over s' in s's orbit under one invariance.

    The orbit is every state reachable from s by applying the rule's transform repeatedly, so a
    transform of order 3 (a cyclic shift of three age bands) is checked on both other states, not
    one. With orbits of two states (a flip) it is :func:`invariance_tv`. In [0, 1]; 0 when the
    policy is constant on every orbit.

    Parameters
    ----------
    pi : array, shape (n_states, n_actions)
        The policy's row in each visited state.
    pi_orbits : sequence of arrays (orbit size, n_actions)
        The policy's rows in every state of each visited state's orbit (its own row may be among them).

    Examples
    --------
    >>> invariance_orbit_tv([[0.0, 1.0]], [[[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]]])
    1.0
    """
    p = _as_policy(pi)
    rows, _, starts, sizes = _as_orbits(pi_orbits, None)
    if len(sizes) != p.shape[0] or rows.shape[1] != p.shape[1]:
        raise DistanceInputError(
            f"pi_orbits has {len(sizes)} orbits of {rows.shape[1]} actions; expected {p.shape[0]} of "
            f"{p.shape[1]}, one per row of pi"
        )
    w = _as_weights(weights, p.shape[0])
    tv = 0.5 * np.abs(rows - np.repeat(p, sizes, axis=0)).sum(axis=1)
    return float(w @ np.maximum.reduceat(tv, starts))


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
