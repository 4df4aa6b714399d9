"""The allocations as strategies of one interface, the numbers they give pinned, and the public names of spawn.aiq."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import spawn.aiq
from spawn.aiq import (
    AIQ_AGENTS,
    ALLOCATIONS,
    DEFAULT_ALLOCATION,
    AdaptiveAllocation,
    ProportionalAllocation,
    QLambdaAIQAgent,
    StratumPool,
    estimate_upsilon,
    load_pool,
    make_aiq_agent,
)
from spawn.aiq.runs import PairRuns, RunSpec
from spawn.errors import ConfigError
from spawn.runtimes.inline import InlineExecutor

PROGRAMS, LENGTH = 30, 50


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> StratumPool:
    return load_pool(seed=0, size=250, cache_dir=tmp_path_factory.mktemp("aiq-cache"))


# The numbers of the estimator before it was split into pool, runs, allocation and estimate (git cf83625):
# the same seed must keep giving the same random streams, drawn in the same order.
PINNED = {
    "adaptive": (34.81299999999999, 15.88825567580807, 31.958747975727935, (0, 60), 3000),
    "proportional": (32.924, 11.395728171249024, 30.51376265103243, (), 4000),
}
ADAPTIVE_ALLOCATION = (0, 3, 2, 1, 1, 1, 1, 1, 2, 1, 1, 2, 1, 2, 1, 2, 2, 1, 2, 1, 2)


@pytest.mark.parametrize("allocation", list(ALLOCATIONS))
def test_numbers_are_those_of_the_unsplit_estimator(pool: StratumPool, allocation: str) -> None:
    r = estimate_upsilon("q-lambda", PROGRAMS, LENGTH, pool=pool, allocation=allocation, aligned=True)
    estimate, half_width, sigma, stages, cycles = PINNED[allocation]
    assert r.upsilon.estimate == pytest.approx(estimate, abs=1e-9)
    assert r.upsilon.half_width == pytest.approx(half_width, abs=1e-9)
    assert r.sigma is not None and r.sigma.estimate == pytest.approx(sigma, abs=1e-9)
    assert (r.stages, r.cycles, r.overtime, r.allocation_method) == (stages, cycles, 0, allocation)
    expected = ADAPTIVE_ALLOCATION if allocation == "adaptive" else (0,) + (2,) * 20
    assert r.allocation == expected


@pytest.mark.parametrize("allocation", list(ALLOCATIONS))
def test_each_allocation_is_a_strategy_of_the_same_interface(pool: StratumPool, allocation: str) -> None:
    """Made from (pool, programs), run on PairRuns, then estimate: what estimate_upsilon returns."""
    plan = ALLOCATIONS[allocation](pool, PROGRAMS)
    reported: list[tuple[int, int]] = []
    spec = RunSpec("freq", (), LENGTH, 0, pool.n_symbols, aligned=False)
    runs = PairRuns(pool, spec, InlineExecutor(), batch=8, progress=lambda done, total: reported.append((done, total)))
    alloc = plan.run(runs)
    want = estimate_upsilon("freq", PROGRAMS, LENGTH, pool=pool, allocation=allocation)
    got = plan.estimate(runs.pairs())
    assert (got.estimate, got.ci95, got.n) == (want.upsilon.estimate, want.upsilon.ci95, want.upsilon.n)
    assert tuple(int(x) for x in alloc) == want.allocation and plan.stages == want.stages
    assert tuple(runs.runs) == want.runs and runs.cycles == want.cycles
    assert [len(k) for k in runs.valid_keys()] == list(want.allocation)  # no overtime here: every program counts
    assert reported[-1] == (sum(want.allocation), sum(want.allocation))
    assert [d for d, _ in reported] == sorted(d for d, _ in reported)


def test_allocations_by_name(pool: StratumPool) -> None:
    assert list(ALLOCATIONS) == ["adaptive", "proportional"] and DEFAULT_ALLOCATION == "adaptive"
    assert ALLOCATIONS["adaptive"] is AdaptiveAllocation and ALLOCATIONS["proportional"] is ProportionalAllocation
    assert estimate_upsilon("random", PROGRAMS, LENGTH, pool=pool).allocation_method == "adaptive"
    with pytest.raises(ConfigError, match="too few for the adaptive allocation over 20 strata"):
        AdaptiveAllocation(pool, 10)
    with pytest.raises(ConfigError, match=r"^300 programs need more than the pool of 250 holds in strata \[1, 2"):
        ProportionalAllocation(pool, 300)


def test_public_names_of_spawn_aiq(tmp_path: Path) -> None:
    assert all(hasattr(spawn.aiq, name) for name in spawn.aiq.__all__)
    assert {"estimate_upsilon", "compare_agents", "load_pool", "UniversalResult", "make_aiq_agent"} <= set(
        spawn.aiq.__all__
    )
    from spawn.agents import QLambdaAgent

    assert QLambdaAIQAgent is not QLambdaAgent and QLambdaAIQAgent.__module__ == "spawn.aiq.agents"
    assert AIQ_AGENTS == ("hlq-lambda", "q-lambda", "q0", "freq", "random")  # the public string ids
    for name in ("q-lambda", "q0"):
        assert type(make_aiq_agent(name, np.random.default_rng(0))) is QLambdaAIQAgent
