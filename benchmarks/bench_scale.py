"""Large lineages end to end: runs of 10^4, 10^5 (and 10^6) agents and every command on the result.

For each size and environment (FrozenLake 4x4 slippery, the clocked DriftingBandit-v0) one archive
run on the cohort engine (``uniform`` selector, every agent ``--steps`` training steps, batches of
``--batch`` children, ``[output] format = "both"``) runs in a child process, which reports its wall
time, agent-steps per second (training and evaluation) and peak resident memory. Resident bytes per
agent are (peak - the peak of a 10-agent run of the same config) / agents. Then on the run
directory, each in a child process and timed: ``inspect``, ``compare`` with every non-Monte-Carlo
rule, ``export`` to every format and ``plot`` of every kind a run has; and the bytes per agent of
each output file.

    python benchmarks/bench_scale.py [--sizes 10000 100000] [--envs lake bandit] [--steps 200]
        [--synthetic 1000000] [--kill-at 0.5] [--keep DIR]

``--kill-at F`` also starts the same run again, SIGKILLs it once its checkpoint holds the share F of
its agents, resumes it with ``lineage-sim resume`` and reports the resume's time and memory and
whether every output has the uninterrupted run's bytes; ``--keep DIR`` keeps the run directories.

``--synthetic N`` also times the commands on a lineage of N agents made from the first run's
``lineage.parquet`` (its rows repeated, a random recursive tree of lineage-path ids): the command
figures at a size the run itself does not reach on this machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from attribution import rule_names

ENVS = {
    "lake": {"id": "FrozenLake-v1", "return_range": [0, 1], "kwargs": {"is_slippery": True}},
    "bandit": {
        "id": "lineage_sim/DriftingBandit-v0",
        "kwargs": {"n_arms": 4, "episode_length": 100, "drift_step": 10**9, "world_seed": 2},
    },
}
#: Every rule but the Monte-Carlo one (shapley), with its default parameters.
RULES = [r for r in rule_names() if r != "shapley"]
EXPORTS = ["json", "graphml", "alife", "newick", "parquet"]
PLOTS = ["tree", "generations", "compare", "selection", "curves"]
OUTPUTS = ["lineage.json", "lineage.parquet", "agents.csv", "agents.parquet", "phylogeny.csv", "curves.csv"]


def config(env: str, agents: int, steps: int, batch: int) -> dict[str, Any]:
    return {
        "seed": 1,
        "budget": agents * steps,
        "regime": "archive",
        "selector": "uniform",
        "engine": "cohort",
        "envs": [ENVS[env]],
        "agent": {"kind": "q", "epsilon": 0.1, "alpha": 0.1, "gamma": 0.95},
        "operators": {"finetune": 1.0, "mutate": 0.0, "add-tool": 0.0, "new-task": 0.0},
        "spawn": {"triggers": ["schedule"]},
        "archive": {"batch_size": batch, "child_budget": steps, "root_budget": steps},
        "caps": {"max_agents": agents, "max_depth": 64},
        "eval": {"episodes": 2, "max_steps": 100},
        "output": {"format": "both"},
    }


_CHILD = """
import json, resource, sys, time
from spawn.config import parse_config
from spawn.run.driver import simulate
cfg = parse_config(json.loads(sys.argv[1]))
t0 = time.perf_counter()
simulate(cfg, sys.argv[2])
wall = time.perf_counter() - t0
timing = json.load(open(sys.argv[2] + "/timing.json"))
print(json.dumps({"wall": wall, "steps": timing["train_steps"] + timing["eval_steps"], "agents": timing["agents"],
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def run(cfg: dict[str, Any], out: Path) -> dict[str, Any]:
    """The run in a child process: wall seconds, agent-steps, agents, peak resident bytes."""
    done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(cfg), str(out)], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the run failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def killed_and_resumed(cfg: dict[str, Any], out: Path, agents: int, reference: Path, fraction: float) -> dict[str, Any]:
    """The same run in a child process, SIGKILLed once its checkpoint holds ``fraction`` of its
    agents, then ``lineage-sim resume``: the agents saved at the kill, the resume's wall seconds and
    peak memory, and whether every output has the uninterrupted run's bytes."""
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(cfg), str(out)], stdout=subprocess.DEVNULL)
    manifest = out / "checkpoint" / "manifest.json"
    saved = 0
    while proc.poll() is None and saved < fraction * agents:
        time.sleep(0.5)
        try:
            saved = json.loads(manifest.read_text())["entries"]
        except (OSError, ValueError, KeyError):
            continue
    if proc.poll() is not None:
        raise SystemExit("the run ended before it was killed")
    proc.kill()
    proc.wait()
    saved = json.loads(manifest.read_text())["entries"]
    wall, peak = command(["resume", str(out), "--quiet"])
    names = sorted(f.name for f in reference.iterdir() if f.is_file() and f.name != "timing.json")
    differ = [n for n in names if (out / n).read_bytes() != (reference / n).read_bytes()]
    return {"killed_at": saved, "resume_wall": wall, "resume_peak": peak, "files": len(names), "differ": differ}


def command(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak resident bytes of one ``lineage-sim`` command in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "spawn.cli", *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"lineage-sim {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) * 1024


def commands(target: Path, scratch: Path, plots: list[str]) -> dict[str, float]:
    """Every command on ``target`` (a run directory or a lineage file), timed."""
    out: dict[str, float] = {}
    out["inspect"], _ = command(["inspect", str(target)])
    out["compare"], _ = command(["compare", str(target), *(f"--rule={r}" for r in RULES)])
    for fmt in EXPORTS:
        dest = str(scratch / f"x.{fmt}")
        out[f"export {fmt}"], _ = command(["export", str(target), "--format", fmt, "--output", dest])
    for kind in plots:
        dest = str(scratch / f"{kind}.png")
        out[f"plot {kind}"], _ = command(["plot", str(target), "--kind", kind, "--output", dest])
    return out


def synthetic(source: Path, n: int, dest: Path, seed: int = 0) -> None:
    """A lineage.parquet of ``n`` agents: ``source``'s rows repeated, a random recursive tree."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lineage.parquet import ROW_GROUP

    table = pq.read_table(source)
    reps = -(-n // table.num_rows)
    big = pa.concat_tables([table] * reps).slice(0, n)
    rng = np.random.default_rng(seed)
    parent = np.floor(rng.random(n) * np.arange(n) ** 0.9).astype(np.int64)  # deeper than uniform
    parent[0] = -1
    ids: list[str] = ["0"]
    kids = np.zeros(n, np.int64)
    for p in parent[1:].tolist():
        ids.append(f"{ids[p]}.{kids[p]}")
        kids[p] += 1
    big = big.set_column(0, "id", pa.array(ids, pa.string()))
    big = big.set_column(1, "parent", pa.array(parent, pa.int64(), mask=parent < 0))
    pq.write_table(big, dest, row_group_size=ROW_GROUP, compression="zstd")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--envs", nargs="+", choices=list(ENVS), default=list(ENVS))
    ap.add_argument("--steps", type=int, default=200, help="training steps of every agent")
    ap.add_argument("--batch", type=int, default=2000, help="children per batch (one cohort)")
    ap.add_argument("--synthetic", type=int, default=0, help="also time the commands on a lineage this large")
    ap.add_argument("--kill-at", type=float, default=0.0, help="also SIGKILL a second run at this share, resume it")
    ap.add_argument("--keep", type=Path, help="keep the run directories here (default: a temporary folder)")
    args = ap.parse_args()
    rows = []
    first: Path | None = None
    with tempfile.TemporaryDirectory() as scratch:
        tmp = str(args.keep) if args.keep else scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        for env in args.envs:
            base = run(config(env, 10, args.steps, 10), Path(tmp) / f"{env}-base")["peak"]
            for n in args.sizes:
                out = Path(tmp) / f"{env}-{n}"
                r = run(config(env, n, args.steps, min(args.batch, n)), out)
                first = first or out
                disk = {f: (out / f).stat().st_size / r["agents"] for f in OUTPUTS}
                times = commands(out, Path(tmp), PLOTS)
                rows.append((env, r, (r["peak"] - base) / r["agents"], disk, times))
                print(json.dumps({"env": env, "run": r, "disk_bytes_per_agent": disk, "commands": times}), flush=True)
                if args.kill_at:
                    cut = Path(tmp) / f"{env}-{n}-killed"
                    k = killed_and_resumed(config(env, n, args.steps, min(args.batch, n)), cut, n, out, args.kill_at)
                    print(json.dumps({"env": env, "agents": n, "kill": k}), flush=True)
        synth = None
        if args.synthetic and first is not None:
            big = Path(tmp) / "synthetic.parquet"
            synthetic(first / "lineage.parquet", args.synthetic, big)
            synth = commands(big, Path(tmp), ["tree", "generations", "compare"])
            print(json.dumps({"synthetic": args.synthetic, "commands": synth}), flush=True)
    print()
    print(f"{'env':<8}{'agents':>10}{'wall s':>9}{'steps/s':>11}{'peak MB':>9}{'B/agent':>9}  disk B/agent")
    for env, r, per_agent, disk, _ in rows:
        files = ", ".join(f"{k} {v:,.0f}" for k, v in disk.items())
        print(
            f"{env:<8}{r['agents']:>10,}{r['wall']:>9.1f}{r['steps'] / r['wall']:>11,.0f}"
            f"{r['peak'] / 2**20:>9,.0f}{per_agent:>9,.0f}  {files}"
        )
    names = list(rows[0][4]) if rows else []
    print()
    print(f"{'command (s)':<20}" + "".join(f"{env[:6]}/{r['agents']:<9,}" for env, r, *_ in rows)
          + (f"synthetic {args.synthetic:,}" if synth else ""))
    for name in names:
        cells = "".join(f"{t[name]:>16.1f}" for *_, t in rows)
        extra = f"{synth[name]:>16.1f}" if synth and name in synth else ""
        print(f"{name:<20}{cells}{extra}")


if __name__ == "__main__":
    main()
