"""Rich rendering of a lineage as a tree that stays readable when deep or wide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from rich.tree import Tree

if TYPE_CHECKING:
    from lineage.graph import LineageGraph

__all__ = ["format_value", "render_tree"]


def format_value(value: object) -> str:
    """Short display form of an attribute value: floats to 3 significant digits.

    Examples
    --------
    >>> format_value(0.123456), format_value(12), format_value(True), format_value("x")
    ('0.123', '12', 'True', 'x')
    """
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _label(lineage: LineageGraph, agent: str, attributes: Sequence[str]) -> Text:
    text = Text(agent, style="bold")
    op = lineage.operator(agent)
    if op:
        text.append(f" {op}", style="cyan")
    attrs = lineage.graph.nodes[agent]
    shown = [f"{name}={format_value(attrs[name])}" for name in attributes if name in attrs]
    if shown:
        text.append("  " + " ".join(shown), style="dim")
    return text


def render_tree(
    lineage: LineageGraph,
    *,
    max_depth: int | None = None,
    attributes: Sequence[str] = (),
    max_children: int = 12,
    root: str | None = None,
) -> Tree:
    """The lineage (or the clade of ``root``) as a rich ``Tree`` with full agent ids.

    Parameters
    ----------
    max_depth
        Show agents at most this many generations below the top; deeper clades are summarised
        as "… N descendants".
    attributes
        Attribute names to show beside each agent.
    max_children
        Show at most this many children of an agent; the rest are summarised as "… N more".
    root
        Render only this agent's clade.

    Examples
    --------
    >>> import io
    >>> from rich.console import Console
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0", value=0.5)
    >>> g.add_agent("0.0", parent="0", operator="mutate", value=1.0)
    >>> console = Console(file=io.StringIO(), width=40, color_system=None)
    >>> console.print(render_tree(g, attributes=["value"])); print(console.file.getvalue(), end="")
    0  value=0.5
    └── 0.0 mutate  value=1
    """
    if max_children < 1:
        raise ValueError(f"max_children must be >= 1, got {max_children}")
    if max_depth is not None and max_depth < 0:
        raise ValueError(f"max_depth must be >= 0, got {max_depth}")
    tops = [root] if root is not None else lineage.roots()
    if len(tops) == 1:
        tree = Tree(_label(lineage, tops[0], attributes), guide_style="dim")
        stack = [(tree, tops[0], 0)]
    else:
        tree = Tree(Text(f"lineage ({len(lineage)} agents, {len(tops)} roots)", style="bold"))
        # Add the roots in order (rich shows children in the order they are added), then pop them
        # from the stack in that same order.
        stack = [(tree.add(_label(lineage, r, attributes)), r, 0) for r in tops]
        stack.reverse()
    # Depth-first with an explicit stack, so deep lineages do not hit the recursion limit.
    while stack:
        node, agent, level = stack.pop()
        kids = lineage.children(agent)
        if not kids:
            continue
        if max_depth is not None and level >= max_depth:
            n = len(lineage.descendants(agent))
            node.add(Text(f"… {n} descendant{'s' if n != 1 else ''}", style="dim italic"))
            continue
        pending = []
        for child in kids[:max_children]:
            pending.append((node.add(_label(lineage, child, attributes)), child, level + 1))
        if len(kids) > max_children:
            node.add(Text(f"… {len(kids) - max_children} more", style="dim italic"))
        stack.extend(reversed(pending))
    return tree
