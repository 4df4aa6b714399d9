"""Every LineageGraph query on a table of trees, against networkx references computed here."""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import numpy as np
import pytest

from lineage import LineageGraph, UnknownAgentError

Edge = tuple[str, str | None]  # (agent, parent), in insertion order


def _numeric_key(agent: str) -> tuple[int, ...]:
    # The reference order for all-numeric lineage paths: component by component, as integers.
    return tuple(int(part) for part in agent.split("."))


def _single_root() -> list[Edge]:
    return [("0", None)]


def _chain() -> list[Edge]:
    ids = ["0"]
    for _ in range(30):
        ids.append(ids[-1] + ".0")
    return [(a, ids[i - 1] if i else None) for i, a in enumerate(ids)]


def _wide() -> list[Edge]:
    # 13 children, inserted in reverse, so that both the insertion order and the text order
    # ("0.10" < "0.2") differ from lineage-path order.
    return [("0", None), *((f"0.{k}", "0") for k in reversed(range(13)))]


def _deep() -> list[Edge]:
    # Deeper than Python's recursion limit, with a side leaf every 100 generations.
    edges: list[Edge] = [("0", None)]
    spine = "0"
    for level in range(1, 1101):
        child = spine + ".0"
        edges.append((child, spine))
        if level % 100 == 0:
            edges.append((spine + ".1", spine))
        spine = child
    return edges


def _random_tree(rng: np.random.Generator, root: str, n: int) -> list[Edge]:
    edges: list[Edge] = [(root, None)]
    births: dict[str, int] = {root: 0}
    alive = [root]
    while len(edges) < n:
        parent = alive[int(rng.integers(len(alive)))]
        child = f"{parent}.{births[parent]}"
        births[parent] += 1
        births[child] = 0
        edges.append((child, parent))
        alive.append(child)
    return edges


def _random() -> list[Edge]:
    return _random_tree(np.random.default_rng(2), "0", 80)


def _forest() -> list[Edge]:
    rng = np.random.default_rng(5)
    a, b = _random_tree(rng, "0", 25), _random_tree(rng, "1", 25)
    # Interleave the two trees' births; each stays topological.
    out: list[Edge] = []
    for x, y in zip(a, b, strict=True):
        out += [y, x]
    return out


TREES: dict[str, Callable[[], list[Edge]]] = {
    "single_root": _single_root,
    "chain": _chain,
    "wide": _wide,
    "deep": _deep,
    "random": _random,
    "forest": _forest,
}


def _build(edges: list[Edge]) -> LineageGraph:
    g = LineageGraph(kind="test")
    for i, (agent, parent) in enumerate(edges):
        op = None if parent is None else ("mutate" if i % 2 else "finetune")
        g.add_agent(agent, parent=parent, operator=op, value=i / 10, trials=i, even=i % 2 == 0)
    return g


def _reference(edges: list[Edge]) -> nx.DiGraph:
    ref = nx.DiGraph()
    ref.add_nodes_from(a for a, _ in edges)
    ref.add_edges_from((p, a) for a, p in edges if p is not None)
    return ref


def _sample(ids: list[str], k: int = 40) -> list[str]:
    # Ids of the deep tree are ~1000 components long, so each sort of its clade costs a million
    # key parts: a handful of agents down the spine is enough there.
    k = k if len(ids) < 500 else 5
    if len(ids) <= k:
        return ids
    rng = np.random.default_rng(0)
    return [ids[i] for i in sorted(rng.choice(len(ids), size=k, replace=False))]


@pytest.fixture(params=list(TREES))
def case(request: pytest.FixtureRequest) -> tuple[LineageGraph, nx.DiGraph, list[Edge]]:
    edges = TREES[request.param]()
    return _build(edges), _reference(edges), edges


def _root_of(ref: nx.DiGraph, agent: str) -> str:
    (root,) = [r for r in ref if ref.in_degree(r) == 0 and (r == agent or nx.has_path(ref, r, agent))]
    return root


def test_size_ids_and_membership(case) -> None:
    g, ref, edges = case
    assert len(g) == ref.number_of_nodes()
    assert g.ids == [a for a, _ in edges]
    assert all(a in g for a in ref)
    assert "no-such-agent" not in g
    assert sorted(g.sorted_ids(), key=_numeric_key) == g.sorted_ids()


def test_parent_children(case) -> None:
    g, ref, _ = case
    for a in _sample(list(ref)):
        preds = list(ref.predecessors(a))
        assert g.parent(a) == (preds[0] if preds else None)
        assert g.children(a) == sorted(ref.successors(a), key=_numeric_key)


def test_ancestors_run_from_parent_to_root(case) -> None:
    g, ref, _ = case
    for a in _sample(list(ref)):
        path = nx.shortest_path(ref, _root_of(ref, a), a)  # root ... a
        assert g.ancestors(a) == path[:-1][::-1]


def test_descendants_and_clade(case) -> None:
    g, ref, _ = case
    for a in _sample(list(ref)):
        desc = sorted(nx.descendants(ref, a), key=_numeric_key)
        assert g.descendants(a) == desc
        assert g.clade(a) == sorted([a, *desc], key=_numeric_key)


def test_depth_and_generation(case) -> None:
    g, ref, _ = case
    depth = {a: nx.shortest_path_length(ref, _root_of(ref, a), a) for a in _sample(list(ref))}
    for a, d in depth.items():
        assert g.depth(a) == d
    all_depths = {}
    for root in (r for r in ref if ref.in_degree(r) == 0):
        all_depths.update(nx.single_source_shortest_path_length(ref, root))
    for n in range(max(all_depths.values()) + 2):
        assert g.generation(n) == sorted((a for a, d in all_depths.items() if d == n), key=_numeric_key)


def test_roots_and_leaves(case) -> None:
    g, ref, _ = case
    assert g.roots() == sorted((a for a in ref if ref.in_degree(a) == 0), key=_numeric_key)
    assert g.leaves() == sorted((a for a in ref if ref.out_degree(a) == 0), key=_numeric_key)


def test_mrca(case) -> None:
    g, ref, _ = case
    ids = list(ref)
    rng = np.random.default_rng(1)
    pairs = [(ids[int(i)], ids[int(j)]) for i, j in rng.integers(len(ids), size=(60, 2))]
    for a, b in pairs:
        if _root_of(ref, a) != _root_of(ref, b):
            assert g.mrca(a, b) is None
        else:
            assert g.mrca(a, b) == nx.lowest_common_ancestor(ref, a, b)
        assert g.mrca(a, b) == g.mrca(b, a)
    assert all(g.mrca(a, a) == a for a in ids[:5])


def test_subtree(case) -> None:
    g, ref, _ = case
    for a in _sample(list(ref), 8):
        sub = g.subtree(a)
        members = {a} | nx.descendants(ref, a)
        assert set(sub) == members
        assert sub.roots() == [a]
        assert set(sub.graph.edges) == set(ref.subgraph(members).edges)
        for x in members:
            assert sub.attributes(x) == g.attributes(x)
            assert sub.operator(x) == (None if x == a else g.operator(x))
        assert dict(sub.metadata) == {"kind": "test"}


def test_walk_is_preorder_and_bfs_by_generation(case) -> None:
    g, ref, _ = case
    roots = g.roots()
    expected: list[str] = []
    for r in roots:
        expected += nx.dfs_preorder_nodes(ref, r, sort_neighbors=lambda ns: sorted(ns, key=_numeric_key))
    assert list(g.walk()) == expected
    order = list(g.bfs(roots[0]))
    assert sorted(order, key=_numeric_key) == g.clade(roots[0])
    assert [g.depth(a) for a in order] == sorted(g.depth(a) for a in order)


def test_queries_refuse_unknown_agents() -> None:
    g = _build(_wide())
    for query in (g.parent, g.children, g.ancestors, g.descendants, g.clade, g.depth, g.subtree):
        with pytest.raises(UnknownAgentError, match=r"'0\.99'"):
            query("0.99")
    with pytest.raises(UnknownAgentError, match="'nope'"):
        g.mrca("0.1", "nope")
    with pytest.raises(ValueError, match="-1"):
        g.generation(-1)


def test_lineage_path_order_is_numeric_per_component() -> None:
    g = LineageGraph()
    g.add_agent("0")
    for k in (10, 2, 1, 0):
        g.add_agent(f"0.{k}", parent="0")
    g.add_agent("0.2.0", parent="0.2")
    assert g.children("0") == ["0.0", "0.1", "0.2", "0.10"]
    assert g.descendants("0") == ["0.0", "0.1", "0.2", "0.2.0", "0.10"]
    assert g.leaves() == ["0.0", "0.1", "0.2.0", "0.10"]


def test_any_string_is_an_id() -> None:
    g = LineageGraph()
    g.add_agent("alpha")
    g.add_agent("alpha.b", parent="alpha")
    g.add_agent("alpha.2", parent="alpha")
    g.add_agent("x²", parent="alpha.b")  # a digit that is not a number must not break ordering
    assert g.children("alpha") == ["alpha.2", "alpha.b"]  # numbers before text
    assert g.ancestors("x²") == ["alpha.b", "alpha"]
    assert g.mrca("x²", "alpha.2") == "alpha"


def test_empty_lineage() -> None:
    g = LineageGraph()
    assert (len(g), g.roots(), g.leaves(), g.generation(0), g.ids) == (0, [], [], [], [])
    assert g.clade_sum("value") == {}
