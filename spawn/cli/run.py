"""``lineage-sim run`` and ``lineage-sim resume``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spawn.cli import PROG
from spawn.cli.args import probability, whole_number
from spawn.errors import SpawnError, UsageError

__all__ = ["register"]


def _show(outcome: Any, out: Path) -> None:
    from rich.console import Console

    from lineage import summary_table

    console = Console()
    if not outcome.complete or outcome.lineage is None:
        console.print(f"stopped early; finish with: {PROG} resume {out}")
        return
    lineage = outcome.lineage
    console.print(lineage.render(max_depth=4, attributes=["value", "distance"], max_children=6))
    console.print(summary_table(lineage, title=f"Lineage of {out}"))
    where = outcome.where
    console.print(
        f"[dim]ran on {where.get('runtime')} ({where.get('nodes')} node(s), {where.get('cpus')} CPUs) "
        f"in {outcome.wall_seconds:.1f} s; outputs in {out}[/dim]"
    )


def _show_aggregate(table: Any, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    cols = [c for c in ("best_value", "mean_value", "agents", "agents_mean_cost") if c in table]
    t = Table(title=f"{len(table)} arms: mean ± 95% half-interval over seeds ({out / 'aggregate.csv'})")
    t.add_column("arm", no_wrap=True, min_width=max(len(str(a)) for a in table["arm"]))
    t.add_column("seeds", justify="right")
    for c in cols:
        t.add_column(c.replace("agents_mean_", "mean "), justify="right")
    for _, row in table.iterrows():
        t.add_row(
            str(row["arm"]),
            str(int(row["seeds"])),
            *(f"{row[c]:.3g} ± {(row[c + '_hi'] - row[c + '_lo']) / 2:.2g}" for c in cols),
        )
    Console().print(t)


def _signals() -> Any:
    """SIGTERM raises :class:`~spawn.run.driver.Terminated` (a KeyboardInterrupt): the run saves its checkpoint."""
    from spawn.run.driver import sigterm_saves_checkpoint

    return sigterm_saves_checkpoint()


def _interrupted(command: str, out: Path, exc: KeyboardInterrupt) -> int:
    """One line for SIGINT (exit 130) or SIGTERM (exit 143), saying how to go on."""
    from spawn.run.checkpoint import has_checkpoint
    from spawn.run.driver import Terminated, sigterm_seen

    term = isinstance(exc, Terminated) or sigterm_seen()
    what = "terminated (SIGTERM)" if term else "interrupted"
    if has_checkpoint(out) or (out / "sweep.json").is_file():
        tail = f"the checkpoint is saved; finish with: {PROG} resume {out}"
    else:
        tail = "nothing to resume"
    print(f"{PROG} {command}: {what}; {tail}", file=sys.stderr)
    return 143 if term else 130


def _execute(command: str, out: Path, work: Callable[[], Callable[[], None]], quiet: bool) -> int:
    """Run ``work`` (which returns how to show its result) with SIGTERM saving the checkpoint; every
    failure is one line: a config or run error, an interruption (exit 130 or 143), a failed write."""
    try:
        with _signals():
            show = work()
    except SpawnError as exc:
        raise UsageError(f"{PROG} {command}: {exc}") from None
    except KeyboardInterrupt as exc:
        return _interrupted(command, out, exc)
    except OSError as exc:  # a write that failed once the run started (what it wrote is undone)
        raise UsageError(f"{PROG} {command}: cannot write in {str(out)!r} ({exc.strerror or exc})") from None
    if not quiet:
        show()
    return 0


def _shown(result: Any, out: Path) -> Callable[[], None]:
    if hasattr(result, "complete"):  # a run's outcome; else a sweep's aggregate table
        return lambda: _show(result, out)
    return lambda: _show_aggregate(result, out)


def cmd_run(args: argparse.Namespace) -> int:
    out = Path(args.out)

    def work() -> Callable[[], None]:
        from spawn.api import run_output
        from spawn.config import load_config

        cfg = load_config(args.config, seed=args.seed)
        if args.engine is not None:
            cfg = cfg.model_copy(update={"engine": args.engine})
        tracking = _tracking(args, cfg.tracking.model_dump())
        if tracking is not None:
            cfg = cfg.model_copy(update={"tracking": tracking})
        result = run_output(
            cfg,
            out,
            runtime=args.runtime,
            runtime_options=_runtime_options(args),
            force=args.force,
            progress=not args.quiet,
            seed=args.seed,
        )
        return _shown(result, out)

    return _execute("run", out, work, args.quiet)


def cmd_resume(args: argparse.Namespace) -> int:
    out = Path(args.dir)

    def work() -> Callable[[], None]:
        from spawn.api import resume_output

        options = _runtime_options(args)
        tracking = _tracking(args, {})
        result = resume_output(
            out, runtime=args.runtime, runtime_options=options, progress=not args.quiet, tracking=tracking
        )
        return _shown(result, out)

    return _execute("resume", out, work, args.quiet)


def _tracking(args: argparse.Namespace, base: dict[str, Any]) -> Any:
    """``--tensorboard`` and ``--mlflow`` over ``base`` (the config's ``[tracking]``), checked as the
    config's keys are; ``None`` when neither is given."""
    from pydantic import ValidationError

    from spawn.config import TrackingConfig

    given = {k: getattr(args, k) for k in ("tensorboard", "mlflow") if getattr(args, k) is not None}
    if not given:
        return None
    try:
        return TrackingConfig.model_validate({**base, **given})
    except ValidationError as exc:
        err = exc.errors()[0]
        flag = "--" + str(err["loc"][0]) if err["loc"] else "--tensorboard"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise UsageError(f"{PROG} {args.command}: {flag}: {msg}") from None


def _add_tracking_options(p: argparse.ArgumentParser, resume: bool = False) -> None:
    g = p.add_argument_group("tracking (see the README, Tracking; changes no byte of the run)")
    again = " afresh from the checkpoint, then as the run goes on" if resume else " as the run goes"
    g.add_argument(
        "--tensorboard",
        metavar="DIR",
        default=None,
        help="write TensorBoard event files into DIR" + again + " ([tracking] tensorboard)",
    )
    g.add_argument(
        "--mlflow",
        metavar="DIR",
        default=None,
        help='log the same to a local MLflow store in DIR (pip install -e ".[mlflow]"; [tracking] mlflow)',
    )


_RAY_OPTIONS = {"address": None, "kill_prob": 0.0, "max_attempts": 4, "dashboard": False}


def _runtime_options(args: argparse.Namespace) -> dict[str, Any]:
    """The executor options the command line gives; a Ray option with ``--runtime inline`` is an error."""
    given = {k: getattr(args, k) for k, default in _RAY_OPTIONS.items() if getattr(args, k) != default}
    if args.shards is not None:
        if args.runtime != "ray-shards":
            raise UsageError(f"{PROG} {args.command}: --shards applies to --runtime ray-shards only")
        given["shards"] = args.shards
    if args.runtime == "inline":
        if given:
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            raise UsageError(f"{PROG} {args.command}: {flags}: only for --runtime ray-actors or ray-shards")
        return {}
    return {**{k: getattr(args, k) for k in _RAY_OPTIONS}, **given}


def _add_ray_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Ray runtimes (ray-actors, ray-shards)")
    g.add_argument(
        "--address",
        default=None,
        help="join this Ray cluster (default: $RAY_ADDRESS, else start a local Ray for the run)",
    )
    g.add_argument(
        "--shards",
        type=whole_number(1),
        default=None,
        help="shard actors for ray-shards (default: one per CPU)",
    )
    g.add_argument(
        "--kill-prob",
        type=probability,
        default=0.0,
        help="fault injection: kill each agent actor (or shard call) with this probability (default 0)",
    )
    g.add_argument(
        "--max-attempts",
        type=whole_number(1),
        default=4,
        help="attempts per agent before the run fails naming it (default 4)",
    )
    g.add_argument("--dashboard", action="store_true", help="start the Ray dashboard with a local Ray")


def register(sub: Any) -> None:
    from spawn.runtimes import RUNTIMES

    p = sub.add_parser("run", help="simulate a lineage from a TOML config")
    p.add_argument("config", help="a TOML config (see examples/quickstart.toml)")
    p.add_argument(
        "--out",
        required=True,
        help="run directory to write: a new path, an empty directory, or one lineage-sim made (with --force)",
    )
    p.add_argument("--seed", type=whole_number(0), default=None, help="override the config's seed")
    p.add_argument(
        "--engine",
        choices=["per-agent", "cohort"],
        default=None,
        help="override the config's engine: cohort steps a batch's lives together (the same bytes)",
    )
    p.add_argument(
        "--runtime", choices=list(RUNTIMES.names()), default="inline", help="where agents run (default: inline)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the outputs of an earlier lineage-sim run in --out (only lineage-sim's files are removed)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar and no final tree")
    _add_tracking_options(p)
    _add_ray_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("resume", help="finish an interrupted run from its checkpoint")
    p.add_argument("dir", help="the run directory")
    p.add_argument("--runtime", choices=list(RUNTIMES.names()), default="inline", help="where agents run")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no final tree")
    _add_tracking_options(p, resume=True)
    _add_ray_options(p)
    p.set_defaults(func=cmd_resume)
