"""Phylogenetic summary (size, depths, branching, Sackin, Colless, operators) on hand-worked trees."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from lineage import LineageGraph, colless, sackin, summarize, summary_table


def _tree(edges: list[tuple[str, str | None, str | None]]) -> LineageGraph:
    g = LineageGraph()
    for agent, parent, op in edges:
        g.add_agent(agent, parent=parent, operator=op)
    return g


@pytest.fixture
def caterpillar() -> LineageGraph:
    # 0 ─┬─ 0.0 ─┬─ 0.0.0 ─┬─ 0.0.0.0
    #    │       │         └─ 0.0.0.1
    #    │       └─ 0.0.1
    #    └─ 0.1
    return _tree(
        [
            ("0", None, None),
            ("0.0", "0", "mutate"),
            ("0.1", "0", "finetune"),
            ("0.0.0", "0.0", "mutate"),
            ("0.0.1", "0.0", None),
            ("0.0.0.0", "0.0.0", "mutate"),
            ("0.0.0.1", "0.0.0", "add-tool"),
        ]
    )


@pytest.fixture
def uneven() -> LineageGraph:
    # 0 has three children; 0.2 has four leaves.
    edges: list[tuple[str, str | None, str | None]] = [("0", None, None)]
    edges += [(f"0.{k}", "0", "mutate") for k in range(3)]
    edges += [(f"0.2.{k}", "0.2", "finetune") for k in range(4)]
    return _tree(edges)


def test_caterpillar(caterpillar: LineageGraph) -> None:
    # Leaves at depths 1, 2, 3, 3; Colless |3-1| + |2-1| + |1-1| (the classic (n-1)(n-2)/2 for n=4).
    assert sackin(caterpillar) == 9
    assert colless(caterpillar) == 3.0
    s = summarize(caterpillar)
    assert s == {
        "agents": 7,
        "roots": 1,
        "leaves": 4,
        "max_depth": 3,
        "depth_distribution": {0: 1, 1: 2, 2: 2, 3: 2},
        "branching_mean": 2.0,
        "branching_max": 2,
        "sackin": 9,
        "colless": 3.0,
        "operators": {"add-tool": 1, "finetune": 1, "mutate": 3, "unrecorded": 1},
    }


def test_balanced_binary_tree_has_colless_zero() -> None:
    g = _tree(
        [("0", None, None), ("0.0", "0", None), ("0.1", "0", None)]
        + [(f"0.{i}.{j}", f"0.{i}", None) for i in range(2) for j in range(2)]
    )
    assert (sackin(g), colless(g)) == (8, 0.0)


def test_more_than_two_children_uses_the_median(uneven: LineageGraph) -> None:
    # Children of 0 hold 1, 1 and 4 leaves: median 1, so |1-1| + |1-1| + |4-1| = 3.
    assert colless(uneven) == 3.0
    assert sackin(uneven) == 1 + 1 + 4 * 2
    s = summarize(uneven)
    assert (s["branching_mean"], s["branching_max"]) == (3.5, 4)
    assert s["depth_distribution"] == {0: 1, 1: 3, 2: 4}
    assert s["leaves"] == 6 and s["operators"] == {"finetune": 4, "mutate": 3}


def test_chain_single_root_and_forest() -> None:
    chain = _tree([("0", None, None), ("0.0", "0", None), ("0.0.0", "0.0", None)])
    assert (sackin(chain), colless(chain)) == (2, 0.0)
    assert summarize(chain)["branching_mean"] == 1.0

    single = _tree([("0", None, None)])
    s = summarize(single)
    assert (s["agents"], s["leaves"], s["sackin"], s["colless"], s["branching_max"]) == (1, 1, 0, 0.0, 0)
    assert s["operators"] == {}

    forest = _tree([("0", None, None), ("1", None, None), ("1.0", "1", "mutate"), ("1.1", "1", "mutate")])
    s = summarize(forest)
    assert (s["roots"], s["leaves"], s["sackin"], s["colless"]) == (2, 3, 2, 0.0)
    assert s["depth_distribution"] == {0: 2, 1: 2}


def test_empty_lineage_summary() -> None:
    s = summarize(LineageGraph())
    assert (s["agents"], s["leaves"], s["max_depth"], s["sackin"]) == (0, 0, 0, 0)
    assert s["depth_distribution"] == {} and s["operators"] == {}


def test_summary_table_lists_every_measure(caterpillar: LineageGraph) -> None:
    console = Console(file=io.StringIO(), width=60, color_system=None)
    console.print(summary_table(caterpillar))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    for row in (
        "agents ",
        "max depth",
        "0:1 1:2 2:2 3:2",
        "2.00 / 2",
        "Sackin index",
        "Colless index",
        "operator mutate",
        "operator unrecorded",
    ):
        assert row in text
    assert caterpillar.summary() == summarize(caterpillar)
