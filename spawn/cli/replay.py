"""The ``lineage-sim replay`` subcommand: an agent's life run again from its recorded spec, checked
against its stored record, and its evaluation episodes shown (a GIF or PNG of a grid environment's
board, a table of steps otherwise).

Exit status: 0 when every replayed record equals the stored one, 1 at the first that differs (one
line on stderr naming the agent, the field, the stored and the replayed value), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lineage.text import printable
from spawn.cli import PROG
from spawn.cli.args import whole_number
from spawn.cli.files import check_output
from spawn.errors import UsageError

__all__ = ["cmd_replay", "register"]

_NAME = f"{PROG} replay"
_SUFFIXES = (".gif", ".png")


def _verdict(one: Any) -> str:
    rec = one.replayed.record
    value = rec.attributes.get("value")
    shown = f"value {value:.3g}, " if isinstance(value, float) else ""
    return f"agent {one.agent}: replayed record matches the stored one ({shown}{rec.train_steps} train steps)"


def cmd_replay(args: argparse.Namespace) -> int:
    """Check every argument, replay, compare, and only then show or write the episodes."""
    from rich.console import Console

    from spawn.errors import SpawnError
    from spawn.plots.replay import steps_table, write_gif, write_strip
    from spawn.run.replay import RunRecord, replay

    out = None
    if args.output is not None:
        if not args.output.lower().endswith(_SUFFIXES):
            raise UsageError(f"{_NAME}: --output {args.output!r} must end in .gif (animated) or .png (a strip)")
        out = check_output("replay", "--output", args.output)
    try:
        run = RunRecord(args.run)
        run.check(args.agent, args.episodes)
        grid = run.grid_envs() if out is not None else []
        if out is not None and not grid:
            slugs = ", ".join(e.slug for e in run.config.envs)
            raise UsageError(
                f"{_NAME}: --output draws grid environments, and this run has none ({slugs}); "
                "drop --output to see the table of steps"
            )
        if out is not None and args.episodes == 0:
            raise UsageError(f"{_NAME}: --output with --episodes 0 has no episode to draw; give --episodes 1 or more")
        chain = len(args.agent.split(".")) if args.lineage else 1

        def started(spec: Any) -> None:
            if chain > 1:
                k = spec.depth + 1
                print(f"replaying agent {spec.id} ({k}/{chain}, budget {spec.budget})...", file=sys.stderr, flush=True)

        def finished(one: Any) -> None:
            if chain > 1:
                line = _verdict(one) if one.matches else f"agent {one.agent}: DIFFERS: {one.difference}"
                print(printable(line), file=sys.stderr, flush=True)

        result = replay(
            run, args.agent, lineage=args.lineage, episodes=args.episodes, on_start=started, on_agent=finished
        )
    except SpawnError as exc:
        raise UsageError(f"{_NAME}: {exc}") from None
    bad = result.first_mismatch
    if bad is not None:
        line = f"{_NAME}: agent {bad.agent}: the replayed record differs from the stored one: {bad.difference}"
        print(printable(line), file=sys.stderr)
        return 1
    console = Console(soft_wrap=False)
    for slug, episodes in result.episodes.items():
        if slug in grid:
            continue
        for i, steps in enumerate(episodes):
            console.print(steps_table(slug, i, steps))
    if out is not None:
        try:
            if out.suffix.lower() == ".gif":
                frames, (w, h) = write_gif(result.episodes, out)
                what = "animated GIF"
            else:
                frames, (w, h) = write_strip(result.episodes, out)
                what = "PNG strip"
        except OSError as exc:
            raise UsageError(f"{_NAME}: cannot write {args.output!r} ({exc.strerror or exc})") from None
        print(f"wrote {printable(str(out))} ({what}, {frames} frames, {w}x{h} px)", file=sys.stderr)
    print(printable(_verdict(result.target)))
    return 0


def register(subparsers: Any) -> None:
    """Add ``replay`` to the ``lineage-sim`` command line."""
    p = subparsers.add_parser(
        "replay",
        help="run an agent's life again from its recorded spec, check it, and show its evaluation episodes",
        description=(
            "Runs the agent's life again from the spec the run recorded (a life is a pure job of its spec "
            "and the config, so this is exact) and checks that its record equals the stored one (the "
            "checkpoint's, and a finished run's lineage file): exit 0 when it does, 1 naming the first "
            "difference. Then shows its evaluation episodes (the same "
            "seeds and action draws as its record measured): a table of steps (observation, action, "
            "reward, cost, rules broken) for each environment, or with --output a picture of the grid "
            "environments' boards, the constitution's forbidden cells marked red (a .gif animates every "
            "step; a .png is a strip of frames). --lineage replays the whole ancestor chain, root first. "
            "Works on a run directory, a sweep arm's run (DIR/<arm>/seed-<s>/) and an interrupted run "
            "(its checkpoint)."
        ),
    )
    p.add_argument("run", metavar="RUN", help="a run directory (with its checkpoint/)")
    p.add_argument("--agent", required=True, metavar="ID", help="the agent to replay, e.g. 0.2.1")
    p.add_argument(
        "--episodes",
        type=whole_number(0),
        default=1,
        metavar="N",
        help="evaluation episodes shown per environment (default 1; at most the run's [eval] episodes)",
    )
    p.add_argument(
        "--output", metavar="FILE", default=None, help="FILE.gif (animated) or FILE.png (strip) of the grid boards"
    )
    p.add_argument("--lineage", action="store_true", help="replay every ancestor first, root first, each checked")
    p.set_defaults(func=cmd_replay)
