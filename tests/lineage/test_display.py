"""Rich rendering of a lineage, compared as exact text."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from lineage import LineageGraph


def _text(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=60, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def g() -> LineageGraph:
    g = LineageGraph()
    g.add_agent("0", value=0.25, cost=0.1)
    g.add_agent("0.1", parent="0", operator="mutate", value=0.5)
    g.add_agent("0.0", parent="0", operator="finetune", value=0.123456, cost=2)
    g.add_agent("0.0.0", parent="0.0", operator="add-tool", value=1.0)
    g.add_agent("0.0.0.0", parent="0.0.0")
    g.add_agent("0.10", parent="0", operator="mutate")
    return g


def test_full_tree_with_attributes(g: LineageGraph) -> None:
    assert _text(g.render(attributes=["value", "cost"])) == (
        "0  value=0.25 cost=0.1\n"
        "├── 0.0 finetune  value=0.123 cost=2\n"
        "│   └── 0.0.0 add-tool  value=1\n"
        "│       └── 0.0.0.0\n"
        "├── 0.1 mutate  value=0.5\n"
        "└── 0.10 mutate\n"
    )


def test_rich_protocol_renders_the_plain_tree(g: LineageGraph) -> None:
    assert _text(g) == (
        "0\n"
        "├── 0.0 finetune\n"
        "│   └── 0.0.0 add-tool\n"
        "│       └── 0.0.0.0\n"
        "├── 0.1 mutate\n"
        "└── 0.10 mutate\n"
    )


def test_max_depth_summarises_deeper_clades(g: LineageGraph) -> None:
    assert _text(g.render(max_depth=1)) == (
        "0\n"
        "├── 0.0 finetune\n"
        "│   └── … 2 descendants\n"
        "├── 0.1 mutate\n"
        "└── 0.10 mutate\n"
    )
    assert _text(g.render(max_depth=0)) == "0\n└── … 5 descendants\n"
    assert _text(g.render(root="0.0", max_depth=1)) == (
        "0.0 finetune\n└── 0.0.0 add-tool\n    └── … 1 descendant\n"
    )


def test_max_children_summarises_the_rest(g: LineageGraph) -> None:
    assert _text(g.render(max_children=2)) == (
        "0\n"
        "├── 0.0 finetune\n"
        "│   └── 0.0.0 add-tool\n"
        "│       └── 0.0.0.0\n"
        "├── 0.1 mutate\n"
        "└── … 1 more\n"
    )


def test_forest_lists_roots_in_lineage_order() -> None:
    g = LineageGraph()
    for r in ("0", "2", "10", "1"):
        g.add_agent(r)
    g.add_agent("0.0", parent="0")
    assert _text(g) == "lineage (5 agents, 4 roots)\n├── 0\n│   └── 0.0\n├── 1\n├── 2\n└── 10\n"


def test_wide_and_deep_trees_stay_readable() -> None:
    wide = LineageGraph()
    wide.add_agent("0")
    for k in range(30):
        wide.add_agent(f"0.{k}", parent="0")
    lines = _text(wide).splitlines()
    assert len(lines) == 1 + 12 + 1 and lines[-1] == "└── … 18 more"
    assert lines[-2] == "├── 0.11"

    deep = LineageGraph()
    agent = "0"
    deep.add_agent(agent)
    for _ in range(1500):  # deeper than the recursion limit
        deep.add_agent(agent + ".0", parent=agent)
        agent += ".0"
    tree = deep.render(max_depth=3)
    assert _text(tree).splitlines()[-1].endswith("└── … 1497 descendants")
    assert len(list(deep.walk())) == 1501


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"max_children": 0}, "max_children"), ({"max_depth": -1}, "max_depth")]
)
def test_render_refuses_bad_limits(g: LineageGraph, kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        g.render(**kwargs)
