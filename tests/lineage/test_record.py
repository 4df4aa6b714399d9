"""Recording agents: refusals, missing metrics, numpy scalars, the read-only graph view, the array view."""

from __future__ import annotations

import copy
import json
import math
import pickle

import networkx as nx
import numpy as np
import pytest

from lineage import (
    RESERVED_ATTRIBUTES,
    AttributeTypeError,
    DuplicateAgentError,
    LineageError,
    LineageGraph,
    UnknownAgentError,
)


@pytest.fixture
def g() -> LineageGraph:
    g = LineageGraph(seed=3)
    g.add_agent("0", value=0.5, trials=10)
    g.add_agent("0.0", parent="0", operator="finetune", value=0.7, name="a")
    g.add_agent("0.1", parent="0", operator="mutate", trials=4)
    return g


def _snapshot(g: LineageGraph) -> tuple[object, ...]:
    return (g.ids, {a: g.attributes(a) for a in g}, len(g.arrays), g.arrays.names)


# ---------------------------------------------------------------------- refusals
def test_duplicate_id_is_refused_naming_it(g: LineageGraph) -> None:
    before = _snapshot(g)
    with pytest.raises(DuplicateAgentError, match=r"'0\.0'"):
        g.add_agent("0.0", parent="0")
    assert _snapshot(g) == before


def test_unknown_parent_is_refused_naming_both(g: LineageGraph) -> None:
    before = _snapshot(g)
    with pytest.raises(UnknownAgentError, match=r"parent '0\.7' of agent '0\.7\.0'"):
        g.add_agent("0.7.0", parent="0.7")
    assert _snapshot(g) == before
    assert "0.7.0" not in g.graph


@pytest.mark.parametrize("bad", [[1, 2], {"a": 1}, (1,), 1 + 2j, b"bytes", np.array([1.0, 2.0]), object()])
def test_attribute_of_another_type_is_refused_naming_id_and_attribute(g: LineageGraph, bad: object) -> None:
    before = _snapshot(g)
    with pytest.raises(AttributeTypeError, match=r"agent '0\.2': attribute 'score'"):
        g.add_agent("0.2", parent="0", score=bad, value=1.0)
    # Nothing was recorded: neither the node, nor the row, nor its valid attributes.
    assert _snapshot(g) == before
    assert "0.2" not in g


@pytest.mark.parametrize("name", sorted(RESERVED_ATTRIBUTES - {"agent_id", "parent", "operator"}))
def test_reserved_attribute_name_is_refused(g: LineageGraph, name: str) -> None:
    with pytest.raises(AttributeTypeError, match=rf"agent '0\.2': attribute name '{name}' is reserved"):
        g.add_agent("0.2", parent="0", **{name: 1})
    assert "0.2" not in g


@pytest.mark.parametrize("name", sorted(RESERVED_ATTRIBUTES))
def test_update_refuses_reserved_names(g: LineageGraph, name: str) -> None:
    # update(agent, operator=...) would otherwise store a node attribute that clashes with the
    # edge operator in every file format.
    with pytest.raises((AttributeTypeError, TypeError)):
        g.update("0.0", **{name: "x"})
    assert g.attributes("0.0") == {"value": 0.7, "name": "a"}


def test_non_string_id_and_operator_are_refused(g: LineageGraph) -> None:
    with pytest.raises(AttributeTypeError, match="strings"):
        g.add_agent(3, parent="0")  # type: ignore[arg-type]
    with pytest.raises(AttributeTypeError, match=r"'0\.2': operator"):
        g.add_agent("0.2", parent="0", operator=5)  # type: ignore[arg-type]
    assert len(g) == 3


def test_errors_share_one_hierarchy_and_builtin_bases() -> None:
    assert issubclass(DuplicateAgentError, LineageError) and issubclass(DuplicateAgentError, ValueError)
    assert issubclass(UnknownAgentError, KeyError) and issubclass(AttributeTypeError, TypeError)
    # KeyError would repr-quote the message; ours reads as written.
    assert str(UnknownAgentError("agent 'x' is not in the lineage")) == "agent 'x' is not in the lineage"


# ---------------------------------------------------------------------- values
def test_none_and_nan_are_left_out(g: LineageGraph) -> None:
    g.add_agent("0.2", parent="0", value=None, cost=float("nan"), npcost=np.float64("nan"), trials=3)
    assert g.attributes("0.2") == {"trials": 3}
    assert "value" not in g.graph.nodes["0.2"]
    assert math.isnan(g.column("value")[g.index("0.2")])
    assert "cost" not in g.arrays.names and "npcost" not in g.arrays.names


def test_numpy_scalars_are_stored_as_python_values(g: LineageGraph) -> None:
    g.add_agent(
        "0.2", parent="0", f=np.float32(0.25), i=np.int64(7), b=np.bool_(True), s=np.str_("x"), u=np.uint8(3)
    )
    attrs = g.attributes("0.2")
    assert attrs == {"f": 0.25, "i": 7, "b": True, "s": "x", "u": 3}
    assert [type(attrs[k]) for k in "fibsu"] == [float, int, bool, str, int]
    json.dumps(attrs)  # plain Python values all the way down


def test_infinite_floats_are_kept(g: LineageGraph) -> None:
    g.add_agent("0.2", parent="0", distance=float("inf"))
    assert g.attributes("0.2")["distance"] == math.inf


def test_update_sets_and_removes(g: LineageGraph) -> None:
    g.update("0.1", value=0.9, label="b")
    assert g.attributes("0.1") == {"trials": 4, "value": 0.9, "label": "b"}
    g.update("0.1", value=None, trials=np.int32(5))
    assert g.attributes("0.1") == {"trials": 5, "label": "b"}
    with pytest.raises(UnknownAgentError, match="'9'"):
        g.update("9", value=1.0)


def test_a_refused_update_changes_nothing(g: LineageGraph) -> None:
    before, values = _snapshot(g), g.column("value").copy()
    with pytest.raises(AttributeTypeError, match=r"agent '0\.0': attribute 'bad'"):
        g.update("0.0", value=0.1, bad=[1])
    assert _snapshot(g) == before
    np.testing.assert_array_equal(g.column("value"), values)


def test_equality_is_by_content(g: LineageGraph) -> None:
    other = LineageGraph(seed=3)
    other.add_agent("0", trials=10, value=0.5)
    other.add_agent("0.0", parent="0", operator="finetune", name="a", value=0.7)
    other.add_agent("0.1", parent="0", operator="mutate", trials=4)
    assert other == g
    other.update("0.1", trials=5)
    assert other != g
    assert g != LineageGraph(seed=4) and g != "not a lineage"


# ---------------------------------------------------------------------- read-only graph view
def test_graph_view_refuses_structural_changes(g: LineageGraph) -> None:
    view = g.graph
    for change in (
        lambda: view.add_node("x"),
        lambda: view.add_edge("0", "x"),
        lambda: view.remove_node("0.0"),
        lambda: view.remove_edge("0", "0.0"),
        lambda: view.clear(),
    ):
        with pytest.raises(nx.NetworkXError, match="Frozen"):
            change()
    assert g.ids == ["0", "0.0", "0.1"]


def test_graph_view_refuses_attribute_changes(g: LineageGraph) -> None:
    view = g.graph
    for change in (
        lambda: view.nodes["0"].__setitem__("value", 99),
        lambda: view.nodes["0"].update(value=99),
        lambda: view.nodes["0"].pop("value"),
        lambda: view.nodes["0"].clear(),
        lambda: view.edges["0", "0.0"].__setitem__("operator", "x"),
        lambda: view["0"]["0.0"].update(operator="x"),
    ):
        with pytest.raises(TypeError, match="read-only"):
            change()
    assert g.attributes("0")["value"] == 0.5 and g.operator("0.0") == "finetune"
    assert g.clade_sum("value")["0"] == pytest.approx(1.2)


def test_graph_view_follows_the_lineage_and_serves_networkx(g: LineageGraph) -> None:
    view = g.graph
    g.add_agent("0.0.0", parent="0.0", value=1.0)
    assert set(view) == {"0", "0.0", "0.1", "0.0.0"}
    assert nx.is_arborescence(view)
    assert nx.descendants(view, "0.0") == {"0.0.0"}
    assert view.nodes["0.0.0"] == {"value": 1.0}
    copied = view.copy()
    copied.nodes["0"]["value"] = -1.0  # a copy is the caller's own
    assert g.attributes("0")["value"] == 0.5
    assert json.loads(json.dumps(nx.node_link_data(view, edges="edges")))["graph"] == {"seed": 3}
    assert pickle.loads(pickle.dumps(view.nodes["0"])) == {"value": 0.5, "trials": 10}
    assert copy.deepcopy(view.nodes["0"]) == {"value": 0.5, "trials": 10}
    view.graph["seed"] = 99  # the view's metadata is a snapshot
    assert g.metadata["seed"] == 3
    with pytest.raises(TypeError):
        g.metadata["seed"] = 4  # type: ignore[index]


# ---------------------------------------------------------------------- array view
def test_array_view_grows_and_stays_aligned_with_ids() -> None:
    g = LineageGraph()
    rng = np.random.default_rng(11)
    for i in range(300):  # past several doublings of the initial capacity (64)
        parent = None if i == 0 else g.ids[int(rng.integers(i))]
        attrs = {"value": float(i)} if i % 3 else {"cost": i}
        g.add_agent(str(i), parent=parent, **attrs)
        arrays = g.arrays
        assert len(arrays) == len(g) == i + 1
    ids = g.ids
    assert arrays.names == ["cost", "value"]
    for row, a in enumerate(ids):
        assert g.index(a) == row
        p = g.parent(a)
        assert arrays.parent[row] == (-1 if p is None else ids.index(p))
        assert arrays.depth[row] == g.depth(a) == len(g.ancestors(a))
        expect_value = float(a) if int(a) % 3 else math.nan
        np.testing.assert_equal(arrays.column("value")[row], expect_value)
        np.testing.assert_equal(g.column("cost")[row], math.nan if int(a) % 3 else float(a))
    assert g.column("absent").shape == (300,) and np.isnan(g.column("absent")).all()


def test_array_view_follows_update() -> None:
    g = LineageGraph()
    g.add_agent("0", value=1.0)
    g.add_agent("0.0", parent="0")
    g.update("0.0", value=2.0, ok=True, label="text")
    assert g.column("value").tolist() == [1.0, 2.0]
    assert g.column("ok").tolist()[1] == 1.0
    assert "label" not in g.arrays.names  # text never becomes an all-NaN column
    g.update("0", value=None)
    assert np.isnan(g.column("value")[0])
    g.update("0.0", value="now text")
    assert np.isnan(g.column("value")).all()
    assert g.clade_sum("value") == {"0": 0.0, "0.0": 0.0}
    g.add_agent("0.1", parent="0", value=5)
    assert g.column("value")[2] == 5.0 and g.clade_sum("value")["0"] == 5.0


def test_array_view_is_read_only(g: LineageGraph) -> None:
    for array in (g.arrays.parent, g.arrays.depth, g.column("value")):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 7
