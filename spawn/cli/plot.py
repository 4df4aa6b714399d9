"""The ``lineage-sim plot`` subcommand: a run, sweep or study drawn as a PNG."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lineage.text import printable
from spawn.cli import PROG
from spawn.cli.args import whole_number
from spawn.cli.files import check_output
from spawn.errors import UsageError

__all__ = ["cmd_plot", "register"]

_NAME = f"{PROG} plot"


def cmd_plot(args: argparse.Namespace) -> int:
    """Check the output, draw the whole figure, and only then write it (atomically)."""
    from attribution.errors import AttributionError
    from lineage import LineageError
    from spawn.errors import PlotError
    from spawn.plots import plot_path, save_figure

    # Before any work: a symlink, /dev/null, a FIFO, a folder, a missing folder or one where no
    # file can be made (/proc) is refused, and so is a name not ending in .png.
    out = check_output("plot", "--output", args.output, suffix=".png")
    try:
        fig = plot_path(
            args.run,
            args.kind,
            rules=args.rule or (),
            attributes=args.attribute or (),
            labels=args.labels,
            agent=args.agent,
        )
    except (PlotError, AttributionError, LineageError) as exc:
        raise UsageError(f"{_NAME}: {exc}") from None
    except (OSError, ValueError, KeyError) as exc:  # an unreadable or malformed file inside the run
        raise UsageError(f"{_NAME}: cannot read {args.run!r} ({type(exc).__name__}: {exc})") from None
    try:
        save_figure(fig, out)
    except OSError as exc:
        raise UsageError(f"{_NAME}: cannot write {args.output!r} ({exc.strerror or exc})") from None
    width, height = (round(x) for x in fig.get_size_inches() * fig.dpi)
    print(f"wrote {printable(out)} ({args.kind}, {width}x{height} px)", file=sys.stderr)
    return 0


def register(subparsers: Any) -> None:
    """Add ``plot`` to the ``lineage-sim`` command line."""
    from spawn.plots import DEFAULT_COMPARE_RULES, KINDS

    p = subparsers.add_parser(
        "plot",
        help="draw a run, sweep or selector study as a PNG",
        description=(
            "tree: the lineage coloured by value, an --attribute or a --rule's credit, the best agent's "
            "lineage in red; generations: value, alignment distance, cost and hidden performance per "
            "generation (mean, spread, best so far); compare: the tree under each --rule side by side "
            f"with their rank correlation (default {', '.join(DEFAULT_COMPARE_RULES)}); selection: best "
            "value against budget per selector with a 95%% band over seeds (a sweep of archive runs, a "
            "selector study, or one archive run); curves: an --agent's learning curve (return, cost, "
            "violations, Lagrange multiplier, exploration rate per round; default the best agent by "
            "value) after its ancestors', on world time. A sweep or study directory gives one panel "
            "(tree) or one line (generations, selection) per arm."
        ),
    )
    p.add_argument(
        "run", metavar="RUN", help="a run directory, a lineage file, a sweep directory or a selector-study directory"
    )
    p.add_argument("--kind", required=True, choices=KINDS, help="what to draw")
    p.add_argument("--output", required=True, metavar="FILE", help="the PNG to write (atomically)")
    p.add_argument(
        "--rule", action="append", metavar="R", help="a rule spec (tree: colour by its credit; compare: repeat)"
    )
    p.add_argument(
        "--attribute",
        action="append",
        metavar="A",
        help="a numeric attribute (tree: colour by it, default value; generations: one panel each, repeat)",
    )
    p.add_argument(
        "--labels",
        type=whole_number(0),
        default=None,
        metavar="N",
        help="agents labelled per tree panel (default 5; compare 3)",
    )
    p.add_argument(
        "--agent",
        metavar="ID",
        default=None,
        help="curves: the agent whose learning curve to draw (default: the best agent by value)",
    )
    p.set_defaults(func=cmd_plot)
