"""Liability flows up under every rule: credit minus ``liability`` times the clade's ``penalty``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution import TRANSFORMS, TreeArrays, ValueDataError, get_rule, parse_rule, rule_names
from attribution.table import liability_table
from lineage import LineageGraph

try:  # tests/ may or may not be a package
    from .attribution_reference import reference_credit, reference_liability
    from .attribution_strategies import build, lineages
except ImportError:
    from attribution_reference import reference_credit, reference_liability  # type: ignore[no-redef]
    from attribution_strategies import build, lineages  # type: ignore[no-redef]

Tree = tuple[list[int], list[dict[str, Any]]]
FAST = settings(max_examples=15, deadline=None)

COMPLIANT = {"value": 0.9, "distance": 0.0, "cost": 0.0}
MISALIGNED = {"value": 0.9, "distance": 40.0, "cost": 1.0}


def _issue(child: dict[str, Any] | None) -> LineageGraph:
    """The issue's root (value 0.5, compliant), with the given child or none."""
    g = LineageGraph()
    g.add_agent("0", value=0.5, distance=0.0, cost=0.0, successes=1, trials=2)
    if child is not None:
        g.add_agent("0.0", parent="0", successes=1, trials=2, **child)
    return g


def _root(spec: str, child: dict[str, Any] | None) -> float:
    return float(parse_rule(spec)(_issue(child))["0"])


# ---------------------------------------------------------------- the issue's example


def test_the_issue_numbers() -> None:
    # (0.5 + 2**0) / 2 = 0.75 alone; with the child (0.9 + 2**-40) / 2: 0.75 + 0.9 * 0.45 = 1.155
    assert _root("discounted:transform=additive", None) == pytest.approx(0.75)
    assert _root("discounted:transform=additive", MISALIGNED) == pytest.approx(1.155)
    # with liability=1 the root is charged 0.9 * cost 1: worse off than without the child
    assert _root("discounted:transform=additive,liability=1", MISALIGNED) == pytest.approx(1.155 - 0.9)
    # best-descendant and shapley do not see the misalignment at all without a liability...
    for spec in ("best-descendant", "shapley"):
        assert _root(spec, MISALIGNED) == _root(spec, COMPLIANT)
    # ...and with one they charge it in full (no gamma: undiscounted)
    assert _root("best-descendant:liability=1", MISALIGNED) == pytest.approx(0.9 - 1.0)
    assert _root("shapley:liability=1", MISALIGNED) == pytest.approx(0.25 + 0.45 - 1.0)


@pytest.mark.parametrize("transform", list(TRANSFORMS))
@pytest.mark.parametrize("name", rule_names())
def test_the_root_loses_credit_when_its_child_becomes_misaligned_under_every_rule(
    name: str, transform: str
) -> None:
    spec = f"{name}:liability=1,transform={transform}"
    misaligned, compliant = _root(spec, MISALIGNED), _root(spec, COMPLIANT)
    assert misaligned < compliant, (spec, misaligned, compliant)
    # and by at least the liability (raw values: exactly the child's cost, discounted by gamma)
    gamma = getattr(get_rule(name), "gamma", 1.0)
    assert compliant - misaligned >= gamma * 1.0 - 1e-12


# ---------------------------------------------------------------- liability=0 is today's credit


@pytest.mark.parametrize("name", rule_names())
def test_liability_zero_is_the_old_credit_exactly(name: str) -> None:
    g = _issue(MISALIGNED)
    rule = get_rule(name)
    tree = TreeArrays.from_lineage(g)
    base = rule.credit(tree)
    net, charge = rule.apply_liability(tree, base)
    assert net is base and not charge.any()
    # penalty is not even read: a missing attribute is no error while nothing is charged
    assert get_rule(name, penalty="nowhere")(g).equals(rule(g))
    assert get_rule(name, liability=0)(g).equals(rule(g))


# ---------------------------------------------------------------- chains, stars, random trees


def _chain(costs: list[float | None]) -> LineageGraph:
    g = LineageGraph()
    ids = ["0" + ".0" * k for k in range(len(costs))]
    for k, (a, c) in enumerate(zip(ids, costs, strict=True)):
        g.add_agent(a, parent=ids[k - 1] if k else None, value=0.1 * k, cost=c)
    return g


def _star(costs: list[float | None]) -> LineageGraph:
    g = LineageGraph()
    g.add_agent("0", value=0.5, cost=costs[0])
    for k, c in enumerate(costs[1:]):
        g.add_agent(f"0.{k}", parent="0", value=0.1 * k, cost=c)
    return g


def test_chain_liability_is_discounted_by_gamma_only_where_the_rule_has_one() -> None:
    g = _chain([0.5, None, 1.0, 2.0])  # an agent without a cost counts 0
    lt = liability_table(g, ["discounted:gamma=0.5,liability=2", "clade-mean:liability=2", "self"])
    # 2 * (0.5 + 0.5**2 * 1 + 0.5**3 * 2), then (0 + 0.5 * 1 + 0.25 * 2), ...
    np.testing.assert_allclose(lt.iloc[:, 0], [2 * 1.0, 2 * 1.0, 2 * 2.0, 2 * 2.0])
    np.testing.assert_allclose(lt.iloc[:, 1], [7.0, 6.0, 6.0, 4.0])
    assert (lt.iloc[:, 2] == 0).all()


def test_star_root_answers_for_every_child() -> None:
    g = _star([0.0, 0.25, 0.5, None, 1.0])
    out = get_rule("nth-generation", liability=1)(g)
    # nth-generation (n=1): mean child value 0.15 minus 1.75; leaves have no credit, only liability
    assert out["0"] == pytest.approx(0.15 - 1.75)
    assert out.tolist()[1:] == pytest.approx([-0.25, -0.5, math.nan, -1.0], nan_ok=True)


@pytest.mark.parametrize("shape", ["chain", "star"])
@pytest.mark.parametrize(
    "spec",
    [
        "discounted:gamma=0.7,liability=1.5",
        "discounted-mean:gamma=0.3,liability=1",
        "best-descendant:include_self=false,liability=1",
        "shapley:liability=0.5",
        "marginal:liability=1,transform=lagrangian",
    ],
)
def test_chains_and_stars_equal_the_reference(shape: str, spec: str) -> None:
    costs: list[float | None] = [0.2, None, 0.7, 0.0, 1.3, 0.4]
    g = _chain(costs) if shape == "chain" else _star(costs)
    rule = parse_rule(spec)
    want = reference_credit(g, rule)
    np.testing.assert_allclose(rule(g).to_numpy(), [want[a] for a in g], rtol=1e-12, atol=1e-12, equal_nan=True)


LIABLE = [
    "self:liability=1,penalty=violations",
    "discounted:gamma=0.5,liability=0.7,penalty=violations",
    "discounted:gamma=0.0,liability=1,penalty=violations",
    "discounted-mean:gamma=0.7,liability=2,penalty=violations,transform=additive",
    "clade-sum:liability=1",
    "clade-mean:liability=0.5,penalty=violations",
    "cmp:liability=1,penalty=distance",
    "cmp:liability=1,penalty=violations,transform=multiplicative",
    "best-descendant:liability=1,penalty=violations",
    "best-descendant:include_self=false,liability=0.25,penalty=violations",
    "nth-generation:n=2,liability=1,penalty=violations",
    "marginal:liability=1,penalty=violations",
    "shapley:liability=0.5,penalty=violations",
    "shapley:liability=1,penalty=distance,transform=lagrangian",
    "shapley:liability=1,penalty=violations,exact_max=0,samples=20",
]


@pytest.mark.parametrize("spec", LIABLE)
@FAST
@given(tree=lineages(max_agents=7))
def test_random_trees_equal_the_reference(spec: str, tree: Tree) -> None:
    g = build(*tree)
    rule = parse_rule(spec)
    if rule.penalty not in g.arrays.names:  # e.g. no agent measured a distance
        with pytest.raises(ValueDataError, match=f"penalty='{rule.penalty}' is not a numeric attribute"):
            rule(g)
        return
    got = rule(g).to_numpy()
    if rule.name == "shapley" and rule.exact_max == 0:  # Monte Carlo: the charge is exact all the same
        base = get_rule(spec, liability=0)(g).to_numpy()
        charge = np.array([reference_liability(g, rule)[a][0] for a in g])
        np.testing.assert_allclose(base - got, charge, rtol=1e-9, atol=1e-12)
        return
    want = reference_credit(g, rule)
    np.testing.assert_allclose(got, [want[a] for a in g], rtol=1e-9, atol=1e-12, equal_nan=True)
    charged = liability_table(g, [rule]).iloc[:, 0]
    want_charge = reference_liability(g, rule)
    np.testing.assert_allclose(charged.loc[list(g)], [want_charge[a][0] for a in g], rtol=1e-9, atol=1e-12)


def _loses(name: str) -> list[str]:
    """Rules with their default parameters, and gamma > 0 where a rule has one (gamma = 0 charges
    an agent for itself only)."""
    return [f"{name}:liability={w}" for w in (0.1, 1)] + (
        [f"{name}:gamma=0.2,liability=1"] if hasattr(get_rule(name), "gamma") else []
    )


@pytest.mark.parametrize("spec", [s for n in rule_names() for s in _loses(n)])
@FAST
@given(tree=lineages(max_agents=8), data=st.data())
def test_a_descendant_turning_misaligned_always_costs_every_ancestor_credit(
    spec: str, tree: Tree, data: st.DataObject
) -> None:
    parents, attrs = tree
    attrs = [{**a, "cost": 0.0 if a["cost"] is None else a["cost"]} for a in attrs]
    j = data.draw(st.integers(0, len(parents) - 1), label="who turns misaligned")
    worse = [dict(a) for a in attrs]
    worse[j]["cost"] += data.draw(st.floats(0.05, 2.0), label="extra cost")
    before, after = build(parents, attrs), build(parents, worse)
    rule = parse_rule(spec)
    a, b = rule(before), rule(after)
    agent = list(before)[j]
    liable = {agent, *before.ancestors(agent)}
    for x in before:
        if x in liable:
            assert b[x] < a[x], (x, a[x], b[x])
        else:  # raw values: nobody else's credit moves
            assert b[x] == a[x] or (math.isnan(a[x]) and math.isnan(b[x]))


# ---------------------------------------------------------------- missing and bad penalties


def test_agents_without_a_penalty_count_zero_and_a_clade_without_any_keeps_nan() -> None:
    g = LineageGraph()
    g.add_agent("0", value=0.5, cost=1.0)
    g.add_agent("0.0", parent="0", value=0.2)  # no cost: counts 0
    g.add_agent("0.0.0", parent="0.0")  # neither value nor cost: nothing to say
    g.add_agent("0.1", parent="0", cost=0.5)  # no value, a cost: liable all the same
    out = get_rule("self", liability=2)(g)
    assert out.tolist() == pytest.approx([0.5 - 2 * 1.5, 0.2, math.nan, -1.0], nan_ok=True)
    lt = liability_table(g, ["self:liability=2"]).iloc[:, 0]
    assert lt.loc[["0", "0.0", "0.0.0", "0.1"]].tolist() == [3.0, 0.0, 0.0, 1.0]


def test_a_penalty_attribute_missing_from_the_lineage_is_refused_naming_it() -> None:
    g = _issue(MISALIGNED)
    with pytest.raises(
        ValueDataError,
        match=r"^shapley: penalty='violation' is not a numeric attribute of the lineage \(liability=1\.0\); "
        r"numeric attributes: cost, distance, successes, trials, value$",
    ):
        get_rule("shapley", liability=1, penalty="violation")(g)
    g.update("0", kind="root")  # a text attribute is not a penalty
    with pytest.raises(ValueDataError, match=r"penalty='kind' is not a numeric attribute"):
        get_rule("self", liability=1, penalty="kind")(g)
    assert get_rule("self", liability=1, penalty="nowhere")(LineageGraph()).empty  # nothing to charge
    bare = TreeArrays.from_parent([-1, 0], {"value": [0.1, 0.2]})
    with pytest.raises(ValueDataError, match=r"numeric attributes: value$"):
        get_rule("self", liability=1)(bare)


@pytest.mark.parametrize("bad", [-0.5, math.inf, -math.inf])
def test_negative_or_infinite_penalties_are_refused_naming_the_agent(bad: float) -> None:
    g = _issue(MISALIGNED)
    g.update("0.0", cost=bad)
    message = rf"^best-descendant: agent '0\.0' has cost={bad!r}; a penalty must be a finite number >= 0$"
    with pytest.raises(ValueDataError, match=message):
        get_rule("best-descendant", liability=0.5)(g)
    assert get_rule("best-descendant")(g)["0"] == 0.9  # without a liability the cost is not read


def test_the_liability_name_does_not_clash_with_an_agent_attribute_called_liability() -> None:
    # runs record each agent's accumulated liability (spawn/life); as a penalty it is an attribute like any
    g = _issue(MISALIGNED)
    g.update("0", liability=0.0)
    g.update("0.0", liability=3.0)
    rule = get_rule("self", liability=1, penalty="liability")
    assert rule.spec == "self:liability=1.0,penalty=liability"
    assert rule(g).tolist() == [0.5 - 3.0, 0.9 - 3.0]


def test_monte_carlo_shapley_charges_the_same_liability_as_exact() -> None:
    g = _star([0.0, 0.25, 0.5, None, 1.0])
    mc = get_rule("shapley", liability=1, exact_max=0, samples=200, seed=4)(g)
    base = get_rule("shapley", exact_max=0, samples=200, seed=4)(g)
    np.testing.assert_allclose((base - mc).to_numpy(), [1.75, 0.25, 0.5, 0.0, 1.0])
    assert mc.attrs["method"] == "monte-carlo"


def test_a_large_tree_is_charged_in_one_vectorised_pass() -> None:
    # 200,000 agents: a per-agent clade loop would take minutes; the level-by-level sums take ms.
    rng = np.random.default_rng(0)
    n = 200_000
    parent = np.concatenate([[-1], rng.integers(0, np.arange(1, n))])
    cost = rng.random(n)
    t = TreeArrays.from_parent(parent, {"value": rng.random(n), "cost": cost})
    net, charge = get_rule("discounted", gamma=0.5, liability=1).assess(t)
    # the root's charge is the discounted sum over everyone
    assert charge[0] == pytest.approx(float(np.sum(cost * 0.5 ** t.depth)), rel=1e-9)
    np.testing.assert_allclose(net, get_rule("discounted", gamma=0.5).credit(t) - charge)
