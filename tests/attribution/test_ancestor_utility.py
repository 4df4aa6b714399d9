"""The ``ancestor-utility`` rule: each agent judges its clade with its own utility (issue 16, goal drift)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution import AncestorUtility, RuleParameterError, get_rule, parse_rule, rule_names
from lineage import LineageGraph
from tests.attribution.attribution_reference import reference_credit
from tests.attribution.attribution_strategies import build, lineages

UNIT = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def drifting_lineages(draw: st.DrawFn) -> tuple[list[int], list[dict[str, Any]]]:
    """Small random lineages whose agents carry their own utility weights (some missing)."""
    parents, attrs = draw(lineages(max_agents=8))
    for a in attrs:
        for key, strategy in (
            ("scaled_episode_cost", st.floats(0.0, 3.0, allow_nan=False)),
            ("utility_violations", st.floats(0.0, 2.0, allow_nan=False)),
            ("utility_cost", st.floats(0.0, 2.0, allow_nan=False)),
        ):
            x = draw(st.one_of(st.none(), strategy))
            if x is not None:
                a[key] = x
    return parents, attrs


def _same(a: list[float], b: list[float]) -> bool:
    return all((math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, abs=1e-9) for x, y in zip(a, b, strict=True))


@settings(max_examples=60, deadline=None)
@given(drifting_lineages(), st.sampled_from([0.0, 0.5, 0.9, 1.0]), st.sampled_from([0.0, 1.0]))
def test_ancestor_utility_equals_the_slow_reference(tree: Any, gamma: float, liability: float) -> None:
    parents, attrs = tree
    g = build(parents, attrs)
    rule = get_rule("ancestor-utility", gamma=gamma, liability=liability, penalty="violations")
    fast = rule(g)
    slow = reference_credit(g, rule)
    assert _same(fast.tolist(), [slow[a] for a in fast.index])


@settings(max_examples=40, deadline=None)
@given(drifting_lineages(), st.sampled_from([0.0, 0.3, 0.9, 1.0]))
def test_with_every_weight_zero_it_is_discounted(tree: Any, gamma: float) -> None:
    parents, attrs = tree
    for a in attrs:  # every agent has the same objective, weight 0: its utility is the value
        a["utility_violations"] = a["utility_cost"] = 0.0
    g = build(parents, attrs)
    mine = get_rule("ancestor-utility", gamma=gamma)(g)
    assert _same(mine.tolist(), get_rule("discounted", gamma=gamma)(g).tolist())


def test_an_ancestor_judges_a_drifted_child_with_its_own_utility() -> None:
    # The root penalises violations (weight 2); its child drifted to raw and violates a lot.
    g = LineageGraph()
    weights = {"utility_violations": 2.0, "utility_cost": 2.0}
    g.add_agent("0", value=0.5, scaled_violations=0.0, scaled_episode_cost=0.0, **weights)
    drifted = {"utility_violations": 0.0, "utility_cost": 0.0}
    g.add_agent("0.0", parent="0", value=0.9, scaled_violations=0.3, scaled_episode_cost=0.1, **drifted)
    g.add_agent("0.0.0", parent="0.0", value=0.8, scaled_violations=0.2, scaled_episode_cost=0.0)
    credit = AncestorUtility(gamma=0.5)(g)
    # root: 0.5 + 0.5 * (0.9 - 2 * 0.4) + 0.25 * (0.8 - 2 * 0.2) = 0.5 + 0.05 + 0.1
    assert credit["0"] == pytest.approx(0.65)
    # the drifted child judges by the value alone: 0.9 + 0.5 * 0.8
    assert credit["0.0"] == pytest.approx(1.3)
    assert credit["0.0.0"] == pytest.approx(0.8)  # no weights recorded: the value
    # discounted credits the root with its child's value whatever the root wanted
    assert get_rule("discounted", gamma=0.5)(g)["0"] == pytest.approx(0.5 + 0.45 + 0.2)


def test_the_rule_is_registered_parsed_and_checked() -> None:
    assert "ancestor-utility" in rule_names()
    rule = parse_rule("ancestor-utility:gamma=0.5,weight_cost=my_cost")
    assert rule.spec == "ancestor-utility:gamma=0.5,weight_cost=my_cost" and parse_rule(rule.spec) == rule
    with pytest.raises(RuleParameterError, match="gamma must be a number in"):
        get_rule("ancestor-utility", gamma=1.5)
    with pytest.raises(RuleParameterError, match="weight_violations must be an attribute name"):
        get_rule("ancestor-utility", weight_violations="a b")
    assert np.isnan(AncestorUtility()(_lonely()).iloc[0])


def _lonely() -> LineageGraph:
    g = LineageGraph()
    g.add_agent("0", violations=1.0)  # no value: nothing to credit
    return g
