"""Benchmark ``lineage-sim inspect`` on deep chains: the folded default view against full nesting.

Run from the repository root::

    python benchmarks/bench_inspect.py                 # 5,000 / 20,000 / 100,000 deep
    python benchmarks/bench_inspect.py --sizes 5000 20000 --before-max 20000

For each depth ``n`` a chain of ``n`` agents (short ids ``a0``, ``a1``, ...; each the only child of
the one before) is written as a lineage file, and three things are timed:

1. ``after``: the whole command, ``main(["inspect", FILE])`` in this process, output to
   ``/dev/null`` (load, tree, summary). The default view folds the line of descent into one line
   and caps nesting, so its work is linear in the number of agents.
2. ``load``: reading the file alone (``LineageGraph.load``), the floor under ``after``.
3. ``before``: printing the tree with folding off and nesting uncapped
   (``render(fold=0, max_nesting=10**9)``), which is how the tree was drawn before: rich draws one
   guide per level on every line, so the work grows with the square of the depth. Only run up to
   ``--before-max`` agents (default 20,000; 100,000 takes many minutes).

Figures are wall-clock seconds, the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lineage import LineageGraph

__all__ = ["chain", "main"]


def chain(n: int) -> LineageGraph:
    """A line of descent of ``n`` agents."""
    g = LineageGraph()
    g.add_agent("a0", value=0.0)
    for i in range(1, n):
        g.add_agent(f"a{i}", parent=f"a{i - 1}", operator="mutate", value=i / n)
    return g


def _best(func: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def _inspect(path: Path) -> None:
    from spawn.cli import main as cli

    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        status = cli(["inspect", str(path)])
    assert status == 0


def _before(g: LineageGraph) -> None:
    from rich.console import Console

    with open(os.devnull, "w") as sink:
        Console(file=sink, width=80).print(g.render(fold=0, max_nesting=10**9, attributes=["value"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 20_000, 100_000])
    parser.add_argument("--before-max", type=int, default=20_000, help="largest chain timed the old way")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"{'depth':>8}  {'load s':>8}  {'after s':>8}  {'before s':>9}  {'after lines':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            g = chain(n)
            path = Path(tmp) / f"chain-{n}.json"
            g.save(path)
            load = _best(lambda: LineageGraph.load(path), args.repeat)  # noqa: B023
            after = _best(lambda: _inspect(path), args.repeat)  # noqa: B023
            before = f"{_best(lambda: _before(g), args.repeat):9.2f}" if n <= args.before_max else f"{'-':>9}"  # noqa: B023
            from io import StringIO

            from rich.console import Console

            buf = StringIO()
            Console(file=buf, width=80).print(g.render(attributes=["value"]))
            print(f"{n:>8}  {load:8.2f}  {after:8.2f}  {before}  {len(buf.getvalue().splitlines()):>11}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
