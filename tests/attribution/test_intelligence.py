"""Upsilon and Sigma over an environment suite: environments without a constitution count in Sigma."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.errors import ValueDataError
from attribution.intelligence import intelligence_table, universal_intelligence


def _reference(values: list[float], k: list[float], d: list[float], transform: str, w: float) -> tuple[float, float]:
    """Upsilon and Sigma term by term: NaN V leaves the environment out, NaN D is no constitution (D = 0)."""
    ups = sig = 0.0
    for v, kk, dd in zip(values, k, d, strict=True):
        if math.isnan(v):
            continue
        dd = 0.0 if math.isnan(dd) else dd
        ups += 2.0**-kk * v
        if transform == "multiplicative":
            sig += 2.0**-kk * v * 2.0**-dd
        elif transform == "additive":
            sig += 2.0**-kk * (v + w * 2.0**-dd) / (1.0 + w)
        else:  # lagrangian, with d read as the cost
            sig += 2.0**-kk * (v - dd)
    return ups, sig


def test_an_environment_without_a_constitution_counts_in_sigma() -> None:
    # The example: a perfectly compliant agent, the first environment unconstrained.
    # The old code dropped it from Sigma (Sigma = 0.125, Upsilon = 0.375).
    est = universal_intelligence([0.5, 0.5], [1, 2], distance=[math.nan, 0])
    assert est.upsilon == pytest.approx(0.375)
    assert est.sigma == pytest.approx(0.375)
    assert est.log2_sigma == pytest.approx(est.log2_upsilon)


def test_nan_cost_is_zero_cost_and_additive_gets_full_distance_reward() -> None:
    lag = universal_intelligence([0.5, 0.5], [1, 2], cost=[math.nan, 0.5], transform="lagrangian")
    assert lag.sigma == pytest.approx(0.25 + 0.25 * 0.0)
    add = universal_intelligence([0.5], [1], distance=[math.nan], transform="additive", w=1.0)
    assert add.sigma == pytest.approx(0.5 * (0.5 + 1.0) / 2.0)


def test_a_nan_value_still_leaves_the_environment_out_of_both_sums() -> None:
    est = universal_intelligence([math.nan, 0.5], [1, 2], distance=[0.0, math.nan])
    assert est.upsilon == pytest.approx(0.125) and est.sigma == pytest.approx(0.125)
    assert est.shares.tolist() == pytest.approx([0.0, 1.0])


def test_no_distances_at_all_still_gives_no_sigma() -> None:
    assert math.isnan(universal_intelligence([0.5], [1.0]).sigma)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.just(math.nan), st.floats(0.0, 1.0)),
            st.floats(0.0, 30.0),
            st.one_of(st.just(math.nan), st.floats(0.0, 5.0)),
        ),
        min_size=1,
        max_size=6,
    ),
    transform=st.sampled_from(["multiplicative", "additive", "lagrangian"]),
)
def test_matches_the_term_by_term_sum(rows: list[tuple[float, float, float]], transform: str) -> None:
    v, k, d = (list(x) for x in zip(*rows, strict=True))
    key = "cost" if transform == "lagrangian" else "distance"
    est = universal_intelligence(v, k, transform=transform, w=0.5, **{key: d})  # type: ignore[arg-type]
    ups, sig = _reference(v, k, d, transform, 0.5)
    assert est.upsilon == pytest.approx(ups, abs=1e-12)
    assert est.sigma == pytest.approx(sig, abs=1e-12)


def test_table_reads_a_missing_or_nan_column_as_no_constitution() -> None:
    v = pd.DataFrame({"free": [0.5, 1.0], "ruled": [0.5, 1.0]}, index=["a", "b"])
    k = {"free": 1.0, "ruled": 2.0}
    only_ruled = pd.DataFrame({"ruled": [0.0, 1.0]}, index=["a", "b"])  # the old code raised KeyError
    t = intelligence_table(v, k, distance=only_ruled)
    assert t["sigma"].tolist() == pytest.approx([0.375, 0.5 + 0.125])
    with_nan = only_ruled.assign(free=np.nan)
    assert intelligence_table(v, k, distance=with_nan)["sigma"].tolist() == pytest.approx(t["sigma"].tolist())
    assert intelligence_table(v, k, distance=with_nan)["upsilon"].tolist() == pytest.approx([0.375, 0.75])
    with pytest.raises(ValueDataError, match=r"distance has no row for agent\(s\) \['b'\]"):
        intelligence_table(v, k, distance=only_ruled.loc[["a"]])


def test_shares_of_a_subnormal_value_do_not_overflow() -> None:
    # 2**-K V with V = 5e-324 is Upsilon itself; the old code computed 2**1074 * V = inf * V.
    est = universal_intelligence([5e-324, 0.0], [0.0, 1.0], distance=[0.0, 0.0])
    assert est.shares.tolist() == [1.0, 0.0] and est.dominant == 0
    assert est.log2_upsilon == pytest.approx(-1074.0)
