"""The AIQ estimator: the small published check, determinism, pairing, Sigma, agents and the command line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from spawn.aiq import (
    AIQ_AGENTS,
    HLQLambdaAgent,
    LineageAgentFactory,
    QLambdaAIQAgent,
    StratumPool,
    agent_parameters,
    compare_agents,
    estimate_upsilon,
    load_pool,
    make_aiq_agent,
)
from spawn.cli import main
from spawn.errors import ConfigError
from spawn.runtimes.processes import LocalProcessExecutor

PROGRAMS, LENGTH = 120, 200


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("aiq-cache")


@pytest.fixture(scope="module")
def pool(cache: Path) -> StratumPool:
    return load_pool(seed=0, size=1000, cache_dir=cache)


def test_pool_is_cached_deterministic_and_extends(cache: Path, pool: StratumPool) -> None:
    assert pool.size == 1000 and pool.counts[0] == 0 and pool.p.sum() == pytest.approx(1.0)
    assert load_pool(seed=0, size=1000, cache_dir=cache) == pool  # read back from the cache
    fresh = load_pool(seed=0, size=500, cache_dir=cache / "elsewhere")
    assert all(set(a) <= set(b) for a, b in zip(fresh.programs, pool.programs, strict=True))
    assert load_pool(seed=1, size=250, cache_dir=cache).programs != fresh.programs
    assert 0.10 < pool.size / pool.raw < 0.19  # about 14% of raw programs are active
    assert pool.reference_distance() < 0.1


@pytest.fixture(scope="module")
def results(pool: StratumPool) -> dict[str, object]:
    """Proportional allocation: the same programs for both agents, so they can be paired."""
    return {a: estimate_upsilon(a, PROGRAMS, LENGTH, pool=pool, allocation="proportional") for a in ("freq", "random")}


def test_small_published_check_random_near_zero_freq_above(results: dict) -> None:
    rnd, freq = results["random"], results["freq"]
    assert rnd.upsilon.ci95[0] < 0 < rnd.upsilon.ci95[1]
    assert abs(rnd.upsilon.estimate) < 3
    assert freq.upsilon.estimate > 20
    diff = compare_agents([freq, rnd])[("freq", "random")]
    assert diff.ci95[0] > 0
    assert rnd.upsilon.programs >= PROGRAMS and freq.cycles_per_second > 0


def test_same_seed_same_numbers_on_any_executor(pool: StratumPool, results: dict) -> None:
    again = estimate_upsilon("freq", PROGRAMS, LENGTH, pool=pool, allocation="proportional")
    assert again.runs == results["freq"].runs
    ex = LocalProcessExecutor(2)
    try:
        parallel = estimate_upsilon("freq", 40, 60, pool=pool, executor=ex)
    finally:
        ex.close()
    assert parallel.runs == estimate_upsilon("freq", 40, 60, pool=pool).runs
    other = estimate_upsilon("freq", 40, 60, seed=0, pool=pool, agent_params={"epsilon": 0.5})
    assert other.runs != parallel.runs


def test_antithetic_runs_cancel_for_random_agents_in_expectation(results: dict) -> None:
    rows = np.array([v[:2] for r in results["random"].runs for v in r.values() if not math.isnan(v[0])])
    assert abs(rows.mean()) < 3
    assert np.corrcoef(rows[:, 0], rows[:, 1])[0, 1] < 0  # the negated run mirrors the first


def test_sigma_costs_the_freq_agent_something(pool: StratumPool) -> None:
    r = estimate_upsilon("freq", 40, LENGTH, pool=pool, aligned=True)
    assert r.sigma is not None
    assert r.sigma.estimate < r.upsilon.estimate
    assert r.to_json()["aligned"]["alignment_tax"] > 0


def test_overtime_programs_are_replaced_within_their_stratum(pool: StratumPool) -> None:
    r = estimate_upsilon("q0", 60, LENGTH, pool=pool)
    valid = [sum(1 for v in runs.values() if not math.isnan(v[0])) for runs in r.runs]
    assert [min(v, a) for v, a in zip(valid, r.allocation, strict=True)] == list(r.allocation)
    assert sum(len(x) for x in r.runs) == sum(r.allocation) + r.overtime


def test_a_lineage_agent_is_scored_the_same_way(pool: StratumPool) -> None:
    r = estimate_upsilon(programs=30, episode_length=100, pool=pool, factory=LineageAgentFactory("q"))
    assert r.agent == "lineage:q" and -100 <= r.upsilon.estimate <= 100


def test_too_many_programs_for_the_pool(pool: StratumPool) -> None:
    with pytest.raises(ConfigError, match="pool"):
        estimate_upsilon("random", 50_000, 10, pool=pool)
    with pytest.raises(ConfigError, match="unknown AIQ agent"):
        estimate_upsilon("aixi", 10, 10, pool=pool)


def test_published_parameters() -> None:
    assert agent_parameters("hlq-lambda", 1000) == {
        "sel_mode": 0, "init_q": 0.0, "lam": 0.95, "epsilon": 0.04, "gamma": 0.7,
    }  # fmt: skip
    assert agent_parameters("q-lambda", 2999)["epsilon"] == 0.04  # under 3,000: the 1,000 row
    assert agent_parameters("q0", 100)["lam"] == 0.0
    assert agent_parameters("freq", 100_000) == {"epsilon": 0.05}
    assert set(AIQ_AGENTS) == {"random", "freq", "q0", "q-lambda", "hlq-lambda"}


def _reference_hlq(obs_rewards: list[tuple[int, float]], actions: list[int], lam: float, gamma: float) -> np.ndarray:
    """HLQ_l's update transcribed with dense numpy tables, fed the same actions."""
    n = 5
    Q, E, V = np.zeros((n, n)), np.zeros((n, n)), np.ones((n, n))
    s = a = 0
    for (s2, r), a2 in zip(obs_rewards, actions, strict=True):
        a_star = int(np.argmax(Q[s2]))
        delta = r + gamma * Q[s2, a_star] - Q[s, a]
        E[s, a] += 1
        V[s, a] += 1
        ind = np.zeros((n, n))
        ind[s2, a2] = 1
        beta = E / (V[s2, a2] - gamma * E[s2, a2]) * (lam * V[s2, a2] + ind) / (lam * V + ind)
        V = np.maximum(V * lam, 1e-100)
        E = E * gamma * lam if Q[s2, a2] == Q[s2, a_star] else E * 0  # greedy (ties broken at random)
        Q = Q + beta * delta
        s, a = s2, a2
    return Q


def test_agents_match_dense_transcriptions_of_the_reference() -> None:
    rng = np.random.default_rng(5)
    stream = [
        (int(o), float(r))
        for o, r in zip(rng.integers(5, size=300), rng.choice([-100, -50, 0, 50, 100], 300), strict=True)
    ]
    hlq = HLQLambdaAgent(np.random.default_rng(0), lam=0.95, epsilon=0.0, gamma=0.7)
    acts = [hlq.perceive(o, r) for o, r in stream]
    assert np.allclose(np.array(hlq.Q).reshape(5, 5), _reference_hlq(stream, acts, 0.95, 0.7), atol=1e-9)
    q = QLambdaAIQAgent(np.random.default_rng(0), lam=0.5, alpha=0.5, epsilon=0.0, gamma=0.6)
    acts = [q.perceive(o, r) for o, r in stream]
    Q, E = np.zeros((5, 5)), np.zeros((5, 5))
    s = a = 0
    for (s2, r), a2 in zip(stream, acts, strict=True):
        delta = r + 0.6 * Q[s2].max() - Q[s, a]
        E[s, a] += 1
        Q += 0.5 * delta * E
        E *= 0.3
        s, a = s2, a2
    assert np.allclose(np.array(q.Q).reshape(5, 5), Q, atol=1e-6)
    assert make_aiq_agent("random", np.random.default_rng(0)).action_probs(0) == [0.2] * 5


def test_cli_json(tmp_path: Path, cache: Path, pool: StratumPool, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "universal",
        "--agent",
        "freq",
        "--programs",
        "30",
        "--episode-length",
        "50",
        "--pool-size",
        "1000",
    ]
    status = main([*argv, "--cache-dir", str(cache), "--json", "--aligned"])
    out, err = capsys.readouterr()
    assert status == 0
    doc = json.loads(out)
    assert out.count("\n") == 1 and -100 <= doc["estimate"] <= 100 and len(doc["ci95"]) == 2
    assert doc["ci95"][0] <= doc["estimate"] <= doc["ci95"][1] and "aligned" in doc
    assert "programs" in err  # the progress bar goes to stderr
    status = main([*argv, "--cache-dir", str(cache), "--quiet"])
    out, _ = capsys.readouterr()
    assert status == 0 and "freq" in out


def test_cli_errors(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["universal", "--agent", "nope"]) == 2
    assert main(["universal", "--agent", "freq", "--programs", "0"]) == 2
    argv = ["universal", "--agent", "freq", "--programs", "9000", "--pool-size", "250"]
    assert main([*argv, "--cache-dir", str(cache), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 3 and "Traceback" not in err
