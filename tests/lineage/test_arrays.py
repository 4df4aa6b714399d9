"""Vectorised clade passes (clade_sum, clade_max, depth_levels) against slow per-node references."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage import LineageArrays, LineageGraph, clade_max, clade_sum, depth_levels


@st.composite
def lineages(draw: st.DrawFn) -> LineageGraph:
    """Random forests: each agent's parent is any earlier agent, or none (a new root)."""
    n = draw(st.integers(1, 40))
    g = LineageGraph()
    for i in range(n):
        p = draw(st.integers(-1, i - 1)) if i else -1
        value = draw(st.one_of(st.none(), st.floats(-10, 10, allow_nan=False), st.integers(-5, 5)))
        g.add_agent(str(i), parent=None if p < 0 else str(p), value=value)
    return g


def _reference_sum(g: LineageGraph, attribute: str, gamma: float, missing: float) -> dict[str, float]:
    ref = nx.DiGraph(g.graph)  # an independent copy for networkx's own traversal
    out = {}
    for a in g:
        dist = nx.single_source_shortest_path_length(ref, a)  # a and every descendant, with distance
        total = 0.0
        for d_id, k in dist.items():
            v = ref.nodes[d_id].get(attribute)
            total += (gamma**k) * (missing if v is None else v)
        out[a] = total
    return out


def _reference_max(g: LineageGraph, attribute: str) -> dict[str, float]:
    out = {}
    for a in g:
        values = [g.attributes(x).get(attribute) for x in [a, *nx.descendants(g.graph, a)]]
        present = [v for v in values if v is not None]
        out[a] = max(present) if present else math.nan
    return out


@settings(max_examples=30, deadline=None)
@given(g=lineages(), gamma=st.sampled_from([0.0, 0.3, 0.9, 1.0, 1.5]), missing=st.sampled_from([0.0, -1.0]))
def test_clade_sum_matches_per_node_reference(g: LineageGraph, gamma: float, missing: float) -> None:
    got = g.clade_sum("value", gamma=gamma, missing=missing)
    want = _reference_sum(g, "value", gamma, missing)
    assert list(got) == g.ids
    for a in g:
        assert got[a] == pytest.approx(want[a], rel=1e-9, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(g=lineages())
def test_clade_max_matches_per_node_reference(g: LineageGraph) -> None:
    got, want = g.clade_max("value"), _reference_max(g, "value")
    assert list(got) == g.ids
    for a in g:
        if math.isnan(want[a]):
            assert math.isnan(got[a])
        else:
            assert got[a] == want[a]


def test_gamma_zero_and_one_on_a_hand_tree() -> None:
    g = LineageGraph()
    g.add_agent("0", value=1.0)
    g.add_agent("0.0", parent="0", value=2.0)
    g.add_agent("0.1", parent="0", value=4.0)
    g.add_agent("0.0.0", parent="0.0", value=8.0)
    g.add_agent("0.0.1", parent="0.0")  # missing
    assert g.clade_sum("value", gamma=0.0) == {"0": 1.0, "0.0": 2.0, "0.1": 4.0, "0.0.0": 8.0, "0.0.1": 0.0}
    assert g.clade_sum("value", gamma=1.0) == {"0": 15.0, "0.0": 10.0, "0.1": 4.0, "0.0.0": 8.0, "0.0.1": 0.0}
    assert g.clade_sum("value", gamma=0.5)["0"] == 1.0 + 0.5 * (2 + 4) + 0.25 * 8
    assert g.clade_sum("value", gamma=1.0, missing=100.0)["0"] == 115.0
    best = g.clade_max("value")
    assert math.isnan(best.pop("0.0.1"))  # nobody in its clade has a value
    assert best == {"0": 8.0, "0.0": 8.0, "0.1": 4.0, "0.0.0": 8.0}


@pytest.mark.parametrize("gamma", [-0.1, math.nan])
def test_clade_sum_refuses_bad_gamma(gamma: float) -> None:
    g = LineageGraph()
    g.add_agent("0", value=1.0)
    with pytest.raises(ValueError, match="gamma"):
        g.clade_sum("value", gamma=gamma)


def test_array_functions_check_shapes_and_leave_inputs_alone() -> None:
    parent, depth = np.array([-1, 0, 0]), np.array([0, 1, 1])
    values = np.array([1.0, 2.0, 3.0])
    assert clade_sum(values, parent, depth, gamma=1.0).tolist() == [6.0, 2.0, 3.0]
    assert values.tolist() == [1.0, 2.0, 3.0]
    assert clade_max(values, parent, depth).tolist() == [3.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="one per agent"):
        clade_sum(np.ones(2), parent, depth)
    with pytest.raises(ValueError, match="one per agent"):
        clade_max(np.ones(4), parent, depth)


def _random_forest(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, nx.DiGraph]:
    """Parent rows (each an earlier row, or -1 for a new root), depths, and the same forest in networkx."""
    parent = np.array([-1 if i == 0 or rng.random() < 0.1 else int(rng.integers(i)) for i in range(n)])
    depth = np.zeros(n, dtype=np.int64)
    for i in range(n):
        depth[i] = 0 if parent[i] < 0 else depth[parent[i]] + 1
    forest = nx.DiGraph()
    forest.add_nodes_from(range(n))
    forest.add_edges_from((int(p), i) for i, p in enumerate(parent) if p >= 0)
    return parent, depth, forest


def test_array_clade_passes_match_networkx_descendants_on_random_forests() -> None:
    rng = np.random.default_rng(2024)
    for _ in range(60):
        n = int(rng.integers(1, 30))
        parent, depth, forest = _random_forest(rng, n)
        values = np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n).round(3))
        gamma = float(rng.choice([0.0, 0.5, 1.0, 1.7]))
        levels = depth_levels(depth)
        for got in (clade_sum(values, parent, depth, gamma), clade_sum(values, parent, depth, gamma, levels=levels)):
            for i in range(n):
                clade = [i, *nx.descendants(forest, i)]
                want = sum(gamma ** int(depth[d] - depth[i]) * values[d] for d in clade)
                np.testing.assert_allclose(got[i], want, rtol=1e-12, atol=1e-12, equal_nan=True)
        for got in (clade_max(values, parent, depth), clade_max(values, parent, depth, levels=levels)):
            for i in range(n):
                present = [values[d] for d in [i, *nx.descendants(forest, i)] if not math.isnan(values[d])]
                assert math.isnan(got[i]) if not present else got[i] == max(present)


def test_clade_sum_adds_a_parents_children_together_first() -> None:
    # The children's terms are summed (in row order) before the parent's own value joins them:
    # 1e16 + (1 + 1) is 1e16 + 2, where adding the children one by one would round each 1 away.
    parent, depth = np.array([-1, 0, 0]), np.array([0, 1, 1])
    assert clade_sum(np.array([1e16, 1.0, 1.0]), parent, depth)[0] == 1e16 + 2.0


def test_depth_levels_groups_rows_by_depth_in_row_order() -> None:
    depth = np.array([0, 1, 2, 1, 0, 2, 1])
    assert [lvl.tolist() for lvl in depth_levels(depth)] == [[0, 4], [1, 3, 6], [2, 5]]
    assert depth_levels(np.array([], dtype=np.int64)) == []


def test_lineage_arrays_grow_past_capacity() -> None:
    arrays = LineageArrays(capacity=2)
    for i in range(9):
        assert arrays.append(i - 1, {"value": float(i)} if i % 2 else {}) == i
    assert arrays.depth.tolist() == list(range(9))
    assert arrays.parent.tolist() == list(range(-1, 8))
    expected = [np.nan, 1, np.nan, 3, np.nan, 5, np.nan, 7, np.nan]
    np.testing.assert_array_equal(arrays.column("value"), expected)
