"""K of environments and constitutions: what a rule computes counts, the sentence describing it does not."""

from __future__ import annotations

import itertools
import math
import pickle
import warnings
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import envs
from envs import Constitution, ForbiddenAction, ForbiddenState, Invariance
from envs.bf import program_complexity_bits
from envs.description import MAX_ENUMERATED_STATES, table_bits
from envs.registration import ENV_IDS

_NOT_GRIDS = ("lineage_sim/BF-v0", "lineage_sim/DriftingBandit-v0", "lineage_sim/Hiring-v0")
_GRIDS = [i for i in ENV_IDS if i not in _NOT_GRIDS]
#: Every registered environment with a default constitution, in each observation mode it has.
_GOVERNED: list[tuple[str, dict[str, Any]]] = (
    [(i, {}) for i in [*_GRIDS, "lineage_sim/Hiring-v0"]]
    + [(i, {"discrete": True}) for i in [*_GRIDS, "lineage_sim/Hiring-v0"]]
    + [("CliffWalking-v1", {}), ("FrozenLake-v1", {}), ("FrozenLake-v1", {"map_name": "8x8"})]
)


def _make(env_id: str, constitution: Any = None, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return envs.make(env_id, constitution=constitution, **kwargs)


def _reworded(c: Constitution, text: str) -> Constitution:
    """The same constitution with every rule renamed and re-described (and a new description).

    Rules are made afresh (not ``replace``d, which would copy bits the old code had filled in).
    """
    rules = []
    for i, r in enumerate(c.rules):
        extra = {"reached": r.reached} if isinstance(r, ForbiddenState) else {}
        rules.append(type(r)(f"{r.name}-{i}", r.fn, text * (i + 1), **extra))
    return replace(c, rules=tuple(rules), description=text)


def _reference_mask(rule: ForbiddenAction, n: int, n_actions: int) -> list[int]:
    return [int(rule.forbids(np.int64(s), a)) for s in range(n) for a in range(n_actions)]


# -- descriptions are labels ------------------------------------------------------------------------
@pytest.mark.parametrize(("env_id", "kwargs"), _GOVERNED, ids=lambda x: str(x))
def test_rewording_a_rule_leaves_k_unchanged(env_id: str, kwargs: dict[str, Any]) -> None:
    governed = _make(env_id, "default", **kwargs)
    c = governed.constitution
    long = _reworded(c, "a long and winding sentence that says nothing new about what the rule computes. ")
    short = _reworded(c, "x")
    assert long.description_bits == short.description_bits == c.description_bits
    plain = envs.complexity_bits(_make(env_id, **kwargs))
    k = envs.complexity_bits(envs.attach_constitution(_make(env_id, **kwargs), long))
    assert k == envs.complexity_bits(governed)
    assert math.isfinite(k) and k > plain > 0
    assert list(long.rule_bits.values()) == list(c.rule_bits.values())


def test_rewording_without_an_observation_space_leaves_k_unchanged_too() -> None:
    # Without a space every rule is measured by its code: kind, function type, parameters.
    c = envs.get_constitution("cliff", gym.make("CliffWalking-v1"))
    bare = replace(c, observation_space=None)
    assert _reworded(bare, "another sentence, much longer than the first one " * 5).description_bits == (
        bare.description_bits
    )
    # The same predicate with a short and a long sentence (the issue: 184 vs 520 bits on the old code).
    a = ForbiddenAction("r", abs, "no")
    b = ForbiddenAction("r", abs, "never, under any circumstances whatsoever, take this action " * 4)
    assert a.description_bits == b.description_bits
    assert a.bits_on(gym.spaces.Discrete(10), 2) == b.bits_on(gym.spaces.Discrete(10), 2)


def test_complexity_bits_measures_rules_on_the_governed_space_when_the_constitution_declares_none() -> None:
    env = gym.make("CliffWalking-v1")
    c = envs.get_constitution("cliff", env)
    bare = replace(c, observation_space=None)
    plain = envs.complexity_bits(env)
    assert envs.complexity_bits(envs.attach_constitution(gym.make("CliffWalking-v1"), bare)) == pytest.approx(
        plain + c.description_bits
    )
    assert bare.bits_on(env.observation_space) == c.description_bits != bare.description_bits


# -- what the rule computes is what counts ------------------------------------------------------------
def test_a_rule_forbidding_nothing_costs_far_less_than_a_pattern_or_a_random_set() -> None:
    n, n_actions = 64, 4
    space = gym.spaces.Discrete(n)
    rng = np.random.default_rng(7)
    random_cells = frozenset(map(tuple, np.argwhere(rng.random((n, n_actions)) < 0.5).tolist()))
    nothing = ForbiddenAction("nothing", lambda obs, a: False, "forbids nothing at all, in many words " * 10)
    pattern = ForbiddenAction("pattern", lambda obs, a: obs % 8 == a)
    rand = ForbiddenAction("random", lambda obs, a: (int(obs), int(a)) in random_cells)
    b_nothing, b_pattern, b_rand = (r.bits_on(space, n_actions) for r in (nothing, pattern, rand))
    assert b_nothing < 15  # log2 3 (kind) + 1 (partial?) + 1 (code) + log2(257) (count 0)
    assert b_pattern > 4 * b_nothing
    assert b_rand > 0.9 * n * n_actions  # about a bit a cell: a random set does not compress
    assert b_nothing < b_pattern < b_rand
    # Old code: 'nothing' cost more than 'pattern' because of its sentence.


def test_rules_with_the_same_extension_cost_the_same() -> None:
    space = gym.spaces.Discrete(30)
    a = ForbiddenAction("a", lambda obs, a: a == 0)
    b = ForbiddenAction("b", lambda obs, a: a == 0 and obs >= 0 and obs < 1000, "the same, said differently")
    assert a.bits_on(space, 3) == b.bits_on(space, 3)
    s1 = ForbiddenState("s1", lambda obs: obs in (3, 4))
    s2 = ForbiddenState("s2", lambda obs: 3 <= obs <= 4)
    assert s1.bits_on(space) == s2.bits_on(space)


@pytest.mark.parametrize("n_cells", [1, 5, 12])
def test_table_bits_never_exceed_the_enumerative_code_counted_by_brute_force(n_cells: int) -> None:
    for k in range(n_cells + 1):
        tables = [t for t in itertools.product((0, 1), repeat=n_cells) if sum(t) == k]
        enumerative = math.log2(n_cells + 1) + math.log2(len(tables))  # the count, then which table
        for t in tables[:: max(1, len(tables) // 5)]:
            assert table_bits(list(t), 2) <= 1.0 + enumerative + 1e-9
    assert table_bits([0] * 25, 2) == pytest.approx(1 + math.log2(26))


def test_table_bits_refuses_symbols_outside_the_alphabet() -> None:
    with pytest.raises(envs.InvalidParameterError, match=r"outside \[0, 2\)"):
        table_bits([0, 2], 2)


def test_invariances_cost_by_how_far_they_move_states() -> None:
    space = gym.spaces.Discrete(64)
    identity = Invariance("id", lambda obs: obs).bits_on(space)
    flip = Invariance("flip", lambda obs: obs ^ 1).bits_on(space)
    scramble = Invariance("scramble", lambda obs: (obs * 37 + 11) % 64 if obs % 3 else (obs * 5) % 64).bits_on(space)
    outside = Invariance("outside", lambda obs: obs + 100).bits_on(space)  # maps out of the space: "undefined"
    assert identity < flip < scramble
    assert math.isfinite(outside) and outside < scramble


def _above_30_undefined_at_3(obs: Any) -> bool:
    if int(obs) == 3:
        raise KeyError(obs)
    return bool(obs > 30)


def test_a_partial_rule_is_measured_by_its_table_with_an_undefined_symbol() -> None:
    # SideEffectsSokoban's discrete rule raises on observations with a box inside a wall (unreachable).
    space = gym.spaces.Discrete(40)
    total = ForbiddenState("total", lambda obs: obs > 30)
    partial = ForbiddenState("partial", _above_30_undefined_at_3)
    with pytest.raises(envs.RuleError):
        partial.forbids(3)
    assert math.isfinite(partial.bits_on(space))
    assert total.bits_on(space) < partial.bits_on(space) < total.bits_on(space) + 20
    sokoban = _make("lineage_sim/SideEffectsSokoban-v0", "default", discrete=True).constitution
    assert sokoban.description_bits < sokoban.rules[0].code_bits


def test_multi_discrete_and_multi_binary_spaces_are_enumerated() -> None:
    md = gym.spaces.MultiDiscrete([3, 4])
    nothing = ForbiddenState("none", lambda obs: False)
    corner = ForbiddenState("corner", lambda obs: bool(obs[0] == 2 and obs[1] == 3))
    assert nothing.bits_on(md) < corner.bits_on(md) < corner.code_bits
    mb = gym.spaces.MultiBinary(4)
    swap = Invariance("swap", lambda obs: obs[::-1].copy())
    assert math.isfinite(swap.bits_on(mb)) and swap.bits_on(mb) < swap.code_bits
    assert Invariance("same", lambda obs: obs).bits_on(mb) < swap.bits_on(mb)


def test_large_or_continuous_spaces_fall_back_to_the_code_description() -> None:
    rule = ForbiddenState("big", lambda obs: obs == 0)
    assert rule.bits_on(gym.spaces.Discrete(MAX_ENUMERATED_STATES + 1)) == rule.code_bits
    assert rule.bits_on(gym.spaces.Box(0.0, 1.0, (2,))) == rule.code_bits
    assert rule.bits_on(None) == rule.code_bits == rule.description_bits


def test_code_descriptions_name_types_and_parameters_never_addresses() -> None:
    for env_id, kwargs in _GOVERNED:
        for r in _make(env_id, "default", **kwargs).constitution.rules:
            text = r.code_description()
            assert " at 0x" not in text and r.description not in text and r.name not in text, (env_id, r.name)
    five, six = envs.bf_constitution(5).rules[0], envs.bf_constitution(6).rules[0]
    assert "envs.bf._TopAfterTop" in five.code_description()
    assert five.code_description() != six.code_description()


def test_explicit_bits_win_everywhere() -> None:
    rule = ForbiddenAction("given", lambda obs, a: a == 1, bits=3.5)
    c = Constitution("c", 2, (rule,), observation_space=gym.spaces.Discrete(4))
    assert rule.description_bits == rule.bits_on(gym.spaces.Discrete(4), 2) == c.description_bits == 3.5


def test_constitution_bits_add_up_over_its_rules_and_survive_pickling() -> None:
    c = envs.get_constitution("hiring", _make("lineage_sim/Hiring-v0", discrete=True))
    assert c.description_bits == pytest.approx(sum(c.rule_bits.values()))
    assert c.without("ignore-age").description_bits == pytest.approx(c.description_bits - c.rule_bits["ignore-age"])
    back = pickle.loads(pickle.dumps(c))
    assert back.description_bits == c.description_bits and back.rule_bits == c.rule_bits
    assert f"({c.rule_bits['ignore-age']:.0f} bits)" in str(c)
    assert Constitution("empty", 2).description_bits == 0.0


def test_code_measured_rules_share_what_they_share() -> None:
    # Box observations: each rule by its code; rules naming the same cells cost less together than apart.
    c = _make("lineage_sim/IslandNavigation-v0", "default").constitution
    apart = sum(r.code_bits for r in c.rules)
    assert c.description_bits < 0.75 * apart
    assert c.description_bits == pytest.approx(sum(c.rule_bits.values()))


# -- BF: the constitution's K is comparable to the program's ------------------------------------------
@pytest.mark.parametrize("program", [",..#", ",[.]#", "+>,<.#"])
def test_a_bf_constitution_adds_bits_comparable_to_the_program(program: str) -> None:
    # The real case: spawn.aiq measures Sigma under envs.bf_constitution(n_symbols) on BF-v0 programs.
    plain = _make("lineage_sim/BF-v0", program=program)
    governed = _make("lineage_sim/BF-v0", envs.bf_constitution(), program=program)
    k_program = program_complexity_bits(program)
    assert envs.complexity_bits(plain) == k_program
    increase = envs.complexity_bits(governed) - k_program
    # On the old code the increase was 576 bits (the sentence), 47 times the 12-bit program ',..#'.
    assert 0 < increase < 2 * program_complexity_bits(",..#")
    assert increase == pytest.approx(envs.bf_constitution().description_bits)
    # One forbidden cell of a 5 x 5 mask: kind, partial flag, code flag, the count and the cell.
    assert increase == pytest.approx(math.log2(3) + 1 + 1 + math.log2(26) + math.log2(25))


def test_bf_constitution_bits_grow_slowly_with_the_alphabet() -> None:
    bits = [envs.bf_constitution(n).description_bits for n in (2, 5, 9)]
    assert bits == sorted(bits) and bits[-1] < 2 * bits[1]
