"""``lineage-sim limits``: every limit on work and input, its default and what it counts."""

from __future__ import annotations

import argparse

from spawn.limits import LIMITS, get

__all__ = ["register"]


def cmd_limits(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Limits (raise one with --limit NAME=N, or for a run with \\[limits] NAME = N)")
    for col in ("name", "in force", "default", "what it counts"):
        table.add_column(col, justify="right" if col in ("in force", "default") else "left")
    for lim in LIMITS.values():
        table.add_row(lim.name, f"{get(lim.name):,}", f"{lim.default:,}", lim.what)
    Console().print(table)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("limits", help="list the limits on work and input, with their defaults")
    p.set_defaults(func=cmd_limits)
