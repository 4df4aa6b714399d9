"""Rich rendering of a lineage, compared as exact text."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from lineage import LineageGraph


def _text(renderable: object, width: int = 60) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
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


def _work(tree: object) -> tuple[int, int]:
    """(rendered lines, guide segments) of a rich Tree: rich draws one guide per level of nesting
    on every line, so the second number is the work of printing it."""
    lines = guides = 0
    stack = [(tree, 0)]
    while stack:
        node, level = stack.pop()
        lines += 1
        guides += level
        stack.extend((c, level + 1) for c in node.children)  # type: ignore[attr-defined]
    return lines, guides


def _chain(n: int, side_leaves: bool = False) -> LineageGraph:
    g = LineageGraph()
    g.add_agent("a0")
    for i in range(1, n):
        g.add_agent(f"a{i}", parent=f"a{i - 1}", operator="mutate")
        if side_leaves:  # a caterpillar: every agent also has a leaf child, so nothing is a chain
            g.add_agent(f"b{i}", parent=f"a{i - 1}")
    return g


@pytest.mark.parametrize("side_leaves", [False, True])
def test_deep_lineages_render_in_linear_work(side_leaves: bool) -> None:
    small, big = (_work(_chain(n, side_leaves).render()) for n in (2_000, 8_000))
    # four times the agents: about four times the lines and guides, never sixteen (quadratic)
    assert big[0] <= 4 * small[0] + 10
    assert big[1] <= 4.5 * small[1] + 100
    assert big[1] <= 70 * (2 * 8_000)  # at most MAX_NESTING guides a line


def test_a_long_line_of_descent_is_folded() -> None:
    text = _text(_chain(20_000).render())
    lines = text.splitlines()
    assert lines == [
        "a0",
        "└── a1 mutate",
        "    └── … 19997 agents in a line of descent, each the only child of the one before (depth",
        "        2–19998)",
        "        └── a19999 mutate",
    ] or len(lines) <= 6
    assert "a19999 mutate" in text and "19997 agents" in text


def test_deep_caterpillar_stops_nesting_and_counts_the_rest() -> None:
    text = _text(_chain(500, side_leaves=True).render(max_children=2), width=1000)
    assert "… 870 descendants (nested too deep to draw; render from a64)" in text
    assert max(len(line) for line in text.splitlines()) <= 4 * 64 + 80


def test_max_agents_bounds_the_drawing_and_counts_the_rest() -> None:
    import re

    from rich.console import Console

    g = LineageGraph()
    g.add_agent("0")
    rng = np.random.default_rng(4)
    for i in range(1, 3000):
        p = g.ids[int(rng.integers(i))]
        g.add_agent(f"{p}.{len(g.children(p))}", parent=p)
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(g.render(max_agents=100, max_children=10_000))
    text = console.file.getvalue()
    hidden = sum(int(n) for n in re.findall(r"… (\d+) descendants? not drawn", text))
    hidden += sum(int(n) for n in re.findall(r"more child\w*: (\d+) agents? not drawn", text))
    found = re.search(r"the tree draws ([\d,]+) of 3,000 agents", text)
    assert found is not None
    drawn = int(found.group(1).replace(",", ""))
    folded = sum(int(n) for n in re.findall(r"… (\d+) agents? in a line of descent", text))
    assert 100 <= drawn <= 102 and drawn + folded + hidden == 3000  # every agent drawn or counted, once
    assert len(text.splitlines()) < 300
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(g.render(max_agents=None))
    assert "not drawn" not in console.file.getvalue()
