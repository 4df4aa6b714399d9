"""The allocations of programs to strata, each with its estimator: ``"adaptive"`` and ``"proportional"``.

An allocation is made for one estimate from the pool and the number of programs (refusing a pool too
small for them), then :meth:`Allocation.run` runs the programs and :meth:`Allocation.estimate` turns
each stratum's rows into the stratified estimate. :data:`ALLOCATIONS` names them; the first is the default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from attribution.aiq import (
    StratifiedEstimate,
    adaptive_allocation,
    adaptive_estimate,
    adaptive_stages,
    pair_sds,
    proportional_allocation,
    stratified_estimate,
)
from envs.bf import STRATA
from spawn.aiq.pool import StratumPool
from spawn.aiq.runs import PairRuns
from spawn.errors import ConfigError

__all__ = ["ALLOCATIONS", "DEFAULT_ALLOCATION", "AdaptiveAllocation", "Allocation", "ProportionalAllocation"]

_ADVICE = "use a larger pool (pool_size, --pool-size: about 2 x programs)"


class Allocation(Protocol):
    """How one estimate spreads its programs (antithetic pairs) over the pool's strata, and its estimator."""

    #: The adaptive estimator's cumulative stage totals in runs; empty for a fixed allocation.
    stages: tuple[int, ...]

    def run(self, runs: PairRuns) -> np.ndarray:
        """Run the programs (with ``runs.fill``); the number of programs each stratum was given."""

    def estimate(self, rows: list[np.ndarray]) -> StratifiedEstimate:
        """The stratified estimate from each stratum's ``(r+, r-)`` rows."""


def _refuse_short(pool: StratumPool, programs: int, short: list[int]) -> None:
    if short:
        raise ConfigError(
            f"{programs} programs need more than the pool of {pool.size} holds in strata {short}; {_ADVICE}"
        )


class ProportionalAllocation:
    """In proportion to ``p`` (at least two per stratum), fixed before any run: every agent meets the
    same programs with the same seeds, as paired comparisons need (:func:`~attribution.aiq.proportional_allocation`).
    """

    def __init__(self, pool: StratumPool, programs: int) -> None:
        self.p = pool.p
        self.alloc = proportional_allocation(self.p, programs)
        _refuse_short(pool, programs, [i for i in range(STRATA) if self.alloc[i] > len(pool.programs[i])])
        self.stages: tuple[int, ...] = ()

    def run(self, runs: PairRuns) -> np.ndarray:
        runs.expect(int(self.alloc.sum()))
        runs.fill(self.alloc)
        return self.alloc

    def estimate(self, rows: list[np.ndarray]) -> StratifiedEstimate:
        return stratified_estimate(self.p, rows)


class AdaptiveAllocation:
    """The reference's adaptive stratified estimator (its section 4.2, and its default).

    The runs are split into stages, ``N = [0, 3A, 6A, 10A, 20A, ...]`` cut at ``2 programs`` (``A`` the
    strata with ``p > 0``; :func:`~attribution.aiq.adaptive_stages`); each stage gives every such stratum
    one program plus a share in proportion to ``p`` times the stratum's standard deviation of a pair's
    mean so far ("method a", :func:`~attribution.aiq.adaptive_allocation`), so programs go where they
    reduce the variance most. The estimate is ``sum_i p_i`` times the stratum's mean run, with the
    stratified 95% interval and the reference's own half-width (:func:`~attribution.aiq.adaptive_estimate`).
    The allocation depends on the agent's own results, so two agents get different programs.
    """

    def __init__(self, pool: StratumPool, programs: int) -> None:
        self.pool, self.p = pool, pool.p
        live = [i for i in range(STRATA) if self.p[i] > 0]
        self.stages = tuple(adaptive_stages(len(live), 2 * programs))
        if len(self.stages) < 2:
            raise ConfigError(
                f"programs = {programs} is too few for the adaptive allocation over {len(live)} strata "
                f"(it needs more than {len(live) / 2:g}); use more programs or the proportional allocation"
            )
        need = len(self.stages) - 1  # at least one program per stratum and stage
        short = [i for i in live if len(pool.programs[i]) < need] if programs <= pool.size else live
        _refuse_short(pool, programs, short)

    def run(self, runs: PairRuns) -> np.ndarray:
        stages = self.stages
        runs.expect(stages[-1] // 2)
        alloc = np.zeros(STRATA, dtype=np.int64)
        sd = np.ones(STRATA)
        for k in range(1, len(stages)):
            alloc += adaptive_allocation(self.p, sd, stages[k] - stages[k - 1]) // 2
            runs.expect(int(alloc.sum()))
            short = runs.fill(alloc)
            if short:
                raise ConfigError(f"the pool of {self.pool.size} ran out of programs in strata {short}; {_ADVICE}")
            sd = pair_sds(self.p, runs.pairs())
        return alloc

    def estimate(self, rows: list[np.ndarray]) -> StratifiedEstimate:
        return adaptive_estimate(self.p, rows, self.stages[-1])


#: ``estimate_upsilon``'s allocations by name, each ``(pool, programs) -> Allocation``; the first is the default.
ALLOCATIONS: dict[str, Callable[[StratumPool, int], Allocation]] = {
    "adaptive": AdaptiveAllocation,
    "proportional": ProportionalAllocation,
}
DEFAULT_ALLOCATION = next(iter(ALLOCATIONS))
