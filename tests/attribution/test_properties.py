"""Properties on random small trees: the vectorised rules equal the slow reference, and the rules'
defining identities hold."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution import get_rule, parse_rule, transform_values

try:  # tests/ may or may not be a package
    from .attribution_reference import reference_credit
    from .attribution_strategies import build, lineages, reorder
except ImportError:
    from attribution_reference import reference_credit  # type: ignore[no-redef]
    from attribution_strategies import build, lineages, reorder  # type: ignore[no-redef]

SPECS = [
    "self",
    "discounted",
    "discounted:gamma=0.3",
    "discounted-mean:gamma=0.7",
    "clade-sum",
    "clade-mean",
    "cmp",
    "cmp:transform=additive,w=2",
    "cmp:transform=lagrangian",
    "best-descendant",
    "best-descendant:include_self=false",
    "nth-generation",
    "nth-generation:n=2",
    "marginal:baseline=0.1",
    "shapley",
    "self:transform=multiplicative",
    "discounted:gamma=0.5,transform=additive,w=0.5",
    "clade-mean:transform=lagrangian,lam=2",
    "shapley:transform=lagrangian",
    "discounted:value=cost,gamma=0.8",
    # liability flows up (penalty=violations is on every generated lineage; some agents lack it)
    "self:liability=1,penalty=violations",
    "discounted:gamma=0.5,liability=0.7,penalty=violations",
    "discounted:gamma=0.0,liability=1,penalty=violations",
    "discounted-mean:gamma=0.7,liability=2,penalty=violations,transform=additive",
    "clade-sum:liability=1,penalty=violations",
    "clade-mean:liability=0.5,penalty=violations",
    "cmp:liability=1,penalty=violations",
    "best-descendant:liability=1,penalty=violations",
    "best-descendant:include_self=false,liability=0.25,penalty=violations",
    "nth-generation:n=2,liability=1,penalty=violations",
    "marginal:liability=1,penalty=violations",
    "shapley:liability=0.5,penalty=violations",
    "shapley:liability=1,penalty=violations,transform=lagrangian",
]

FAST = settings(max_examples=40, deadline=None)
Tree = tuple[list[int], list[dict[str, Any]]]


def _series(spec: str, parents: list[int], attrs: list[dict[str, Any]]) -> Any:
    return parse_rule(spec)(build(parents, attrs))


@FAST
@given(lineages(max_agents=7), st.sampled_from(SPECS))
def test_vectorised_equals_reference(tree: Tree, spec: str) -> None:
    g = build(*tree)
    rule = parse_rule(spec)
    want = reference_credit(g, rule)
    got = rule(g)
    np.testing.assert_allclose(got.to_numpy(), [want[a] for a in g], rtol=1e-9, atol=1e-12, equal_nan=True)


@FAST
@given(lineages(), st.integers(0, 2**31), st.sampled_from(SPECS))
def test_credit_does_not_depend_on_insertion_order(tree: Tree, seed: int, spec: str) -> None:
    parents, attrs = tree
    a = parse_rule(spec)(build(parents, attrs))
    b = parse_rule(spec)(build(parents, attrs, order=reorder(parents, seed)))
    np.testing.assert_allclose(b.loc[a.index].to_numpy(), a.to_numpy(), rtol=1e-9, atol=1e-12, equal_nan=True)


@FAST
@given(lineages(), st.floats(0.0, 1.0))
def test_gamma_zero_is_self_and_gamma_one_is_clade_sum(tree: Tree, gamma: float) -> None:
    g = build(*tree)
    np.testing.assert_array_equal(get_rule("discounted", gamma=0)(g), get_rule("self")(g))
    np.testing.assert_array_equal(get_rule("discounted-mean", gamma=0)(g), get_rule("self")(g))
    np.testing.assert_allclose(get_rule("discounted", gamma=1)(g), get_rule("clade-sum")(g), equal_nan=True)
    np.testing.assert_allclose(
        get_rule("discounted-mean", gamma=1)(g), get_rule("clade-mean")(g), equal_nan=True
    )
    # With every value present, the clade sum is the lineage's own vectorised clade_sum.
    full = build(tree[0], [{**a, "value": 0.5 if a["value"] is None else a["value"]} for a in tree[1]])
    ours = get_rule("discounted", gamma=gamma)(full)
    theirs = full.clade_sum("value", gamma=gamma)
    np.testing.assert_allclose(ours.to_numpy(), [theirs[a] for a in full], rtol=1e-12)


@FAST
@given(
    lineages(missing=False),
    st.sampled_from(
        [
            "self",
            "discounted",
            "discounted-mean",
            "clade-mean",
            "clade-sum",
            "best-descendant",
            "nth-generation",
            "cmp",
            "shapley",
        ]
    ),
)
def test_multiplicative_alignment_never_raises_credit(tree: Tree, name: str) -> None:
    g = build(*tree)
    raw = get_rule(name)(g).to_numpy()
    aligned = get_rule(name, transform="multiplicative")(g).to_numpy()
    both = ~np.isnan(raw)
    assert np.array_equal(both, ~np.isnan(aligned))
    if name != "shapley":  # Shapley shares out one total: a single agent's share may grow
        assert np.all(aligned[both] <= raw[both] + 1e-12)
    else:
        assert aligned.sum() <= raw.sum() + 1e-12


@FAST
@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=20), st.lists(st.floats(0, 30), min_size=20, max_size=20)
)
def test_multiplicative_transform_never_raises_a_value(values: list[float], dist: list[float]) -> None:
    d = dist[: len(values)]
    out = transform_values(values, distance=d, transform="multiplicative")
    assert np.all(out <= np.asarray(values)) and np.all(out >= 0)
    add = transform_values(values, distance=d, transform="additive")
    assert np.all((add >= 0) & (add <= 1))


@FAST
@given(lineages(max_agents=10))
def test_shapley_is_efficient(tree: Tree) -> None:
    parents, attrs = tree
    g = build(parents, attrs)
    known = [a["value"] for a in attrs if a["value"] is not None]
    best = max(known) if known else 0.0
    assert abs(get_rule("shapley")(g).sum() - best) < 1e-12
    mc = get_rule("shapley", exact_max=0, samples=30, seed=1)(g)
    assert abs(mc.sum() - best) < 1e-12


@FAST
@given(lineages(max_agents=8, missing=False), st.data())
def test_shapley_is_symmetric_for_twin_leaves(tree: Tree, data: st.DataObject) -> None:
    parents, attrs = tree
    at = data.draw(st.integers(0, len(parents) - 1))
    twin = {**attrs[at], "value": data.draw(st.floats(0, 1))}
    g = build([*parents, at, at], [*attrs, twin, dict(twin)])
    out = get_rule("shapley")(g).to_numpy()
    assert abs(out[-1] - out[-2]) < 1e-12
    mc = get_rule("shapley", exact_max=0, samples=20, seed=0)(g)
    assert len(mc) == len(out)


@settings(max_examples=10, deadline=None)
@given(lineages(max_agents=8, min_agents=4))
def test_monte_carlo_shapley_agrees_with_exact_within_its_standard_error(tree: Tree) -> None:
    g = build(*tree)
    exact = get_rule("shapley")(g).to_numpy()
    est = get_rule("shapley", exact_max=0, samples=3000, seed=11).estimate(g)
    # 5 standard errors per agent, plus rounding; a biased estimator would fail for some tree.
    assert np.all(np.abs(est.credit - exact) <= 5 * est.stderr + 1e-9)
