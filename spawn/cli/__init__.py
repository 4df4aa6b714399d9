"""The ``lineage-sim`` command line.

Every error a user can cause (a bad argument, an unreadable file, an invalid config) ends in one
line on stderr and exit status 2, never a traceback.

Each command lives in its own module (listed in :data:`_COMMAND_MODULES`); the argument types they
share (whole numbers, probabilities, comma-separated lists) are in :mod:`spawn.cli.args`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from lineage import LineageError
from spawn import __version__
from spawn.errors import UsageError

__all__ = ["PROG", "UsageError", "build_parser", "main"]

PROG = "lineage-sim"

#: Modules that add the commands, one each (two for run and resume, envs and rules), in the order
#: ``--help`` lists them; each defines ``register(subparsers)`` and raises :class:`UsageError` (or a
#: package's own error) for user mistakes.
_COMMAND_MODULES: list[str] = [
    "spawn.cli.run",
    "spawn.cli.inspect",
    "spawn.cli.compare",
    "spawn.cli.export",
    "spawn.cli.plot",
    "spawn.cli.view",
    "spawn.cli.replay",
    "spawn.cli.universal",
    "spawn.cli.info",
    "spawn.cli.plugins",
    "spawn.cli.limits",
]


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage dump) and go through :class:`UsageError`."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Simulate recursively self-improving agents and attribute credit along their lineage.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

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

