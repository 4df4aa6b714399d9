"""Every rule on small hand-built trees, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from attribution import TreeArrays, ValueDataError, get_rule, parse_rule
from lineage import LineageGraph

NAN = math.nan


@pytest.fixture
def tree() -> LineageGraph:
    r"""
    0      value 0.2  successes 2/10  distance 1  cost 0.1
    ├─ 0.0 value 0.6  successes 6/10  distance 0  cost 0.4
    │  └─ 0.0.0  value 0.4  successes 3/5  distance 2  cost 0.0
    └─ 0.1 value 0.1  successes 0/5   distance 1  cost 0.2
    """
    g = LineageGraph()
    g.add_agent("0", value=0.2, successes=2, trials=10, distance=1.0, cost=0.1)
    g.add_agent("0.0", parent="0", value=0.6, successes=6, trials=10, distance=0.0, cost=0.4)
    g.add_agent("0.1", parent="0", value=0.1, successes=0, trials=5, distance=1.0, cost=0.2)
    g.add_agent("0.0.0", parent="0.0", value=0.4, successes=3, trials=5, distance=2.0, cost=0.0)
    return g


ORDER = ["0", "0.0", "0.1", "0.0.0"]

# Hand-worked credit per agent, in the order 0, 0.0, 0.1, 0.0.0.
HAND = {
    "self": [0.2, 0.6, 0.1, 0.4],
    # 0: 0.2 + 0.5 (0.6 + 0.1) + 0.25 * 0.4
    "discounted:gamma=0.5": [0.65, 0.8, 0.1, 0.4],
    "discounted": [0.2 + 0.9 * 0.7 + 0.81 * 0.4, 0.6 + 0.9 * 0.4, 0.1, 0.4],
    "discounted:gamma=0.0": [0.2, 0.6, 0.1, 0.4],
    # 0.65 / (1 + 0.5 * 2 + 0.25); 0.8 / 1.5
    "discounted-mean:gamma=0.5": [0.65 / 2.25, 0.8 / 1.5, 0.1, 0.4],
    "clade-sum": [1.3, 1.0, 0.1, 0.4],
    "discounted:gamma=1.0": [1.3, 1.0, 0.1, 0.4],
    "clade-mean": [0.325, 0.5, 0.1, 0.4],
    # (2 + 6 + 0 + 3) / 30; (6 + 3) / 15
    "cmp": [11 / 30, 0.6, 0.0, 0.6],
    "best-descendant": [0.6, 0.6, 0.1, 0.4],
    "best-descendant:include_self=false": [0.6, 0.4, NAN, NAN],
    "nth-generation": [0.35, 0.4, NAN, NAN],
    "nth-generation:n=2": [0.4, NAN, NAN, NAN],
    "nth-generation:n=0": [0.2, 0.6, 0.1, 0.4],
    "marginal": [0.2, 0.4, -0.1, -0.2],
    "marginal:baseline=0.5": [-0.3, 0.4, -0.1, -0.2],
    # 0.0.0 and 0.1 never raise the best counted value (0.0 beats 0.0.0, the root beats 0.1): both
    # are null players; the root and 0.0 split v({0})=0.2, v({0, 0.0})=0.6, v({0.0})=0.
    "shapley": [0.4, 0.2, 0.0, 0.0],
    # values times 2**-distance: 0.1, 0.6, 0.05, 0.1
    "self:transform=multiplicative": [0.1, 0.6, 0.05, 0.1],
    # (V + 2**-D) / 2
    "self:transform=additive": [0.35, 0.8, 0.3, 0.325],
    "self:transform=additive,w=3": [(0.2 + 1.5) / 4, (0.6 + 3) / 4, (0.1 + 1.5) / 4, (0.4 + 0.75) / 4],
    "self:transform=lagrangian": [0.1, 0.2, -0.1, 0.4],
    "self:transform=lagrangian,lam=0.5": [0.15, 0.4, 0.0, 0.4],
    "clade-sum:transform=multiplicative": [0.85, 0.7, 0.05, 0.1],
    # success rates aligned: 0.1, 0.6, 0.0, 0.15 -> successes 1, 6, 0, 0.75 over trials 10, 10, 5, 5
    "cmp:transform=multiplicative": [7.75 / 30, 6.75 / 15, 0.0, 0.15],
    # penalties flow up: each ancestor is liable for its clade's cost and distance
    "clade-sum:value=cost": [0.7, 0.4, 0.2, 0.0],
    "discounted:gamma=0.5,value=distance": [1.0 + 0.5 * 1 + 0.25 * 2, 1.0, 1.0, 2.0],
    # aligned values 0.1, 0.6, 0.05, 0.1: v({0})=0.1, v({0, 0.0})=0.6 -> 0.1/2 + 0.6/2 and 0.5/2
    "shapley:transform=multiplicative": [0.35, 0.25, 0.0, 0.0],
    "marginal:transform=multiplicative": [0.1, 0.5, -0.05, -0.5],
}


@pytest.mark.parametrize("spec", list(HAND))
def test_hand_worked(tree: LineageGraph, spec: str) -> None:
    got = parse_rule(spec)(tree)
    assert isinstance(got, pd.Series)
    assert got.index.tolist() == ORDER
    assert got.name == parse_rule(spec).spec
    np.testing.assert_allclose(got.to_numpy(), HAND[spec], rtol=0, atol=1e-12, equal_nan=True)


def test_two_symmetric_children_share_shapley_credit() -> None:
    # v(root)=0, any child with the root = 0.5: permutations give the root 4/6 of 0.5.
    g = LineageGraph()
    g.add_agent("0", value=0.0)
    g.add_agent("0.0", parent="0", value=0.5)
    g.add_agent("0.1", parent="0", value=0.5)
    np.testing.assert_allclose(get_rule("shapley")(g).to_numpy(), [1 / 3, 1 / 12, 1 / 12])


def test_missing_values_give_nan_where_the_rule_has_nothing_to_say() -> None:
    g = LineageGraph()
    g.add_agent("0")
    g.add_agent("0.0", parent="0", value=0.5)
    g.add_agent("0.1", parent="0")
    assert get_rule("self")(g).isna().tolist() == [True, False, True]
    assert get_rule("discounted", gamma=0.5)(g).tolist()[:2] == [0.25, 0.5]
    assert math.isnan(get_rule("discounted")(g)["0.1"])
    assert math.isnan(get_rule("marginal")(g)["0.0"])  # the parent has no value
    assert get_rule("cmp")(g).isna().all()  # no trials anywhere
    assert get_rule("clade-mean")(g).tolist()[:2] == [0.5, 0.5]
    # Shapley: 0.1 is a null player, the root and 0.0 split the 0.5
    np.testing.assert_allclose(get_rule("shapley")(g).to_numpy(), [0.25, 0.25, 0.0])


def test_a_rule_on_an_empty_lineage_is_an_empty_series() -> None:
    for name in ("self", "discounted", "cmp", "shapley", "nth-generation", "best-descendant"):
        out = get_rule(name)(LineageGraph())
        assert out.empty


def test_rules_run_on_bare_arrays_with_row_numbers_as_ids() -> None:
    t = TreeArrays.from_parent([-1, 0, 0, 1], {"value": [0.2, 0.6, 0.1, 0.4]})
    out = get_rule("discounted", gamma=0.5)(t)
    assert out.index.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(out.to_numpy(), [0.65, 0.8, 0.1, 0.4])


def test_negative_distance_is_refused_naming_the_agent(tree: LineageGraph) -> None:
    tree.update("0.1", distance=-0.5)
    with pytest.raises(ValueDataError, match=r"agent '0\.1' has distance=-0\.5.*>= 0"):
        get_rule("self", transform="multiplicative")(tree)
    assert get_rule("self")(tree)["0.1"] == 0.1  # raw values do not read distances


def test_cmp_refuses_more_successes_than_trials(tree: LineageGraph) -> None:
    tree.update("0.0", successes=11)
    with pytest.raises(ValueDataError, match=r"cmp: agent '0\.0' has successes=11\.0 and trials=10\.0"):
        get_rule("cmp")(tree)


def test_shapley_beyond_exact_limit_reports_monte_carlo(tree: LineageGraph) -> None:
    out = get_rule("shapley", exact_max=2, samples=4000, seed=3)(tree)
    assert out.attrs["method"] == "monte-carlo" and out.attrs["seed"] == 3 and out.attrs["samples"] == 4000
    assert out.sum() == pytest.approx(0.6, abs=1e-12)  # each ordering is efficient
    se = get_rule("shapley", exact_max=2, samples=4000, seed=3).estimate(tree).stderr
    assert np.all(np.abs(out.to_numpy() - HAND["shapley"]) <= 4 * se + 1e-12)
    again = get_rule("shapley", exact_max=2, samples=4000, seed=3)(tree)
    assert out.equals(again)
    exact = get_rule("shapley")(tree)
    assert exact.attrs["method"] == "exact" and exact.attrs["max_stderr"] == 0.0
