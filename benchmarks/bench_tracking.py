"""What tracking costs: the same run with and without ``[tracking] tensorboard``, the ratio of wall times.

For each size, bench_scale's run (an archive run on the cohort engine, ``uniform`` selector, every
agent ``--steps`` training steps, batches of 2,000, FrozenLake 4x4 slippery) runs ``--repeats`` times
untracked and ``--repeats`` times tracked, alternating, each in a child process; the medians' ratio
is tracking's overhead (``ratio``; ``cpu_ratio`` of the processes' CPU seconds), and the share of
the tracked run spent inside tracking's own calls (``inside_tracking_pct``: the same figure, but
not at the mercy of whatever else the machine runs). Also: the tracking directory's bytes and
files, the bytes per agent, the seconds TensorBoard's own reader takes to load the run's event
file, and whether the tracked run's files have the untracked run's bytes.

    python benchmarks/bench_tracking.py [--sizes 10000 100000] [--repeats 3] [--steps 200] [--env lake]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_scale import config

_CHILD = """
import json, sys, time
from spawn.config import parse_config
from spawn.run import tracking
from spawn.run.driver import simulate
inside = [0.0]
def timed(f):
    def g(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            inside[0] += time.perf_counter() - t
    return g
for name in ("start", "add", "flush", "close"):
    setattr(tracking.Tracker, name, timed(getattr(tracking.Tracker, name)))
cfg = parse_config(json.loads(sys.argv[1]))
t0, c0 = time.perf_counter(), time.process_time()
simulate(cfg, sys.argv[2], force=True)
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "inside": inside[0]}))
"""

_READ = """
import sys, time
from tensorboard.backend.event_processing import event_accumulator as ea
t0 = time.perf_counter()
acc = ea.EventAccumulator(sys.argv[1], size_guidance={ea.SCALARS: 0})
acc.Reload()
n = sum(len(acc.Scalars(t)) for t in acc.Tags()["scalars"])
print(time.perf_counter() - t0, n)
"""


def run(cfg: dict[str, Any], out: Path) -> tuple[float, float, float]:
    """Wall and CPU seconds of the run in a child process, and the seconds spent inside tracking's calls."""
    done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(cfg), str(out)], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the run failed:\n{done.stderr[-3000:]}")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return float(got["wall"]), float(got["cpu"]), float(got["inside"])


def run_files(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "timing.json" and "checkpoint" not in p.parts
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--env", choices=["lake", "bandit"], default="lake")
    ap.add_argument("--batch", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
        root = Path(tmp)
        for n in args.sizes:
            base = config(args.env, n, args.steps, min(args.batch, n))
            tb = root / f"tb-{n}"
            tracked_cfg = {**base, "tracking": {"tensorboard": str(tb)}}
            plain, tracked, inside, plain_cpu, tracked_cpu = [], [], [], [], []
            for _ in range(args.repeats):
                wall, cpu, _ = run(base, root / f"plain-{n}")
                plain.append(wall)
                plain_cpu.append(cpu)
                shutil.rmtree(tb, ignore_errors=True)
                wall, cpu, spent = run(tracked_cfg, root / f"tracked-{n}")
                tracked.append(wall)
                tracked_cpu.append(cpu)
                inside.append(spent)
            same = run_files(root / f"plain-{n}") == run_files(root / f"tracked-{n}")
            files = [p for p in tb.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files)
            (main_file,) = tb.glob("events.out.tfevents.*")
            done = subprocess.run([sys.executable, "-c", _READ, str(tb)], capture_output=True, text=True, check=True)
            read_s, scalars = done.stdout.split()
            p, t = statistics.median(plain), statistics.median(tracked)
            print(
                json.dumps(
                    {
                        "agents": n,
                        "untracked_s": [round(x, 2) for x in plain],
                        "tracked_s": [round(x, 2) for x in tracked],
                        "ratio": round(t / p, 3),
                        "overhead_pct": round(100 * (t - p) / p, 1),
                        "cpu_ratio": round(statistics.median(tracked_cpu) / statistics.median(plain_cpu), 3),
                        # robust to a busy machine: the time inside tracking's calls, of the tracked run's
                        "inside_tracking_s": round(statistics.median(inside), 2),
                        "inside_tracking_pct": round(
                            100 * statistics.median(i / w for i, w in zip(inside, tracked, strict=True)), 1
                        ),
                        "tracking_bytes": size,
                        "tracking_files": len(files),
                        "run_event_file_bytes_per_agent": round(main_file.stat().st_size / n, 1),
                        "tensorboard_reads_s": round(float(read_s), 2),
                        "scalars": int(scalars),
                        "run_bytes_identical": same,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"# {time.perf_counter() - t0:.0f} s in all", file=sys.stderr)
