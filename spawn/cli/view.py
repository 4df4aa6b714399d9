"""The ``lineage-sim view`` subcommand: a run, sweep or study as one interactive HTML page."""

from __future__ import annotations

import argparse
import sys
import webbrowser
from typing import Any

from lineage import atomic_write
from lineage.text import printable
from spawn.cli import PROG
from spawn.cli.args import csv_list
from spawn.cli.files import check_output
from spawn.errors import UsageError

__all__ = ["cmd_view", "register"]

_NAME = f"{PROG} view"


def cmd_view(args: argparse.Namespace) -> int:
    """Check the output, build the whole page, and only then write it (atomically)."""
    from attribution.errors import AttributionError
    from lineage import LineageError
    from spawn.errors import PlotError, SpawnError
    from spawn.explorer import explorer_html

    out = check_output("view", "--output", args.output, suffix=".html")
    if args.rule:
        from attribution.table import resolve_rules

        try:
            resolve_rules(args.rule)
        except AttributionError as exc:
            raise UsageError(f"{_NAME}: {exc}") from None

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]reading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    task = bar.add_task("", total=None)

    def say(done: int, total: int, name: str) -> None:
        bar.update(task, completed=done, total=total, description=printable(name))

    try:
        with bar:
            page = explorer_html(args.run, rules=args.rule or None, progress=say, attributes=args.attributes)
    except (PlotError, AttributionError, LineageError, SpawnError) as exc:
        raise UsageError(f"{_NAME}: {exc}") from None
    except (OSError, ValueError, KeyError) as exc:  # an unreadable or malformed file inside the run
        raise UsageError(f"{_NAME}: cannot read {args.run!r} ({type(exc).__name__}: {exc})") from None
    data = page.encode()
    try:
        atomic_write(out, data)
    except OSError as exc:
        raise UsageError(f"{_NAME}: cannot write {args.output!r} ({exc.strerror or exc})") from None
    print(
        f"wrote {printable(out)} ({len(data) / 2**20:.1f} MB; open it in a browser, it works offline)", file=sys.stderr
    )
    if args.open:
        webbrowser.open(out.resolve().as_uri())
    return 0


def register(subparsers: Any) -> None:
    """Add ``view`` to the ``lineage-sim`` command line."""
    p = subparsers.add_parser(
        "view",
        help="write an interactive HTML explorer of a run, sweep or study",
        description=(
            "One self-contained HTML page (it works offline): the lineage tree by generation or radially, "
            "zoom and pan, coloured by value, any numeric attribute or any rule's credit, the best agent's "
            "lineage in red, search by id, clades that fold; a click on an agent shows its record, the "
            "constitution's measures it broke, its ancestry, its clade and its learning curve. Beside the "
            "tree: the rules side by side, and for a sweep or a study each arm's best value with a 95%% "
            'interval over seeds. The data is embedded as JSON in <script id="lineage-data">.'
        ),
    )
    p.add_argument(
        "run", metavar="RUN", help="a run directory, a lineage file, a sweep directory or a selector-study directory"
    )
    p.add_argument("--output", default="lineage.html", metavar="FILE", help="the page to write (default lineage.html)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser once written")
    p.add_argument(
        "--rule",
        action="append",
        metavar="R",
        help="a rule spec to colour by (repeatable; default every registered rule, shapley up to 2,000 agents)",
    )
    p.add_argument(
        "--attributes",
        type=csv_list,
        default=None,
        metavar="A,B",
        help="embed only these attributes (and value): a smaller page for a large lineage (default every one)",
    )
    p.set_defaults(func=cmd_view)
