"""Benchmark the lineage record: cost of a birth as the lineage grows, and vectorised clade_sum vs networkx.

Run from the repository root::

    python benchmarks/bench_lineage.py

1. ``LineageGraph.add_agent``: mean time per birth over windows of consecutive births around the
   100th birth (in many fresh lineages) and around the 100,000th (several windows in one large
   lineage). Each number is the median over windows. The ratio should stay near 1: recording a
   birth must not get dearer as the lineage grows.
2. ``LineageGraph.clade_sum`` (one vectorised pass per depth level) against a per-node reference
   that sums over ``networkx.descendants`` for every agent, on lineages of 10^5 agents of two
   shapes. The reference is timed on a random sample of agents and extrapolated to all of them
   (an unbiased estimate: the sample is uniform over agents), and checked against the fast result.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import networkx as nx
import numpy as np

from lineage import LineageGraph, child_id

__all__ = ["bench_add_agent", "bench_clade_sum", "main"]

Births = list[tuple[int, dict[str, float | int]]]


def _births(n: int, rng: np.random.Generator, recent: int | None = None) -> Births:
    """``n`` births: each parent's row, drawn uniformly from all earlier agents (or the last ``recent``)."""
    lows = np.zeros(n, dtype=np.int64) if recent is None else np.maximum(0, np.arange(n) - recent)
    parents = [int(rng.integers(lo, i)) if i else -1 for i, lo in enumerate(lows.tolist())]
    values = rng.random(n)
    trials = rng.integers(10, 30, n)
    out: Births = []
    for i in range(n):
        t = int(trials[i])
        attrs = {
            "value": float(values[i]),
            "successes": int(values[i] * t),
            "trials": t,
            "distance": float(values[i] / 2),
            "cost": 0.01,
        }
        out.append((parents[i], attrs))
    return out


def _ids(births: Births) -> list[str]:
    """Lineage-path ids: one root ``0``, each child its parent's id and birth index."""
    ids: list[str] = []
    counts: list[int] = []
    for parent, _ in births:
        if parent < 0:
            ids.append("0")
        else:
            ids.append(child_id(ids[parent], counts[parent]))
            counts[parent] += 1
        counts.append(0)
    return ids


class _BareNetworkx:
    """The same births written straight into a ``networkx.DiGraph``: the baseline for the ratio."""

    def __init__(self) -> None:
        self.g = nx.DiGraph()

    def add_agent(
        self, agent: str, parent: str | None = None, operator: str | None = None, **attrs: object
    ) -> None:
        self.g.add_node(agent, **attrs)
        if parent is not None:
            self.g.add_edge(parent, agent, operator=operator)

    def __len__(self) -> int:
        return len(self.g)


def _record(g: LineageGraph | _BareNetworkx, ids: list[str], births: Births, start: int, stop: int) -> int:
    """Add births ``start:stop``; return the elapsed nanoseconds."""
    t0 = time.perf_counter_ns()
    for i in range(start, stop):
        parent, attrs = births[i]
        g.add_agent(ids[i], parent=None if parent < 0 else ids[parent], operator="mutate", **attrs)
    return time.perf_counter_ns() - t0


def bench_add_agent(
    late: int = 100_000,
    early: int = 100,
    window: int = 100,
    early_repeats: int = 200,
    late_windows: int = 21,
    recent: int | None = None,
    seed: int = 0,
    bare: bool = False,
) -> dict[str, float]:
    """Median time per birth (microseconds) in windows around birth ``early`` and birth ``late``.

    With ``bare``, the births go straight into a ``networkx.DiGraph`` instead, as a baseline.
    """
    make = _BareNetworkx if bare else LineageGraph
    rng = np.random.default_rng(seed)
    half = window // 2

    births = _births(early + half, rng, recent)
    ids = _ids(births)
    early_us = []
    for _ in range(early_repeats):
        g = make()
        _record(g, ids, births, 0, early - half)
        early_us.append(_record(g, ids, births, early - half, early + half) / window / 1e3)

    # Windows spread over late ± 5%, with untimed births between them.
    spread = late // 20
    starts = np.linspace(late - spread, late + spread, late_windows).astype(int).tolist()
    births = _births(starts[-1] + window, rng, recent)
    ids = _ids(births)
    g = make()
    done, late_us = 0, []
    for s in starts:
        _record(g, ids, births, done, s)
        late_us.append(_record(g, ids, births, s, s + window) / window / 1e3)
        done = s + window
    e, lt = statistics.median(early_us), statistics.median(late_us)
    return {"early_us": e, "late_us": lt, "ratio": lt / e, "late_agents": float(len(g))}


def _reference_clade_sum(
    graph: nx.DiGraph, depth: dict[str, int], values: dict[str, float], a: str, gamma: float
) -> float:
    below = nx.descendants(graph, a)
    return values[a] + sum(gamma ** (depth[d] - depth[a]) * values[d] for d in below)


def _best_of(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def bench_clade_sum(
    n: int = 100_000, sample: int = 200, gamma: float = 0.9, recent: int | None = None, seed: int = 1
) -> dict[str, float]:
    """Vectorised clade_sum for all ``n`` agents vs the per-node reference, extrapolated from ``sample``."""
    rng = np.random.default_rng(seed)
    births = _births(n, rng, recent)
    ids = _ids(births)
    g = LineageGraph()
    _record(g, ids, births, 0, n)

    fast_s, fast = _best_of(lambda: g.clade_sum("value", gamma=gamma), repeats=5)
    assert isinstance(fast, dict)

    graph = g.graph
    depth = dict(zip(g.ids, g.arrays.depth.tolist(), strict=True))
    values = dict(zip(g.ids, g.column("value").tolist(), strict=True))
    chosen = [ids[i] for i in rng.choice(n, size=sample, replace=False)]
    t0 = time.perf_counter()
    ref = {a: _reference_clade_sum(graph, depth, values, a, gamma) for a in chosen}
    ref_s = (time.perf_counter() - t0) * n / sample
    err = max(abs(ref[a] - fast[a]) / max(1.0, abs(ref[a])) for a in chosen)
    return {
        "agents": float(n),
        "max_depth": float(g.arrays.depth.max()),
        "mean_clade": float(np.mean(g.arrays.depth) + 1),  # mean clade size = mean depth + 1
        "fast_s": fast_s,
        "reference_s": ref_s,
        "speedup": ref_s / fast_s,
        "max_rel_error": err,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=100_000, help="size of the large lineages (1e5)")
    parser.add_argument("--sample", type=int, default=200, help="agents the networkx reference is timed on")
    args = parser.parse_args(argv)

    shapes = (("uniform parent (shallow)", None), ("parent among the last 100 (deep)", 100))
    print("add_agent, mean time per birth (median over windows of 100 consecutive births):")
    rows = [(f"LineageGraph, {shape}", recent, False) for shape, recent in shapes]
    rows.append(("bare nx.DiGraph (baseline), uniform", None, True))
    for label, recent, bare in rows:
        r = bench_add_agent(late=args.agents, recent=recent, bare=bare)
        print(
            f"  {label:48s} birth 100: {r['early_us']:5.2f} us   birth {args.agents:,}: "
            f"{r['late_us']:5.2f} us   ratio {r['ratio']:.2f}"
        )

    for shape, recent in shapes:
        c = bench_clade_sum(n=args.agents, sample=args.sample, recent=recent)
        print(
            f"clade_sum over {int(c['agents']):,} agents, {shape}: max depth {int(c['max_depth'])}, "
            f"mean clade {c['mean_clade']:.0f} agents"
        )
        print(f"  vectorised (all agents, best of 5): {c['fast_s'] * 1e3:9.1f} ms")
        print(
            f"  per-node nx.descendants reference:  {c['reference_s'] * 1e3:9.1f} ms "
            f"(timed on {args.sample} random agents, x{int(c['agents']) // args.sample} extrapolated)"
        )
        print(f"  speed-up: {c['speedup']:.0f}x; largest relative difference {c['max_rel_error']:.1e}")


if __name__ == "__main__":
    main()
