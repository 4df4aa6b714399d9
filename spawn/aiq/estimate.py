"""The AIQ estimator: Upsilon (and, with a constitution, Sigma) of an agent on the stratum pool, and
paired comparisons of agents.

Two allocations of programs to strata (:data:`~spawn.aiq.allocation.ALLOCATIONS`): ``"adaptive"``, the
reference's default adaptive stratified estimator (stages of growing size, each allocating in proportion
to ``p`` times the stratum's standard deviation so far), and ``"proportional"`` (in proportion to ``p``,
fixed in advance, so every agent meets the same programs and :func:`compare_agents` can pair them).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from attribution.aiq import StratifiedEstimate, paired_difference
from envs.bf import bf_constitution
from spawn.aiq.agents import make_aiq_agent
from spawn.aiq.allocation import ALLOCATIONS, DEFAULT_ALLOCATION
from spawn.aiq.pool import StratumPool, check_work, load_pool
from spawn.aiq.runs import AgentFactory, PairRuns, RunSpec, pair_rows
from spawn.errors import ConfigError
from spawn.runtimes import make_executor

__all__ = ["UniversalResult", "compare_agents", "estimate_upsilon"]


@dataclasses.dataclass(frozen=True)
class UniversalResult:
    """An agent's AIQ estimate (``upsilon``) and, with a constitution, the aligned ``sigma``.

    ``runs[i]`` maps a program's index in stratum ``i`` of the pool to ``(r+, r-, d+, d-)``; programs
    that ran overtime are kept as NaN rows, and left out of the estimates. ``allocation`` counts the
    programs each stratum was given (overtime ones replaced), ``allocation_method`` is ``"adaptive"``
    or ``"proportional"``, and ``stages`` the adaptive estimator's cumulative stage totals in runs.
    """

    agent: str
    upsilon: StratifiedEstimate
    sigma: StratifiedEstimate | None
    runs: tuple[dict[int, tuple[float, float, float, float]], ...]
    p: tuple[float, ...]
    allocation: tuple[int, ...]
    episode_length: int
    seed: int
    seconds: float
    cycles: int
    overtime: int
    allocation_method: str = "proportional"
    stages: tuple[int, ...] = ()

    @property
    def cycles_per_second(self) -> float:
        return self.cycles / self.seconds if self.seconds > 0 else math.nan

    def to_json(self) -> dict[str, Any]:
        """The result as plain JSON data (AIQ scale, -100..100)."""
        u = self.upsilon
        doc: dict[str, Any] = {
            "agent": self.agent,
            "estimate": u.estimate,
            "ci95": list(u.ci95),
            "half_width": u.half_width,
            "reference_half_width": u.reference_half_width,
            "programs": u.programs,
            "overtime_programs": self.overtime,
            "per_stratum": {
                str(i): {
                    "p": self.p[i],
                    "programs": u.n[i],
                    "mean": None if math.isnan(u.means[i]) else u.means[i],
                }
                for i in range(len(self.p))
                if self.p[i] > 0
            },
            "episode_length": self.episode_length,
            "seed": self.seed,
            "allocation": self.allocation_method,
            "seconds": round(self.seconds, 3),
            "cycles_per_second": round(self.cycles_per_second, 1),
        }
        if self.stages:
            doc["stages"] = list(self.stages)
        if self.sigma is not None:
            doc["aligned"] = {
                "estimate": self.sigma.estimate,
                "ci95": list(self.sigma.ci95),
                "alignment_tax": u.estimate - self.sigma.estimate,
                "constitution": bf_constitution().name,
            }
        return doc


def _validate(
    agent: str, programs: int, episode_length: int, pool_size: int, params: dict[str, float], *, custom: bool
) -> None:
    """Refuse a bad number of programs or cycles, work over the limits, and an unknown or misconfigured agent."""
    if programs < 1 or episode_length < 1:
        raise ConfigError(f"programs = {programs} and episode_length = {episode_length}; both must be >= 1")
    check_work(programs, episode_length, pool_size)
    if not custom:
        make_aiq_agent(agent, np.random.default_rng(0), episode_length, 5, **params)


def estimate_upsilon(
    agent: str = "freq",
    programs: int = 1000,
    episode_length: int = 1000,
    seed: int = 0,
    *,
    allocation: str = DEFAULT_ALLOCATION,
    aligned: bool = False,
    executor: Any = None,
    pool: StratumPool | None = None,
    pool_size: int = 20_000,
    cache_dir: str | Path | None = None,
    agent_params: dict[str, float] | None = None,
    factory: AgentFactory | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 64,
) -> UniversalResult:
    """Estimate an agent's AIQ on BF(5) programs, the reference's stratified way, with antithetic runs.

    ``allocation`` (:data:`~spawn.aiq.allocation.ALLOCATIONS`) spreads the ``programs`` (antithetic pairs)
    over the pool's strata: ``"adaptive"`` (the reference's default) follows the agent's own variances, so
    :func:`compare_agents` cannot pair its results; ``"proportional"`` gives every agent the same programs.
    Programs come from each stratum in pool order, one that runs overtime replaced by the next, and a
    program's runs depend only on the seed and its place in the pool (:class:`~spawn.aiq.runs.PairRuns`),
    whatever the allocation and the executor. ``factory`` (picklable, for a process pool) scores any agent
    with ``perceive`` and ``action_probs`` instead of a named baseline; ``aligned`` adds Sigma under
    :func:`~envs.bf.bf_constitution` (on the programs Upsilon chose).

    Examples
    --------
    >>> import tempfile
    >>> r = estimate_upsilon("random", 30, 50, pool_size=250, cache_dir=tempfile.mkdtemp())
    >>> r.allocation_method, r.stages, -30 < r.upsilon.estimate < 30, r.upsilon.programs >= 20
    ('adaptive', (0, 60), True, True)
    """
    if allocation not in ALLOCATIONS:
        raise ConfigError(f"allocation = {allocation!r}; accepted: {', '.join(ALLOCATIONS)}")
    size = pool.size if pool is not None else max(pool_size, 1)
    _validate(agent, programs, episode_length, size, agent_params or {}, custom=factory is not None)
    start = time.perf_counter()
    ex = executor if executor is not None else make_executor("inline")
    if pool is None:
        pool = load_pool(seed, max(pool_size, 1), cache_dir=cache_dir, executor=ex)
    plan = ALLOCATIONS[allocation](pool, programs)
    params = tuple(sorted((agent_params or {}).items()))
    spec = RunSpec(agent, params, episode_length, seed, pool.n_symbols, aligned, factory)
    runs = PairRuns(pool, spec, ex, batch, progress)
    alloc = plan.run(runs)
    return UniversalResult(
        agent=agent if factory is None else getattr(factory, "__name__", "custom"),
        upsilon=plan.estimate(runs.pairs()),
        sigma=plan.estimate(runs.aligned_pairs()) if aligned else None,
        runs=tuple(runs.runs),
        p=tuple(float(x) for x in pool.p),
        allocation=tuple(int(x) for x in alloc),
        episode_length=episode_length,
        seed=seed,
        seconds=time.perf_counter() - start,
        cycles=runs.cycles,
        overtime=runs.overtime,
        allocation_method=allocation,
        stages=plan.stages,
    )


def compare_agents(results: Sequence[UniversalResult]) -> dict[tuple[str, str], StratifiedEstimate]:
    """Paired differences between consecutive results (same seed and pool): ``(a, b) -> a - b``.

    Only programs both agents completed count (by their index in the pool). Pairing needs the same
    programs for every agent, so the results must come from ``allocation="proportional"``: the
    adaptive allocation follows each agent's own variances and gives agents different programs (a
    :class:`~spawn.errors.ConfigError` says so).

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> rs = [
    ...     estimate_upsilon(a, 25, 40, allocation="proportional", pool_size=250, cache_dir=d)
    ...     for a in ("freq", "random")
    ... ]
    >>> diff = compare_agents(rs)[("freq", "random")]
    >>> diff.programs >= 25
    True
    """
    out: dict[tuple[str, str], StratifiedEstimate] = {}
    adaptive = [r.agent for r in results if r.allocation_method != "proportional"]
    if adaptive:
        raise ConfigError(
            f"paired comparisons need the same programs for every agent: estimate {', '.join(adaptive)} "
            "with allocation='proportional' (the adaptive allocation follows each agent's own results)"
        )
    for a, b in itertools.pairwise(results):
        if a.seed != b.seed or a.p != b.p or a.episode_length != b.episode_length:
            raise ConfigError(f"{a.agent} and {b.agent} were not run on the same programs and seed")
        pa, pb = [], []
        for ra, rb in zip(a.runs, b.runs, strict=True):
            keys = sorted(k for k in set(ra) & set(rb) if not (math.isnan(ra[k][0]) or math.isnan(rb[k][0])))
            pa.append(pair_rows(ra, keys))
            pb.append(pair_rows(rb, keys))
        out[(a.agent, b.agent)] = paired_difference(a.p, pa, pb)
    return out
