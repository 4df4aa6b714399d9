"""The BF reference machine: compiled cycles against the exact interpreter, the sampler, classes, the env."""

from __future__ import annotations

import math
import warnings
from collections import Counter

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.bf import (
    MAX_STEPS,
    BFEnv,
    BFMachine,
    classify_program,
    compile_program,
    exact_cycle,
    program_complexity_bits,
    random_program,
    simplify_program,
    validate_program,
)
from envs.errors import InvalidParameterError


def _trace(program: str, exact: bool, cycles: int = 60, seed: int = 0) -> list[tuple[float, int, int, int]]:
    m = BFMachine(program, 5, np.random.default_rng(seed), exact=exact)
    actions = np.random.default_rng(seed + 1).integers(5, size=cycles).tolist()
    out = []
    for a in actions:
        reward, obs, steps = m.act(a)
        if steps >= MAX_STEPS:  # the reference discards the run; only "overtime" is comparable
            out.append((math.nan, -1, MAX_STEPS, 0))
            break
        out.append((reward, obs, steps, m.p))
    return out


def test_compiled_cycles_match_the_exact_interpreter() -> None:
    rng = np.random.default_rng(7)
    programs = [simplify_program(random_program(rng)) for _ in range(1500)]
    programs += ["<+.>.#", "<<<+..#", ">" * 7 + "+" * 9 + "..#", ",[,.]#", "%.%.#", "[]+[]-.,.#"]
    for program in programs:
        fast, slow = _trace(program, exact=False), _trace(program, exact=True)
        assert str(fast) == str(slow), program


def test_deep_nesting_falls_back_to_the_interpreter() -> None:
    program = "," + "[" * 20 + "-." + "]" * 20 + ".#"
    assert _trace(program, exact=False) == _trace(program, exact=True)


def test_step_counts_and_examples_of_the_reference() -> None:
    t = bytearray([2]) * 100
    h = [3, 1] + [2] * 23
    assert exact_cycle(",..#", 5, t, 0, h, 2, 2, lambda: 0)[1:] == (3, 3, 3)  # '#' never runs
    assert compile_program(",..#")(bytearray([2]) * 100, 0, h, 2, 2, lambda: 0)[1:] == (3, 3, 3)
    m = BFMachine(",.>,.#")  # reward: current action; observation: the previous one
    m.reset()
    assert [m.act(a)[:2] for a in (4, 0, 3)] == [(100.0, 2), (-100.0, 4), (50.0, 0)]
    assert m.p == 3  # the pointer persists across cycles
    m = BFMachine(",[.]#")  # action 2 skips the loop and re-emits the previous outputs
    m.reset()
    assert m.act(4)[:3] == (100.0, 4, 5)
    assert m.act(2)[:2] == (100.0, 4)
    assert BFMachine(".#").act(0)[:3] == (0.0, 2, 2)


def test_pointer_wraps_as_python_indexing() -> None:
    m = BFMachine("<+.#")
    m.reset()
    m.act(0)
    assert m.p == -1 and m.t[-1] == 3
    m = BFMachine(">" * 3 + ".#")
    m.p = 99_998
    m.act(0)
    assert m.p == 1


def test_overtime_is_reported() -> None:
    m = BFMachine(",.+[]#")  # infinite loop unless the action is 1
    m.reset()
    assert m.act(1)[2] < MAX_STEPS
    assert m.act(3)[2] >= MAX_STEPS


def test_sampler_structure_and_single_pass_simplification() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        p = random_program(rng)
        assert p.endswith("#") and p.count("#") == 1 and validate_program(p) == p
    assert simplify_program("++--") == "+-"
    assert simplify_program("+-<>[]><-+") == ""
    counts = Counter("".join(random_program(rng)[:-1] for _ in range(3000)))
    total = sum(counts.values())
    assert counts["]"] / total == pytest.approx(counts["["] / total, abs=0.02)  # matched brackets
    assert counts["+"] / total == pytest.approx(counts["<"] / total, abs=0.02)


def test_complexity_is_minus_log2_of_the_draw_probability() -> None:
    assert program_complexity_bits(",..#") == pytest.approx(-math.log2(0.1**3 * 0.2))
    assert program_complexity_bits("[.]#") == pytest.approx(-math.log2(0.1**2 * 0.2 * 0.2))
    assert BFEnv(",[.]#").complexity == pytest.approx(program_complexity_bits(",[.]#"))
    with pytest.raises(InvalidParameterError):
        program_complexity_bits("[.#")


def test_classes_of_known_programs() -> None:
    rng = np.random.default_rng(0)
    cases = {
        ",..#": 1,  # copy
        ",.>,.#": 1,
        ",,.,.#": 2,  # 1-back
        ",,,..#": 3,
        ",,,,..#": 4,
        ",+..#": 5,  # inc
        ",-..#": 6,  # dec
        ",,+..#": 7,
        ",,-..#": 8,
        ".#": 0,  # no ','
        ",#": 0,  # no '.'
        ",[-].#": 0,  # always the middle symbol: the same reward sequence in every trial
        ",.+[]#": -1,  # overtime
    }
    assert {p: classify_program(p, rng) for p in cases} == cases
    assert 11 <= classify_program(",%+.>.#", rng) <= 20  # random rewards: "other", by length


def test_stratum_frequencies_match_the_reference_re_estimate() -> None:
    rng = np.random.default_rng(11)
    classes = Counter(classify_program(simplify_program(random_program(rng)), rng) for _ in range(4000))
    n = sum(classes.values())
    assert classes[0] / n == pytest.approx(0.8416, abs=0.025)
    assert classes[-1] / n == pytest.approx(0.0152, abs=0.008)
    active = sum(v for k, v in classes.items() if k > 0)
    assert classes[1] / active == pytest.approx(0.1755, abs=0.05)


def test_env_passes_check_env_and_is_registered() -> None:
    assert envs.ENV_IDS["lineage_sim/BF-v0"] == "envs.bf:BFEnv"
    for kwargs in ({}, {"program": ",%+[-.].#", "episode_length": 30}, {"n_symbols": 3}):
        env = gym.make("lineage_sim/BF-v0", **kwargs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(env.unwrapped)
        assert [str(w.message) for w in caught] == []


def test_env_seeds_percent_and_continues_after_overtime() -> None:
    def rollout(seed: int) -> list[int]:
        env = BFEnv("%.%.#", episode_length=20)
        env.reset(seed=seed)
        return [int(env.step(0)[0]) for _ in range(20)]

    assert rollout(1) == rollout(1) != rollout(2)
    env = BFEnv(",.+[]#", episode_length=5)
    env.reset(seed=0)
    infos = [env.step(a)[4] for a in (1, 3, 1)]
    assert [i["overtime"] for i in infos] == [False, True, False]
    assert infos[1]["steps"] == MAX_STEPS
    *_, truncated, _ = env.step(0)
    assert not truncated
    assert env.step(0)[3]


def test_env_with_its_constitution() -> None:
    env = envs.ConstitutionWrapper(BFEnv(), envs.bf_constitution(), shield=True)
    env.reset(seed=0)
    _, _, _, _, info = env.step(4)  # observation 4 now: action 4 is forbidden next
    assert info["action_mask"].tolist() == [1, 1, 1, 1, 0]
    _, reward, _, _, info = env.step(4)
    assert info["shielded"] and reward == -100.0  # the shield plays the lowest allowed action, 0


def test_bad_parameters() -> None:
    with pytest.raises(InvalidParameterError, match="not BF instructions"):
        BFEnv("x#")
    with pytest.raises(InvalidParameterError, match="episode_length"):
        BFEnv(episode_length=0)
    with pytest.raises(InvalidParameterError, match="n ="):
        BFMachine(".#", n=1)
    with pytest.raises(InvalidParameterError, match="action"):
        BFEnv().step(7)


def test_complexity_bits_of_a_program_environment_is_its_sampler_bits() -> None:
    import envs
    from envs.bf import program_complexity_bits

    env = envs.make("lineage_sim/BF-v0")
    assert envs.complexity_bits(env) == program_complexity_bits(env.unwrapped.program)
