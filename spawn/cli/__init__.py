"""The ``lineage-sim`` command line.

Every error a user can cause (a bad argument, an unreadable file, an invalid config) ends in one
line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from lineage import FORMATS, LineageError, LineageGraph, summary_table
from lineage import write as write_lineage
from spawn import __version__
from spawn.errors import UsageError, did_you_mean

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["UsageError", "build_parser", "main"]

PROG = "lineage-sim"

#: Modules that add subcommands; each defines ``register(subparsers)`` and raises
#: :class:`UsageError` (or a package's own error) for user mistakes.
_COMMAND_MODULES: list[str] = [
    "spawn.cli.run",
    "spawn.cli.compare",
    "spawn.cli.universal",
    "spawn.cli.info",
    "spawn.cli.plot",
    "spawn.cli.limits",
]


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage dump) and go through :class:`UsageError`."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _csv_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _console() -> Console:
    from rich.console import Console

    return Console()


def cmd_inspect(args: argparse.Namespace) -> int:
    from lineage.text import brief, printable
    from spawn.cli.files import load_lineage

    path = Path(args.path)
    if path.is_dir():  # a run directory
        if not (path / "lineage.json").is_file():
            raise UsageError(
                f"{PROG} inspect: {printable(path)} is a directory without lineage.json; "
                "expected a lineage file or a run directory"
            )
        path = path / "lineage.json"
    lineage = load_lineage(path)
    if args.agent is not None and args.agent not in lineage:
        ids = lineage.ids
        hint = did_you_mean(args.agent, ids if len(ids) <= 20_000 else (), brief)
        raise UsageError(f"{PROG} inspect: agent {brief(args.agent)} is not in {printable(path)}{hint}")
    console = _console()
    attributes = args.attributes if args.attributes is not None else _default_attributes(lineage)
    if args.agent is not None:
        console.print(agent_record_table(lineage, args.agent))
        console.print(ancestry_table(lineage, args.agent, attributes))
    console.print(
        lineage.render(max_depth=args.depth, attributes=attributes, max_children=args.max_children, root=args.agent)
    )
    console.print(
        summary_table(
            lineage if args.agent is None else lineage.subtree(args.agent),
            title="Lineage summary" if args.agent is None else f"Clade of {args.agent}",
        )
    )
    return 0


#: Rows of the ancestry table shown at each end of a long line of ancestors; the middle is counted.
ANCESTRY_ENDS = 10


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
    nodes = lineage.graph.nodes
    for a in line:
        if a is None:
            table.add_row(f"… {len(full) - 2 * ANCESTRY_ENDS} agents", "", *("" for _ in attributes))
            continue
        attrs = nodes[a]
        table.add_row(
            plain(a),
            plain(lineage.operator(a) or "-"),
            *(plain(format_value(attrs[n])) if n in attrs else "" for n in attributes),
        )
    return table


def _default_attributes(lineage: LineageGraph) -> list[str]:
    present = set(lineage.arrays.names)
    return [a for a in ("value", "distance", "cost") if a in present]


def cmd_export(args: argparse.Namespace) -> int:
    from spawn.cli.files import check_output, load_lineage

    out = check_output("export", "--output", args.output)  # before any work
    lineage = load_lineage(args.path)
    try:
        write_lineage(lineage, out, args.format)
    except OSError as exc:
        raise UsageError(f"{PROG} export: cannot write {args.output!r} ({exc.strerror or exc})") from None
    from lineage.text import printable

    print(f"wrote {printable(out)} ({args.format}, {len(lineage)} agents)", file=sys.stderr)
    return 0


def _int_at_least(lowest: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            if len(text) > 30:  # int() of thousands of digits is slow, and echoing them is no help
                raise ValueError
            value = int(text)
        except ValueError:
            if len(text) <= 30:
                raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
            shown = f"{text[:20]!r}... ({len(text)} characters)"
            raise argparse.ArgumentTypeError(f"expected a whole number of at most 30 digits, got {shown}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"expected a number >= {lowest}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(0)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Simulate recursively self-improving agents and attribute credit along their lineage.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("inspect", help="show a lineage file as a tree and its summary")
    p.add_argument("path", help="a lineage file (node-link JSON, as written by 'run' or 'export')")
    p.add_argument("--depth", type=_int_at_least(0), default=None, help="cut the tree this many generations down")
    p.add_argument(
        "--attributes",
        type=_csv_list,
        default=None,
        help="comma-separated attributes to show (default: value, distance, cost)",
    )
    p.add_argument("--max-children", type=_int_at_least(1), default=12, help="children shown per agent (default 12)")
    p.add_argument("--agent", default=None, help="show only this agent's clade")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("export", help="convert a lineage file to another format")
    p.add_argument("path", help="a lineage file (node-link JSON)")
    p.add_argument("--format", choices=list(FORMATS), required=True, help="output format")
    p.add_argument("--output", required=True, help="file to write (atomically)")
    p.set_defaults(func=cmd_export)

    # Further commands live in their own modules, each with ``register(subparsers)``.
    import importlib

    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for command in sub.choices.values():  # every command takes --limit (see spawn.limits)
        command.add_argument(
            "--limit",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="raise (or lower) one of the limits on work and input; repeatable (see 'lineage-sim limits')",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``lineage-sim``; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "func", None) is None:
            parser.print_help()
            return 2
        func: Callable[[argparse.Namespace], int] = args.func
        from spawn.errors import SpawnError
        from spawn.limits import set_overrides

        try:
            set_overrides(args.limit)
        except SpawnError as exc:
            raise UsageError(f"{PROG} {args.command}: {exc}") from None
        return func(args)
    except (UsageError, LineageError) as exc:
        from lineage.text import printable

        # One line, whatever the message echoes (a path or id with control characters stays one line).
        line = str(exc) if str(exc).startswith(PROG) else f"{PROG}: error: {exc}"
        print(printable(line), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130

