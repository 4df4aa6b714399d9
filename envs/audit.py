"""Auditing a policy against a constitution: orbits under its invariances and the distances to it.

:meth:`envs.constitution.Constitution.audit_policy` documents the measures; the formulas are those of
:mod:`attribution.distances`, which envs may not import (see DESIGN.md): a test checks that both agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from envs.errors import InvalidParameterError, NoAllowedActionError, RuleError
from envs.errors import short_repr as _short

if TYPE_CHECKING:
    from envs.constitution import Constitution, Invariance

__all__ = ["MAX_ORBIT_SIZE", "PROJECTION_FLOOR", "audit", "invariance_orbit", "state_key"]

#: Floor on a state's compliance in the projection distances (as in attribution.distances): a policy
#: that never complies is at -log2(1e-12) ≈ 39.86 bits per state, large but finite.
PROJECTION_FLOOR = 1e-12
#: Largest orbit of a state under a constitution's invariances; a transform that does not come back
#: (adding a constant to a float, say) is refused once it has made this many states.
MAX_ORBIT_SIZE = 4096


def audit(
    constitution: Constitution,
    pi_fn: Callable[[Any], Any],
    states: Iterable[Any],
    weights: Sequence[float] | np.ndarray | None,
    *,
    eps: float,
) -> dict[str, float]:
    """:meth:`Constitution.audit_policy <envs.constitution.Constitution.audit_policy>` (which see)."""
    obs_list = list(states)
    if not obs_list:
        raise InvalidParameterError("states is empty; audit_policy needs at least one state")
    w = np.full(len(obs_list), 1.0) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (len(obs_list),) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise InvalidParameterError(
            f"weights must be {len(obs_list)} finite numbers >= 0 with a positive sum; got {_short(w)}"
        )
    if not 0.0 < eps <= 1.0:
        raise InvalidParameterError(f"eps = {eps!r}; the smoothing of σ must be in (0, 1]")
    w = w / w.sum()
    rows: dict[Any, np.ndarray] = {}  # the policy's row and the allowed actions, once per distinct state
    masks: dict[Any, np.ndarray] = {}

    def row(obs: Any, where: int | str) -> np.ndarray:
        key = state_key(obs)
        if key not in rows:
            rows[key] = _policy_row(constitution.n_actions, pi_fn, obs, where)
        return rows[key]

    def mask(obs: Any) -> np.ndarray:
        key = state_key(obs)
        if key not in masks:
            masks[key] = constitution.allowed_actions(obs)
        return masks[key]

    pi = np.stack([row(s, i) for i, s in enumerate(obs_list)])
    allowed = np.stack([mask(s) for s in obs_list])
    empty = np.flatnonzero(~allowed.any(axis=1))
    if empty.size:
        raise NoAllowedActionError(
            f"constitution {constitution.name!r} forbids every action in state {_short(obs_list[empty[0]])} "
            f"(states[{empty[0]}]); σ is undefined there"
        )
    invariances = constitution.invariances
    orbits = None
    if invariances:
        found: dict[Any, list[Any]] = {}
        orbit_rows, orbit_masks, sizes = [], [], []
        for i, s in enumerate(obs_list):
            key = state_key(s)
            if key not in found:
                found[key] = invariance_orbit(s, invariances)
            orbit = found[key]
            where = f"a state in the orbit of states[{i}], {_short(s)},"
            orbit_rows += [row(t, where) for t in orbit]
            common = np.logical_and.reduce([mask(t) for t in orbit])
            if not common.any():
                raise NoAllowedActionError(
                    f"constitution {constitution.name!r}: no action is allowed in every state of the orbit of "
                    f"states[{i}], {_short(s)}, under its invariances; no invariant policy complies there"
                )
            orbit_masks += [mask(t) for t in orbit]
            sizes.append(len(orbit))
        orbits = (np.stack(orbit_rows), np.stack(orbit_masks), np.array(sizes, dtype=np.int64))
    report = _distances(pi, allowed, w, eps, orbits)
    forbidden = np.array([constitution.is_forbidden_state(s) for s in obs_list], dtype=bool)
    report["forbidden_occupancy"] = float(w @ forbidden)
    worst = 0.0
    for rule in invariances:
        tv = np.zeros(len(obs_list))
        for i, s in enumerate(obs_list):
            where = f"a state in the orbit of states[{i}], {_short(s)},"
            moved = np.stack([row(t, where) for t in invariance_orbit(s, (rule,))])
            tv[i] = float(np.max(0.5 * np.abs(moved - pi[i]).sum(axis=1)))
        report[f"invariance_tv[{rule.name}]"] = float(w @ tv)
        worst = max(worst, report[f"invariance_tv[{rule.name}]"])
    report["invariance_tv"] = worst
    report["n_states"] = float(len(obs_list))
    return report


def _policy_row(n_actions: int, pi_fn: Callable[[Any], Any], obs: Any, where: int | str) -> np.ndarray:
    row = np.asarray(pi_fn(obs), dtype=float)
    if row.shape != (n_actions,) or not np.all(np.isfinite(row)) or np.any(row < 0) or abs(row.sum() - 1.0) > 1e-6:
        shown = f"states[{where}]" if isinstance(where, int) else where
        raise InvalidParameterError(
            f"pi_fn({shown}) returned {_short(row)}; expected {n_actions} non-negative probabilities summing to 1"
        )
    return row


def _distances(
    pi: np.ndarray,
    allowed: np.ndarray,
    w: np.ndarray,
    eps: float,
    orbits: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """The distances of :meth:`Constitution.audit_policy` from checked arrays (``w`` normalised).

    ``orbits`` is ``(rows, masks, sizes)``: every visited state's orbit rows and allowed masks, one
    orbit after the other, ``sizes[i]`` rows for state ``i``; None when there are no invariances
    (every orbit the state alone).
    """
    # Same formulas as attribution.distances (projection_distance, invariant_projection_distance,
    # invariance_distance, kl_distance, tv_distance, js_distance), which envs may not import (see
    # DESIGN.md); a test checks that both agree.
    sigma = allowed / allowed.sum(axis=1, keepdims=True)
    # compliance as 1 - forbidden mass, clipped to [floor, 1]: a compliant row is at exactly 0 bits
    comply = np.clip(1.0 - (pi * ~allowed).sum(axis=1), PROJECTION_FLOOR, 1.0)
    forbidden = float(w @ -np.log2(comply))
    whole, invariance = forbidden, 0.0
    if orbits is not None:
        rows, masks, sizes = orbits
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        z = _orbit_compliance(rows, masks, starts, sizes)
        whole = float(w @ -np.log2(np.clip(z, PROJECTION_FLOOR, 1.0)))
        z = _orbit_compliance(rows, np.ones_like(masks, dtype=bool), starts, sizes)
        invariance = float(w @ -np.log2(np.clip(z, PROJECTION_FLOOR, 1.0)))
    sigma_eps = (1.0 - eps) * sigma + eps / pi.shape[1]
    mid = 0.5 * (pi + sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(pi > 0, pi * np.log2(pi / sigma_eps), 0.0).sum(axis=1)
        js = 0.5 * (
            np.where(pi > 0, pi * np.log2(pi / mid), 0.0).sum(axis=1)
            + np.where(sigma > 0, sigma * np.log2(sigma / mid), 0.0).sum(axis=1)
        )
    return {
        "distance": whole,
        "distance.forbidden": forbidden,
        "distance.invariance": invariance,
        "kl": float(w @ kl),
        "kl_eps": float(eps),
        "tv": float(w @ (0.5 * np.abs(pi - sigma).sum(axis=1))),
        "js": float(w @ np.sqrt(np.clip(js, 0.0, 1.0))),
    }


def _orbit_compliance(pi: np.ndarray, allowed: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Z(s) = Σ_{a ∈ A(s)} Π_{s' ∈ O(s)} π(a | s')^{1/|O(s)|} per orbit (attribution.distances' twin).

    Directly when small; near 1 as ``1 - Σ_{a ∉ A} mean - Σ_{a ∈ A} (mean - geometric mean)``, which
    is exactly ``1 - forbidden mass`` on an orbit where the policy is constant.
    """
    k = sizes[:, None].astype(float)
    with np.errstate(divide="ignore"):
        logs = np.log2(pi)
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


def state_key(obs: Any) -> Any:
    """A hashable key of an observation: dtype, shape and bytes (numpy ints and float arrays alike).

    Examples
    --------
    >>> state_key(np.int64(3)) == state_key(3), state_key(np.float32([0.5])) == state_key(np.float64([0.5]))
    (True, False)
    """
    arr = np.asarray(obs)
    if arr.dtype.hasobject:
        return ("object", repr(obs))
    return (arr.dtype.str, arr.shape, arr.tobytes())


def invariance_orbit(obs: Any, invariances: Iterable[Invariance], max_size: int = MAX_ORBIT_SIZE) -> list[Any]:
    """Every state reachable from ``obs`` by applying the invariances' transforms repeatedly, ``obs`` first.

    States are told apart by dtype, shape and bytes. An orbit that grows past ``max_size`` states
    is refused, naming the rule that made the state too many: a transform must come back to where
    it started after a few applications (a flip, a cyclic shift), as its orbit is enumerated.

    Examples
    --------
    >>> from envs.constitution import Invariance
    >>> shift = Invariance("shift", lambda obs: (obs + 1) % 3)
    >>> invariance_orbit(5 % 3, [shift])
    [2, 0, 1]
    >>> import numpy as np
    >>> flip = Invariance("flip-first", lambda obs: np.array([1.0 - obs[0], obs[1]], dtype=np.float32))
    >>> [o.tolist() for o in invariance_orbit(np.array([0.0, 0.5], dtype=np.float32), [flip])]
    [[0.0, 0.5], [1.0, 0.5]]
    """
    rules = tuple(invariances)
    seen = {state_key(obs)}
    orbit = [obs]
    i = 0
    while i < len(orbit):
        state = orbit[i]
        i += 1
        for rule in rules:
            moved = rule.transform(state)
            key = state_key(moved)
            if key in seen:
                continue
            if len(orbit) >= max_size:
                raise RuleError(
                    f"invariance rule {rule.name!r}: the orbit of {_short(obs)} under "
                    f"{', '.join(repr(r.name) for r in rules)} has more than {max_size} states; a transform must "
                    "return to its start after a few applications (a flip, a cyclic shift of a few values)"
                )
            seen.add(key)
            orbit.append(moved)
    return orbit
