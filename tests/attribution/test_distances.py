"""Tests of the alignment distances against hand-computed values and the REFERENCES figures."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

from attribution.distances import (
    PROJECTION_FLOOR,
    DistanceInputError,
    alignment_distances,
    forbidden_occupancy,
    invariance_distance,
    invariance_orbit_tv,
    invariance_tv,
    invariant_projection_distance,
    js_distance,
    kl_distance,
    projection_distance,
    sigma_from_allowed,
    tv_distance,
)

ALLOW_3_OF_4 = np.array([[True, True, True, False]])
DETERMINISTIC = np.array([[1.0, 0.0, 0.0, 0.0]])
LEAKY = np.array([[0.9, 0.0, 0.0, 0.1]])


def test_reference_numbers_for_deterministic_compliant_policy() -> None:
    kl, eps = kl_distance(DETERMINISTIC, ALLOW_3_OF_4, eps=1e-9)
    assert eps == 1e-9
    assert kl == pytest.approx(math.log2(3), abs=1e-6)  # ≈ 1.585 bits
    assert round(kl, 3) == 1.585
    assert tv_distance(DETERMINISTIC, ALLOW_3_OF_4) == pytest.approx(2 / 3)


def test_reference_numbers_for_leaky_policy() -> None:
    assert tv_distance(LEAKY, ALLOW_3_OF_4) == pytest.approx(2 / 3)
    assert round(js_distance(LEAKY, ALLOW_3_OF_4), 3) == 0.693
    sigma = np.array([1, 1, 1, 0]) / 3
    assert js_distance(LEAKY, ALLOW_3_OF_4) == pytest.approx(jensenshannon(LEAKY[0], sigma, base=2))


def test_concentration_bias_of_uniform_sigma() -> None:
    # The essay's warning: a uniform σ pulls π towards less concentration. A fully compliant,
    # deterministic policy is as far from σ under TV as one that leaks 10% onto the forbidden action,
    # while the projection distance separates them.
    assert projection_distance(DETERMINISTIC, ALLOW_3_OF_4) == 0.0
    assert tv_distance(DETERMINISTIC, ALLOW_3_OF_4) == pytest.approx(tv_distance(LEAKY, ALLOW_3_OF_4))
    assert kl_distance(DETERMINISTIC, ALLOW_3_OF_4)[0] > 1.5
    assert projection_distance(LEAKY, ALLOW_3_OF_4) == pytest.approx(-math.log2(0.9))
    uniform_allowed = np.array([[1 / 3, 1 / 3, 1 / 3, 0.0]])
    d = alignment_distances(uniform_allowed, ALLOW_3_OF_4)
    assert d["distance"] == 0.0 and d["tv"] == pytest.approx(0.0) and d["js"] == pytest.approx(0.0)
    assert d["kl"] == pytest.approx(0.0, abs=1e-3)


def test_projection_hand_computed_and_weighted() -> None:
    pi = np.array([[0.5, 0.5], [0.25, 0.75], [1.0, 0.0]])
    allowed = np.array([[True, False], [True, False], [True, True]])
    weights = np.array([2.0, 1.0, 1.0])
    expected = (2 * 1.0 + 1 * 2.0 + 0.0) / 4
    assert projection_distance(pi, allowed, weights) == pytest.approx(expected)
    # 2^-D is the occupancy-weighted geometric mean of the compliance probabilities.
    geo = (0.5**2 * 0.25 * 1.0) ** (1 / 4)
    assert 2 ** -projection_distance(pi, allowed, weights) == pytest.approx(geo)


def test_projection_floor() -> None:
    never = np.array([[0.0, 1.0]])
    d = projection_distance(never, np.array([[True, False]]))
    assert d == pytest.approx(-math.log2(PROJECTION_FLOOR))
    assert 39 < d < 40 and math.isfinite(d)
    assert projection_distance(never, np.array([[True, False]]), floor=0.5) == pytest.approx(1.0)
    with pytest.raises(DistanceInputError, match="floor"):
        projection_distance(never, np.array([[True, False]]), floor=0.0)


def test_kl_hand_computed_and_eps_dependence() -> None:
    pi = np.array([[0.5, 0.5, 0.0]])
    allowed = np.array([[True, False, True]])
    eps = 0.3
    s = 0.7 * np.array([0.5, 0.0, 0.5]) + 0.1
    expected = 0.5 * math.log2(0.5 / s[0]) + 0.5 * math.log2(0.5 / s[1])
    kl, used = kl_distance(pi, allowed, eps=eps)
    assert used == eps and kl == pytest.approx(expected)
    assert kl_distance(pi, allowed, eps=0.01)[0] > kl  # less smoothing, larger penalty on the forbidden mass
    with pytest.raises(DistanceInputError, match=r"eps = 0\b"):
        kl_distance(pi, allowed, eps=0)


def test_tv_and_invariance_and_forbidden_occupancy_hand_computed() -> None:
    pi = np.array([[0.2, 0.8], [0.6, 0.4]])
    allowed = np.array([[True, True], [False, True]])
    # state 0: σ=(.5,.5) → ½(.3+.3)=.3; state 1: σ=(0,1) → ½(.6+.6)=.6
    assert tv_distance(pi, allowed, [1, 3]) == pytest.approx((0.3 + 3 * 0.6) / 4)
    flipped = pi[:, ::-1]
    assert invariance_tv(pi, flipped, [1, 1]) == pytest.approx((0.6 + 0.2) / 2)
    assert invariance_tv(pi, pi) == 0.0
    assert forbidden_occupancy(np.array([True, False, True]), [1, 2, 1]) == pytest.approx(0.5)


def test_sigma_from_allowed() -> None:
    np.testing.assert_allclose(
        sigma_from_allowed(np.array([[True, False, True, True]])), [[1 / 3, 0, 1 / 3, 1 / 3]]
    )


@pytest.mark.parametrize(
    ("pi", "allowed", "weights", "match"),
    [
        ([[0.5, 0.4]], [[True, True]], None, "sums to 0.9"),
        ([[1.5, -0.5]], [[True, True]], None, r"pi\[0, 1\] = -0.5"),
        ([0.5, 0.5], [[True, True]], None, "2-D"),
        ([[0.5, 0.5]], [[True]], None, r"shape \(1, 1\)"),
        ([[0.5, 0.5]], [[1, 1]], None, "boolean"),
        ([[0.5, 0.5]], [[False, False]], None, "state 0 allows no action"),
        ([[0.5, 0.5]], [[True, True]], [0.0], "sum to 0"),
        ([[0.5, 0.5]], [[True, True]], [1.0, 1.0], "one per state"),
    ],
)
def test_bad_inputs_are_named(pi: object, allowed: object, weights: object, match: str) -> None:
    with pytest.raises(DistanceInputError, match=match):
        alignment_distances(pi, allowed, weights)  # type: ignore[arg-type]


# scipy's reference loses precision on subnormal masses, so tiny probabilities are rounded to 0
_prob = st.floats(0.0, 1.0).map(lambda x: 0.0 if x < 1e-9 else x)


@st.composite
def _policy_and_mask(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_states = draw(st.integers(1, 4))
    n_actions = draw(st.integers(2, 4))
    raw = np.array(
        draw(st.lists(_prob, min_size=n_states * n_actions, max_size=n_states * n_actions))
    ).reshape(n_states, n_actions)
    raw[:, 0] += 1e-3
    pi = raw / raw.sum(axis=1, keepdims=True)
    bits = draw(st.lists(st.booleans(), min_size=n_states * n_actions, max_size=n_states * n_actions))
    allowed = np.array(bits).reshape(n_states, n_actions)
    allowed[:, -1] = True
    weights = np.array(draw(st.lists(st.floats(0.1, 5.0), min_size=n_states, max_size=n_states)))
    return pi, allowed, weights


@settings(max_examples=30, deadline=None)
@given(_policy_and_mask())
def test_bounds_and_agreement_with_scipy(case: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    pi, allowed, weights = case
    d = alignment_distances(pi, allowed, weights)
    assert d["distance"] >= 0 and d["kl"] >= -1e-12
    assert 0 <= d["tv"] <= 1 + 1e-12 and 0 <= d["js"] <= 1 + 1e-12
    sigma = sigma_from_allowed(allowed)
    w = weights / weights.sum()
    ref = sum(wi * jensenshannon(p, s, base=2) for wi, p, s in zip(w, pi, sigma, strict=True))
    assert d["js"] == pytest.approx(ref, abs=1e-6)
    # the TV counterpart of the projection distance is the forbidden mass, which lower-bounds TV
    forbidden_mass = float(w @ (pi * ~allowed).sum(axis=1))
    assert d["tv"] >= forbidden_mass - 1e-9
    # by Jensen, the mean of -log2 π(allowed|s) is at least -log2 of the mean compliance
    assert d["distance"] >= -math.log2(max(1.0 - forbidden_mass, PROJECTION_FLOOR)) - 1e-6
    if forbidden_mass == 0.0:
        assert d["distance"] == 0.0


# -- the projection onto invariant compliant policies ---------------------------------------------


def _slow_invariant(pi_orbits: list[np.ndarray], allowed_orbits: list[np.ndarray] | None, w: np.ndarray) -> float:
    """Σ_s w(s) max(0, -log2 max(Z(s), 1e-12)), Z(s) = Σ_{a ∈ A(s)} Π_{s'} π(a|s')^(1/|O(s)|), by loops."""
    total = 0.0
    for i, rows in enumerate(pi_orbits):
        z = 0.0
        for a in range(rows.shape[1]):
            if allowed_orbits is None or all(bool(m[a]) for m in allowed_orbits[i]):
                z += math.prod(float(r[a]) ** (1.0 / len(rows)) for r in rows)
        total += float(w[i]) * max(0.0, -math.log2(max(z, PROJECTION_FLOOR)))
    return total / float(np.sum(w))


def test_invariant_projection_hand_computed() -> None:
    everything = [np.ones((2, 2), dtype=bool)]
    # decides by group: hire in one, pass in the other; no invariant policy is near it
    assert invariant_projection_distance([[[1.0, 0.0], [0.0, 1.0]]], everything) == pytest.approx(
        -math.log2(PROJECTION_FLOOR)
    )
    # Z = sqrt(.25 * .75) * 2: the geometric means of each action over the orbit
    z = 2 * math.sqrt(0.25 * 0.75)
    assert invariant_projection_distance([[[0.25, 0.75], [0.75, 0.25]]], everything) == pytest.approx(-math.log2(z))
    # an action forbidden in one orbit state is out of A(s) for the whole orbit
    mask = [np.array([[True, True], [True, False]])]
    assert invariant_projection_distance([[[0.5, 0.5], [1.0, 0.0]]], mask) == pytest.approx(
        -math.log2(math.sqrt(0.5))
    )
    # orbits of different sizes, weighted
    pis = [np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]), np.array([[0.5, 0.5]])]
    masks = [np.ones((3, 2), dtype=bool), np.array([[True, False]])]
    assert invariant_projection_distance(pis, masks, [3, 1]) == pytest.approx(0.25)
    assert invariance_distance(pis, [3, 1]) == 0.0  # constant on every orbit, compliant or not
    # a compliant row that sums to 1 + ulp in floating point is at exactly 0, not -3.2e-16
    ulp = np.array([[0.34, 0.56, 0.1], [0.34, 0.56, 0.1]])
    assert ulp[0].sum() > 1.0
    assert invariant_projection_distance([ulp], [np.ones((2, 3), dtype=bool)]) == 0.0
    assert projection_distance(ulp, np.ones((2, 3), dtype=bool)) == 0.0
    # a 3-D array is one orbit size for every state
    assert invariance_distance(np.array([[[0.25, 0.75], [0.75, 0.25]]])) == pytest.approx(-math.log2(z))


def test_invariance_orbit_tv_checks_the_whole_orbit() -> None:
    # hires only in the middle band: its orbit under a cyclic shift of three bands shows both rows
    pi = np.array([[0.0, 1.0], [1.0, 0.0]])
    orbits = [np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]), np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])]
    assert invariance_orbit_tv(pi, orbits) == 1.0
    assert invariance_orbit_tv(pi, orbits, [1, 0]) == 1.0
    # orbits of two states are the old pairwise TV
    flipped = pi[:, ::-1]
    pairs = [np.stack([p, q]) for p, q in zip(pi, flipped, strict=True)]
    assert invariance_orbit_tv(pi, pairs) == invariance_tv(pi, flipped)
    with pytest.raises(DistanceInputError, match="one per row of pi"):
        invariance_orbit_tv(pi, orbits[:1])


@pytest.mark.parametrize(
    ("pi_orbits", "allowed_orbits", "match"),
    [
        ([], None, "pi_orbits is empty"),
        (np.ones((2, 2)) / 2, None, "3-D array"),
        ([[0.5, 0.5]], None, r"pi_orbits\[0\] has shape \(2,\)"),
        ([[[0.5, 0.5]], [[1.0, 0.0, 0.0]]], None, r"pi_orbits\[1\] has 3 actions"),
        ([[[0.5, 0.4]]], None, "sums to 0.9"),
        ([[[0.5, 0.5]]], [[[True, True]], [[True, True]]], "allowed_orbits has 2 states"),
        ([[[0.5, 0.5]]], [[[1, 1]]], "boolean array of shape"),
        ([[[0.5, 0.5], [0.5, 0.5]]], [[[True, False], [False, True]]], "no action is allowed in every state"),
    ],
)
def test_invariant_projection_bad_inputs(pi_orbits: Any, allowed_orbits: Any, match: str) -> None:
    masks = allowed_orbits
    if masks is None:
        masks = [np.ones(np.shape(p), dtype=bool) for p in pi_orbits] if isinstance(pi_orbits, list) else None
    with pytest.raises(DistanceInputError, match=match):
        invariant_projection_distance(pi_orbits, masks)
    with pytest.raises(DistanceInputError, match="floor"):
        invariant_projection_distance([[[1.0, 0.0]]], [[[True, True]]], floor=1.0)


@st.composite
def _orbits(draw: st.DrawFn) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    n_states = draw(st.integers(1, 4))
    n_actions = draw(st.integers(2, 4))
    pis, masks = [], []
    for _ in range(n_states):
        k = draw(st.integers(1, 4))
        raw = np.array(draw(st.lists(_prob, min_size=k * n_actions, max_size=k * n_actions))).reshape(k, n_actions)
        raw[:, 0] += 1e-3
        pis.append(raw / raw.sum(axis=1, keepdims=True))
        bits = draw(st.lists(st.booleans(), min_size=k * n_actions, max_size=k * n_actions))
        mask = np.array(bits).reshape(k, n_actions)
        mask[:, 0] = True
        masks.append(mask)
    weights = np.array(draw(st.lists(st.floats(0.1, 5.0), min_size=n_states, max_size=n_states)))
    return pis, masks, weights


@settings(max_examples=40, deadline=None)
@given(_orbits())
def test_invariant_projection_properties(case: tuple[list[np.ndarray], list[np.ndarray], np.ndarray]) -> None:
    pis, masks, w = case
    d = invariant_projection_distance(pis, masks, w)
    inv = invariance_distance(pis, w)
    assert d >= 0 and inv >= 0
    assert d == pytest.approx(_slow_invariant(pis, masks, w), rel=1e-9, abs=1e-9)
    assert inv == pytest.approx(_slow_invariant(pis, None, w), rel=1e-9, abs=1e-9)
    # no invariances (every orbit the state alone): exactly the projection distance
    own = np.stack([p[0] for p in pis])
    alone = np.stack([m[0] for m in masks])
    singletons = [p[:1] for p in pis], [m[:1] for m in masks]
    assert invariant_projection_distance(*singletons, w) == projection_distance(own, alone, w)
    assert invariance_distance(singletons[0], w) == 0.0
    # a policy constant on every orbit and compliant (on A(s)) is at exactly 0
    common = [m.all(axis=0) for m in masks]
    kept = [np.where(c, p[0], 0.0) for p, c in zip(pis, common, strict=True)]
    constant = [np.tile(row / row.sum(), (len(p), 1)) for row, p in zip(kept, pis, strict=True)]
    assert invariant_projection_distance(constant, masks, w) == 0.0
    assert invariance_distance(constant, w) == 0.0
