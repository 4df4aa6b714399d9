"""``lineage-sim inspect``: a lineage as a tree with its summary; with ``--agent``, one agent's record,
its ancestry and its clade."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage import LineageGraph, summary_table
from lineage.display import MAX_AGENTS
from spawn.cli import PROG
from spawn.cli.args import csv_list, whole_number
from spawn.errors import UsageError, did_you_mean

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["ANCESTRY_ENDS", "agent_record_table", "ancestry_table", "cmd_inspect", "register"]

#: Rows of the ancestry table shown at each end of a long line of ancestors; the middle is counted.
ANCESTRY_ENDS = 10


def cmd_inspect(args: argparse.Namespace) -> int:
    from rich.console import Console

    from lineage.text import brief, printable
    from spawn.cli.files import load_lineage
    from spawn.errors import SpawnError
    from spawn.run.layout import lineage_file

    path = Path(args.path)
    if path.is_dir():  # a run directory: its lineage file (a missing file is load_lineage's to report)
        try:
            path = lineage_file(path)
        except SpawnError as exc:
            raise UsageError(f"{PROG} inspect: {exc}") from None
    lineage = load_lineage(path)
    if args.agent is not None and args.agent not in lineage:
        ids = lineage.ids
        hint = did_you_mean(args.agent, ids if len(ids) <= 20_000 else (), brief)
        raise UsageError(f"{PROG} inspect: agent {brief(args.agent)} is not in {printable(path)}{hint}")
    console = Console()
    attributes = args.attributes if args.attributes is not None else _default_attributes(lineage)
    if args.agent is not None:
        console.print(agent_record_table(lineage, args.agent))
        console.print(ancestry_table(lineage, args.agent, attributes))
    console.print(
        lineage.render(
            max_depth=args.depth,
            attributes=attributes,
            max_children=args.max_children,
            root=args.agent,
            max_agents=args.max_agents,
        )
    )
    console.print(
        summary_table(
            lineage if args.agent is None else lineage.subtree(args.agent),
            title="Lineage summary" if args.agent is None else f"Clade of {args.agent}",
        )
    )
    return 0


def agent_record_table(lineage: LineageGraph, agent: str, max_children: int = 12) -> Table:
    """Everything recorded of one agent, suite means first, then per environment.

    Every id, name and value is shown escaped (:func:`lineage.text.printable`), never as markup.
    """
    from rich.table import Table

    from lineage.display import format_value
    from lineage.text import plain

    attrs = lineage.attributes(agent)
    table = Table(title=plain(f"Agent {agent}"), show_header=True, header_style="bold")
    table.add_column("attribute")
    table.add_column("value", justify="right")
    table.add_row("parent", plain(lineage.parent(agent) or "-"))
    table.add_row("operator", plain(lineage.operator(agent) or "-"))
    table.add_row("depth", str(lineage.depth(agent)))
    kids = lineage.children(agent)
    more = f", … {len(kids) - max_children} more" if len(kids) > max_children else ""
    shown = ", ".join(kids[:max_children]) + more
    table.add_row("children", plain(shown or "-"))
    for name in sorted(attrs, key=lambda k: ("." in k, k)):
        table.add_row(plain(name), plain(format_value(attrs[name])))
    return table


def ancestry_table(lineage: LineageGraph, agent: str, attributes: list[str]) -> Table:
    """The chain from the root down to ``agent``: who made whom, how, and what each reached.

    A line of more than ``2 * ANCESTRY_ENDS + 1`` agents shows its first and last
    :data:`ANCESTRY_ENDS` and one row counting the rest, so the table is short however deep.
    """
    from rich.table import Table

    from lineage.display import format_value
    from lineage.text import plain

    table = Table(title=plain(f"Ancestry of {agent} (root first)"), header_style="bold")
    for col in ("agent", "operator", *attributes):
        table.add_column(plain(col))
    full = [*reversed(lineage.ancestors(agent)), agent]
    line: list[str | None] = list(full)
    if len(full) > 2 * ANCESTRY_ENDS + 1:
        line = [*full[:ANCESTRY_ENDS], None, *full[-ANCESTRY_ENDS:]]
    for a in line:
        if a is None:
            table.add_row(f"… {len(full) - 2 * ANCESTRY_ENDS} agents", "", *("" for _ in attributes))
            continue
        attrs = lineage.attributes(a)
        table.add_row(
            plain(a),
            plain(lineage.operator(a) or "-"),
            *(plain(format_value(attrs[n])) if n in attrs else "" for n in attributes),
        )
    return table


def _default_attributes(lineage: LineageGraph) -> list[str]:
    present = set(lineage.arrays.names)
    return [a for a in ("value", "distance", "cost") if a in present]


def register(sub: Any) -> None:
    """Add ``inspect`` to the ``lineage-sim`` command line."""
    p = sub.add_parser("inspect", help="show a lineage file as a tree and its summary")
    p.add_argument("path", help="a run directory or a lineage file (node-link JSON or lineage.parquet)")
    p.add_argument("--depth", type=whole_number(0), default=None, help="cut the tree this many generations down")
    p.add_argument(
        "--attributes",
        type=csv_list,
        default=None,
        help="comma-separated attributes to show (default: value, distance, cost)",
    )
    p.add_argument("--max-children", type=whole_number(1), default=12, help="children shown per agent (default 12)")
    p.add_argument(
        "--max-agents",
        type=whole_number(1),
        default=MAX_AGENTS,
        help=f"agents drawn at most, the rest counted (default {MAX_AGENTS:,})",
    )
    p.add_argument("--agent", default=None, help="show only this agent's clade")
    p.set_defaults(func=cmd_inspect)
