"""``lineage-sim export``: a lineage file converted to another format (JSON, GraphML, ALife CSV, Newick)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lineage import FORMATS
from lineage import write as write_lineage
from spawn.cli import PROG
from spawn.errors import UsageError

__all__ = ["cmd_export", "register"]


def cmd_export(args: argparse.Namespace) -> int:
    from lineage.text import printable
    from spawn.cli.files import check_output, load_lineage

    out = check_output("export", "--output", args.output)  # before any work
    lineage = load_lineage(args.path)
    try:
        write_lineage(lineage, out, args.format)
    except OSError as exc:
        raise UsageError(f"{PROG} export: cannot write {args.output!r} ({exc.strerror or exc})") from None
    print(f"wrote {printable(out)} ({args.format}, {len(lineage)} agents)", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    """Add ``export`` to the ``lineage-sim`` command line."""
    p = sub.add_parser("export", help="convert a lineage file to another format")
    p.add_argument("path", help="a lineage file (node-link JSON)")
    p.add_argument("--format", choices=list(FORMATS), required=True, help="output format")
    p.add_argument("--output", required=True, help="file to write (atomically)")
    p.set_defaults(func=cmd_export)
