"""The adaptive allocation of ``estimate_upsilon``: the small published check, determinism, the stage loop, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from attribution.aiq import adaptive_allocation, adaptive_estimate, adaptive_stages, pair_sds
from spawn.aiq import StratumPool, UniversalResult, compare_agents, estimate_upsilon, load_pool
from spawn.cli import main
from spawn.errors import ConfigError
from spawn.runtimes.processes import LocalProcessExecutor

PROGRAMS, LENGTH = 120, 200
AGENTS = ("freq", "random")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("aiq-cache")


@pytest.fixture(scope="module")
def pool(cache: Path) -> StratumPool:
    return load_pool(seed=0, size=1000, cache_dir=cache)


@pytest.fixture(scope="module")
def adaptive(pool: StratumPool) -> dict[str, UniversalResult]:
    return {a: estimate_upsilon(a, PROGRAMS, LENGTH, pool=pool) for a in AGENTS}


@pytest.fixture(scope="module")
def proportional(pool: StratumPool) -> dict[str, UniversalResult]:
    return {a: estimate_upsilon(a, PROGRAMS, LENGTH, pool=pool, allocation="proportional") for a in AGENTS}


def test_small_published_check_under_adaptive(adaptive: dict[str, UniversalResult]) -> None:
    rnd, freq = adaptive["random"].upsilon, adaptive["freq"].upsilon
    assert adaptive["random"].allocation_method == "adaptive"
    assert adaptive["random"].stages == (0, 60, 120, 200, 240)  # A = 20, 240 runs
    assert rnd.ci95[0] < 0 < rnd.ci95[1] and abs(rnd.estimate) < 3
    assert freq.estimate > 20 and freq.ci95[0] > rnd.ci95[1]
    assert 0 < freq.reference_half_width < freq.half_width  # the reference counts both runs as independent


def test_adaptive_and_proportional_agree_within_their_intervals(
    adaptive: dict[str, UniversalResult], proportional: dict[str, UniversalResult]
) -> None:
    for name in AGENTS:
        a, b = adaptive[name], proportional[name]
        assert abs(a.upsilon.estimate - b.upsilon.estimate) < a.upsilon.half_width + b.upsilon.half_width
        assert a.allocation != b.allocation  # adaptive moved programs between strata
        for ra, rb in zip(a.runs, b.runs, strict=True):  # a program's runs do not depend on the allocation
            common = set(ra) & set(rb)
            assert [ra[k] for k in sorted(common)] == [rb[k] for k in sorted(common)]


def test_adaptive_is_deterministic_for_a_seed(pool: StratumPool, adaptive: dict[str, UniversalResult]) -> None:
    again = estimate_upsilon("freq", PROGRAMS, LENGTH, pool=pool)
    first = adaptive["freq"]
    assert again.runs == first.runs and again.allocation == first.allocation
    assert (again.upsilon.estimate, again.upsilon.ci95) == (first.upsilon.estimate, first.upsilon.ci95)
    ex = LocalProcessExecutor(2)
    try:
        parallel = estimate_upsilon("freq", 40, 60, pool=pool, executor=ex)
    finally:
        ex.close()
    assert parallel.runs == estimate_upsilon("freq", 40, 60, pool=pool).runs
    assert estimate_upsilon("freq", 40, 60, seed=1, pool=pool).runs != parallel.runs


def test_the_loop_is_the_reference_stage_by_stage(adaptive: dict[str, UniversalResult]) -> None:
    """Replay the stages from the recorded runs with the pure functions: same allocation, same estimate."""
    for r in adaptive.values():
        p = np.array(r.p)
        stages = adaptive_stages(int(np.ceil(p).sum()), 2 * PROGRAMS)
        assert tuple(stages) == r.stages
        valid = [sorted(k for k, v in runs.items() if not math.isnan(v[0])) for runs in r.runs]
        sd, cum = np.ones(len(p)), np.zeros(len(p), dtype=np.int64)
        for k in range(1, len(stages)):
            cum += adaptive_allocation(p, sd, stages[k] - stages[k - 1]) // 2
            pairs = [[r.runs[i][j][:2] for j in valid[i][: cum[i]]] for i in range(len(p))]
            sd = pair_sds(p, pairs)
        assert tuple(cum.tolist()) == r.allocation == tuple(len(v) for v in valid)
        assert abs(sum(r.allocation) - PROGRAMS) <= 2
        final = adaptive_estimate(p, pairs, stages[-1])
        assert final.estimate == r.upsilon.estimate
        assert final.reference_half_width == r.upsilon.reference_half_width


def test_paired_comparisons_need_the_proportional_allocation(
    adaptive: dict[str, UniversalResult], proportional: dict[str, UniversalResult]
) -> None:
    with pytest.raises(ConfigError, match="allocation='proportional'"):
        compare_agents([adaptive["freq"], adaptive["random"]])
    with pytest.raises(ConfigError, match="same programs"):
        compare_agents([proportional["freq"], adaptive["random"]])
    assert compare_agents([proportional["freq"], proportional["random"]])[("freq", "random")].ci95[0] > 0


def test_bad_allocations_are_refused(pool: StratumPool) -> None:
    with pytest.raises(ConfigError, match="accepted: adaptive, proportional"):
        estimate_upsilon("random", 30, 10, pool=pool, allocation="neyman")
    with pytest.raises(ConfigError, match="too few"):
        estimate_upsilon("random", 10, 10, pool=pool)  # 20 runs for 20 strata: no stage
    with pytest.raises(ConfigError, match="pool"):
        estimate_upsilon("random", 1001, 10, pool=pool)


def test_aligned_sigma_under_adaptive(pool: StratumPool) -> None:
    r = estimate_upsilon("freq", 40, LENGTH, pool=pool, aligned=True)
    assert r.sigma is not None and r.sigma.n == r.upsilon.n
    assert r.sigma.estimate < r.upsilon.estimate


def test_cli_allocation(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["universal", "--agent", "freq", "--programs", "30", "--episode-length", "50", "--pool-size", "1000"]
    argv += ["--cache-dir", str(cache), "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["allocation"] == "adaptive" and doc["stages"] == [0, 60]
    assert doc["ci95"][0] <= doc["estimate"] <= doc["ci95"][1]
    assert main([*argv, "--allocation", "proportional"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["allocation"] == "proportional" and "stages" not in doc and doc["programs"] == 40
    assert main([*argv, "--allocation", "neyman"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--allocation" in err and "Traceback" not in err
    assert main([*argv[:4], "5", *argv[5:], "--quiet"]) == 2  # 5 programs: too few for 20 strata
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "too few" in err
