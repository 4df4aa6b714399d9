"""Reproduce the AIQ table at 1,000 cycles on BF(5) and time the BF interpreter (cycles per second).

Usage: ``python benchmarks/bench_aiq.py [--programs 20000] [--workers 2] [--allocation A] [--json out.json]``.
Prints markdown: the pool, the interpreter speed, our estimates beside the published ones, paired gaps.
The default allocation is ``proportional`` (the same programs for every agent, so the gaps are paired);
``--allocation adaptive`` uses the reference's adaptive stratified estimator per agent and skips the
paired gaps, which need the same programs for every agent.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from typing import Any

import numpy as np

from envs.bf import BFMachine
from spawn.aiq import (
    ALLOCATIONS,
    REFERENCE_P,
    StratumPool,
    UniversalResult,
    compare_agents,
    estimate_upsilon,
    load_pool,
)
from spawn.runtimes.processes import LocalProcessExecutor

__all__ = ["PUBLISHED_1000", "main"]

#: The published 1,000-cycle rows (AIQ, half CI); MC-AIXI is not reproduced (its binary is not available).
PUBLISHED_1000 = {
    "hlq-lambda": (49.1, 0.4),
    "q-lambda": (44.3, 0.4),
    "q0": (41.8, 0.4),
    "freq": (40.2, 0.4),
    "random": (None, None),
}


def interpreter_speed(programs: list[str], cycles: int = 1000) -> tuple[float, float]:
    """Cycles per second of the machine alone (random actions, no agent) and the share overtime."""
    rng = np.random.default_rng(0)
    done = 0
    overtime = 0
    start = time.perf_counter()
    for program in programs:
        m = BFMachine(program, 5, rng)
        for a in rng.integers(5, size=cycles).tolist():
            done += 1
            if m.act(a)[2] >= 1000:
                overtime += 1
                break
    return done / (time.perf_counter() - start), overtime / len(programs)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--programs", type=int, default=20_000, help="programs (antithetic pairs) per agent")
    ap.add_argument("--episode-length", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument(
        "--pool-size",
        type=int,
        default=None,
        help="default max(20000, 1.5 x programs), or 2.25 x with adaptive allocation (it fills the noisiest strata)",
    )
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--agents", default="hlq-lambda,q-lambda,q0,freq,random")
    ap.add_argument(
        "--allocation",
        choices=list(ALLOCATIONS),
        default="proportional",
        help="programs to strata (default proportional: paired gaps; adaptive: the reference's estimator)",
    )
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    return ap.parse_args(argv)


def _say_pool(args: argparse.Namespace, pool: StratumPool, pool_seconds: float) -> float:
    """Print the pool beside the reference's p and the interpreter's speed; return the speed."""
    say = print
    say(f"## AIQ reproduction, BF(5), {args.episode_length} cycles, seed {args.seed}, {args.allocation} allocation\n")
    say(f"Host: {platform.platform()}, Python {sys.version.split()[0]}, {args.workers} worker process(es).\n")
    say(
        f"Stratum pool: {pool.size:,} active programs from {pool.raw:,} raw draws "
        f"({100 * pool.passive / pool.raw:.2f}% passive, {100 * pool.overtime / pool.raw:.2f}% overtime; "
        f"reference re-estimate 84.16% and 1.52%), loaded or drawn in {pool_seconds:.1f} s. "
        f"Total-variation distance of p[1..20] to the reference's re-estimate: "
        f"{pool.reference_distance():.4f}.\n"
    )
    say("| stratum | " + " | ".join(str(i) for i in range(1, 21)) + " |")
    say("|---" * 21 + "|")
    say("| ours | " + " | ".join(f"{x:.4f}" for x in pool.p[1:]) + " |")
    say("| reference | " + " | ".join(f"{x:.4f}" for x in REFERENCE_P) + " |\n")

    sample = [prog for progs in pool.programs for prog in progs[:15]]
    speed, share = interpreter_speed(sample)
    say(
        f"Interpreter alone: {speed:,.0f} cycles/s on one core ({len(sample)} pool programs x up to 1,000 "
        f"cycles, random actions; {100 * share:.1f}% of them ran overtime).\n"
    )
    return speed


def _say_results(results: list[UniversalResult]) -> list[dict[str, Any]]:
    """Print our estimates beside the published ones; return them as JSON rows."""
    say = print
    say(
        "| agent | published AIQ | published half CI | ours | 95% interval | half width "
        "(reference formula) | programs | overtime replaced | time (s) "
        "| cycles/s (agent + machine, all workers) |"
    )
    say("|---|---|---|---|---|---|---|---|---|---|")
    rows: list[dict[str, Any]] = []
    for r in results:
        pub, half = PUBLISHED_1000.get(r.agent, (None, None))
        u = r.upsilon
        say(
            f"| {r.agent} | {pub if pub is not None else '(none; 0 by symmetry)'} | "
            f"{half if half is not None else ''} | {u.estimate:.2f} | [{u.ci95[0]:.2f}, {u.ci95[1]:.2f}] | "
            f"{u.half_width:.2f} ({u.reference_half_width:.2f}) | {u.programs:,} | {r.overtime} | "
            f"{r.seconds:.0f} | {r.cycles_per_second:,.0f} |"
        )
        rows.append({**r.to_json(), "published": pub, "published_half_ci": half})
    return rows


def _say_gaps(results: list[UniversalResult], allocation: str) -> list[dict[str, Any]]:
    """Print the paired differences (proportional allocation only); return them as JSON rows."""
    say = print
    gaps = []
    diffs = compare_agents(results) if allocation == "proportional" else {}
    if diffs:
        say("\nPaired differences (same programs and seeds):\n")
        say("| difference | published gap | ours | 95% interval | excludes 0 |")
        say("|---|---|---|---|---|")
    elif allocation != "proportional":
        say("\nNo paired differences: the adaptive allocation gives each agent its own programs.")
    for (a, b), d in diffs.items():
        pa, pb = PUBLISHED_1000.get(a, (None, None))[0], PUBLISHED_1000.get(b, (None, None))[0]
        gap = f"{pa - pb:.1f}" if pa is not None and pb is not None else "-"
        excl = d.ci95[0] > 0 or d.ci95[1] < 0
        say(f"| {a} - {b} | {gap} | {d.estimate:.2f} | [{d.ci95[0]:.2f}, {d.ci95[1]:.2f}] | {excl} |")
        gaps.append({"a": a, "b": b, "estimate": d.estimate, "ci95": list(d.ci95), "programs": d.programs})
    return gaps


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    agents = [a.strip() for a in args.agents.split(",") if a.strip()]
    factor = 2.25 if args.allocation == "adaptive" else 1.5
    pool_size = args.pool_size or max(20_000, math.ceil(factor * args.programs))
    executor = LocalProcessExecutor(args.workers)
    t0 = time.perf_counter()
    pool = load_pool(args.seed, pool_size, cache_dir=args.cache_dir, executor=executor)
    speed = _say_pool(args, pool, time.perf_counter() - t0)
    results = []
    for name in agents:
        r = estimate_upsilon(
            name,
            args.programs,
            args.episode_length,
            args.seed,
            allocation=args.allocation,
            pool=pool,
            executor=executor,
        )
        results.append(r)
        print(f"{name}: {r.upsilon.estimate:.2f} +- {r.upsilon.half_width:.2f} in {r.seconds:.1f} s", file=sys.stderr)
    executor.close()
    rows = _say_results(results)
    gaps = _say_gaps(results, args.allocation)
    order = [r.agent for r in sorted(results, key=lambda r: -r.upsilon.estimate)]
    print(f"\nOur ordering: {' > '.join(order)}. Total time {time.perf_counter() - t0:.0f} s.")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "allocation": args.allocation,
                    "results": rows,
                    "differences": gaps,
                    "interpreter_cycles_per_second": speed,
                    "pool": {"size": pool.size, "raw": pool.raw, "tv": pool.reference_distance()},
                    "seconds": time.perf_counter() - t0,
                },
                fh,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
