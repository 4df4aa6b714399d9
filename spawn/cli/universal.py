"""The ``lineage-sim universal`` subcommand: an agent's AIQ (Upsilon) and aligned Sigma on BF(5) programs."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from spawn.cli import PROG
from spawn.cli.args import whole_number
from spawn.errors import SpawnError, UsageError

if TYPE_CHECKING:
    from spawn.aiq import StratumPool, UniversalResult

__all__ = ["cmd_universal", "register"]

_NAME = f"{PROG} universal"


def _executor(runtime: str, workers: int) -> Any:
    from spawn.runtimes import make_executor
    from spawn.runtimes.processes import LocalProcessExecutor

    if workers > 1:
        if runtime != "inline":
            raise UsageError(f"{_NAME}: --workers applies to --runtime inline only")
        return LocalProcessExecutor(workers)
    try:
        return make_executor(runtime)
    except SpawnError as exc:
        raise UsageError(f"{_NAME}: {exc}") from None


def _estimate(args: argparse.Namespace, executor: Any) -> tuple[StratumPool, UniversalResult]:
    """Load (or draw) the pool, then estimate, with the progress bars on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from spawn.aiq import estimate_upsilon, load_pool

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=args.quiet,
        transient=False,
    )
    with bar:
        pool_task = bar.add_task("stratum pool chunks", total=None)
        pool = load_pool(
            args.seed,
            args.pool_size,
            cache_dir=args.cache_dir,
            executor=executor,
            progress=lambda done, total: bar.update(pool_task, completed=done, total=total),
        )
        run_task = bar.add_task(f"{args.agent}: programs", total=args.programs)
        result = estimate_upsilon(
            args.agent,
            args.programs,
            args.episode_length,
            args.seed,
            allocation=args.allocation,
            aligned=args.aligned,
            executor=executor,
            pool=pool,
            progress=lambda done, total: bar.update(run_task, completed=done, total=total),
        )
    return pool, result


def _print_table(args: argparse.Namespace, result: UniversalResult) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"AIQ on BF(5), {args.episode_length} cycles, seed {args.seed}, {args.allocation} allocation")
    for col in ("agent", "estimate", "95% interval", "programs", "overtime", "time (s)", "cycles/s"):
        table.add_column(col, justify="right")
    u = result.upsilon
    table.add_row(
        result.agent,
        f"{u.estimate:.2f}",
        f"[{u.ci95[0]:.2f}, {u.ci95[1]:.2f}]",
        str(u.programs),
        str(result.overtime),
        f"{result.seconds:.1f}",
        f"{result.cycles_per_second:,.0f}",
    )
    if result.sigma is not None:
        s = result.sigma
        table.add_row(f"{result.agent} aligned (Sigma)", f"{s.estimate:.2f}", f"[{s.ci95[0]:.2f}, {s.ci95[1]:.2f}]")
    Console().print(table)


def cmd_universal(args: argparse.Namespace) -> int:
    """Estimate, then print a table (or, with ``--json``, one JSON object on stdout)."""
    from spawn.aiq import check_work

    try:  # refused before any work and before anything is written to the cache
        check_work(args.programs, args.episode_length, args.pool_size)
    except SpawnError as exc:
        raise UsageError(f"{_NAME}: {exc}") from None
    executor = _executor(args.runtime, args.workers)
    try:
        pool, result = _estimate(args, executor)
    except SpawnError as exc:
        raise UsageError(f"{_NAME}: {exc}") from None
    finally:
        close = getattr(executor, "close", None)
        if close is not None:
            close()
    doc = result.to_json()
    doc["pool"] = {
        "programs": pool.size,
        "raw_draws": pool.raw,
        "tv_to_reference_p": pool.reference_distance(),
    }
    if args.json:
        sys.stdout.write(json.dumps(doc, allow_nan=False, sort_keys=True) + "\n")
        return 0
    _print_table(args, result)
    return 0


def register(subparsers: Any) -> None:
    """Add ``universal`` to the ``lineage-sim`` command line."""
    from spawn.aiq import AIQ_AGENTS, ALLOCATIONS, DEFAULT_ALLOCATION
    from spawn.runtimes import RUNTIMES

    p = subparsers.add_parser(
        "universal",
        help="estimate an agent's universal intelligence (AIQ) on BF reference-machine programs",
        description=(
            "Legg and Veness's AIQ: run the agent on programs of the BF(5) reference machine sampled "
            "by stratum, each twice with the reward negated once (antithetic runs), and print the "
            "stratified estimate with its 95%% interval on the -100..100 scale. --aligned adds Sigma, "
            "the estimate with each run's value multiplied by 2^-D under a constitution."
        ),
    )
    p.add_argument("--agent", required=True, choices=list(AIQ_AGENTS), help="a baseline agent")
    p.add_argument("--programs", type=whole_number(1), default=1000, help="programs (antithetic pairs; default 1000)")
    p.add_argument("--episode-length", type=whole_number(1), default=1000, help="cycles per run (default 1000)")
    p.add_argument("--seed", type=whole_number(0), default=0, help="seed of the pool and the runs (default 0)")
    p.add_argument(
        "--allocation",
        choices=list(ALLOCATIONS),
        default=DEFAULT_ALLOCATION,
        help=(
            "how programs are spread over the strata: adaptive (default, the reference's adaptive "
            "stratified estimator: stages, each in proportion to p times the stratum's spread so far) or "
            "proportional (in proportion to p, the same programs for every agent, as paired comparisons need)"
        ),
    )
    p.add_argument(
        "--aligned",
        action="store_true",
        help="also estimate Sigma under the BF no-top-after-top constitution",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--runtime", choices=list(RUNTIMES.names()), default="inline", help="where programs run")
    p.add_argument(
        "--workers",
        type=whole_number(1),
        default=1,
        help="local processes for the inline runtime (default 1)",
    )
    p.add_argument(
        "--pool-size",
        type=whole_number(1),
        default=20_000,
        help="active programs in the stratum pool (default 20000; about 2 x --programs at least)",
    )
    p.add_argument("--cache-dir", default=None, help="where the pool is cached (default ~/.cache/lineage-sim)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_universal)
