"""Rich rendering of a lineage as a tree that stays readable when deep or wide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from rich.tree import Tree

from lineage.text import printable, short

if TYPE_CHECKING:
    from lineage.graph import LineageGraph

__all__ = ["FOLD", "MAX_AGENTS", "MAX_NESTING", "format_value", "render_tree"]


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
    # Every piece is escaped (printable) and added as Text, so neither a control character nor
    # rich markup in an id, operator or attribute reaches the terminal.
    text = Text(printable(agent), style="bold")
    op = lineage.operator(agent)
    if op:
        text.append(f" {printable(op)}", style="cyan")
    values = ((name, lineage.get(agent, name)) for name in attributes)
    shown = [f"{name}={format_value(v)}" for name, v in values if v is not None]
    if shown:
        text.append("  " + printable(" ".join(shown)), style="dim")
    return text


def _note(text: str) -> Text:
    return Text(text, style="dim italic")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _count_below(lineage: LineageGraph, agent: str) -> int:
    # A count, not lineage.descendants(): no sorting, and each clade is summarised once, so the
    # counts of a whole rendering add up to at most the number of agents.
    n, stack = 0, [lineage.index(agent)]
    while stack:
        kids = lineage._children_rows(stack.pop()).tolist()
        n += len(kids)
        stack.extend(kids)
    return n


#: Runs of more than this many agents, each the only child of the one before, are folded.
FOLD = 10
#: Rendered levels of nesting at most; deeper clades are counted, not drawn.
MAX_NESTING = 64
#: Agents drawn at most by default (a lineage of 10^6 would otherwise print a million lines).
MAX_AGENTS = 2000


def render_tree(
    lineage: LineageGraph,
    *,
    max_depth: int | None = None,
    attributes: Sequence[str] = (),
    max_children: int = 12,
    root: str | None = None,
    fold: int = FOLD,
    max_nesting: int = MAX_NESTING,
    max_agents: int | None = MAX_AGENTS,
) -> Tree:
    """The lineage (or the clade of ``root``) as a rich ``Tree`` with full agent ids.

    The work (and the output) is linear in the number of agents however deep the lineage is:
    a long line of descent is folded into one line, and nesting is capped.

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
    fold
        A run of more than ``fold`` agents each of which is the only child of the one before is
        shown as its first agent, one line "… N agents in a line of descent ..." and its last
        agent (whose children follow as usual). ``0`` never folds.
    max_nesting
        Draw at most this many levels of nesting; a clade below is summarised as
        "… N descendants (nested too deep to draw; render from AGENT)".
    max_agents
        Draw at most this many agents (``None``: all), depth first; the clades of agents drawn
        last are then counted, not drawn, and the top line says how many of the lineage's agents
        the tree shows.

    Agent ids, operators and attributes are shown with control characters escaped
    (:func:`lineage.text.printable`) and never read as rich markup.

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
    if fold < 0:
        raise ValueError(f"fold must be >= 0, got {fold}")
    if max_nesting < 1:
        raise ValueError(f"max_nesting must be >= 1, got {max_nesting}")
    if max_agents is not None and max_agents < 1:
        raise ValueError(f"max_agents must be >= 1, got {max_agents}")
    budget = max_agents if max_agents is not None else len(lineage) + 1
    tops = [root] if root is not None else lineage.roots()
    # stack entries: (rich node, agent, generations below the top, rendered nesting)
    if len(tops) == 1:
        tree = Tree(_label(lineage, tops[0], attributes), guide_style="dim")
        stack = [(tree, tops[0], 0, 0)]
    else:
        tree = Tree(Text(f"lineage ({len(lineage)} agents, {len(tops)} roots)", style="bold"))
        # Add the roots in order (rich shows children in the order they are added), then pop them
        # from the stack in that same order.
        stack = [(tree.add(_label(lineage, r, attributes)), r, 0, 1) for r in tops]
        stack.reverse()
    drawn = len(stack)
    hidden = 0
    # Depth-first with an explicit stack, so deep lineages do not hit the recursion limit.
    while stack:
        node, agent, level, nest = stack.pop()
        kids = lineage.children(agent)
        if not kids:
            continue
        if drawn >= budget:
            n = _count_below(lineage, agent)
            hidden += n
            node.add(_note(f"… {_plural(n, 'descendant')} not drawn"))
            continue
        if max_depth is not None and level >= max_depth:
            node.add(_note(f"… {_plural(_count_below(lineage, agent), 'descendant')}"))
            continue
        if nest >= max_nesting:
            n = _count_below(lineage, agent)
            node.add(_note(f"… {_plural(n, 'descendant')} (nested too deep to draw; render from {short(agent)})"))
            continue
        if len(kids) == 1 and fold:
            run = [kids[0]]
            while max_depth is None or level + len(run) < max_depth:
                more = lineage.children(run[-1])
                if len(more) != 1:
                    break
                run.append(more[0])
            if len(run) > fold:
                drawn += 2
                first = node.add(_label(lineage, run[0], attributes))
                between = first.add(
                    _note(
                        f"… {_plural(len(run) - 2, 'agent')} in a line of descent, each the only child of "
                        f"the one before (depth {lineage.depth(run[1])}–{lineage.depth(run[-2])})"
                    )
                )
                last = between.add(_label(lineage, run[-1], attributes))
                stack.append((last, run[-1], level + len(run), nest + 3))
            else:
                drawn += len(run)
                for a in run:
                    node = node.add(_label(lineage, a, attributes))
                stack.append((node, run[-1], level + len(run), nest + len(run)))
            continue
        pending = []
        shown = kids[: min(max_children, max(1, budget - drawn))]
        for child in shown:
            pending.append((node.add(_label(lineage, child, attributes)), child, level + 1, nest + 1))
        drawn += len(shown)
        if len(kids) > len(shown) and len(shown) < max_children:  # cut by max_agents: count their clades
            rest = kids[len(shown) :]
            n = len(rest) + sum(_count_below(lineage, k) for k in rest)
            hidden += n
            kin = "child" if len(rest) == 1 else "children"
            node.add(_note(f"… {len(rest)} more {kin}: {_plural(n, 'agent')} not drawn"))
        elif len(kids) > len(shown):
            node.add(_note(f"… {len(kids) - len(shown)} more"))
        stack.extend(reversed(pending))
    if hidden:
        total = len(lineage) if root is None else 1 + _count_below(lineage, root)
        tree.add(
            _note(
                f"(the tree draws {drawn:,} of {total:,} agents; the clades of the last are counted: show one "
                "with --agent ID, cut generations with --depth, draw more with --max-agents)"
            )
        )
    return tree
