"""``lineage-sim export``: a lineage converted to another format (JSON, GraphML, ALife CSV, Newick, parquet)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lineage import FORMATS
from lineage import write as write_lineage
from spawn.cli import PROG
from spawn.errors import UsageError

__all__ = ["cmd_export", "register"]


def cmd_export(args: argparse.Namespace) -> int:
    from lineage.text import printable
    from spawn.cli.files import check_output, load_lineage
    from spawn.errors import SpawnError
    from spawn.run.layout import lineage_file

    out = check_output("export", "--output", args.output)  # before any work
    try:
        source = lineage_file(args.path) if Path(args.path).is_dir() else args.path
    except SpawnError as exc:
        raise UsageError(f"{PROG} export: {exc}") from None
    lineage = load_lineage(source)
    try:
        write_lineage(lineage, out, args.format)
    except OSError as exc:
        raise UsageError(f"{PROG} export: cannot write {args.output!r} ({exc.strerror or exc})") from None
    print(f"wrote {printable(out)} ({args.format}, {len(lineage)} agents)", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    """Add ``export`` to the ``lineage-sim`` command line."""
    p = sub.add_parser("export", help="convert a lineage file to another format")
    p.add_argument("path", help="a run directory or a lineage file (node-link JSON or lineage.parquet)")
    p.add_argument("--format", choices=list(FORMATS), required=True, help="output format")
    p.add_argument("--output", required=True, help="file to write (atomically)")
    p.set_defaults(func=cmd_export)
