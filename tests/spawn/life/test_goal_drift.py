"""Goal drift (issue 16): the ``change-objective`` operator, ``[goal_drift]``, and ``root_utility``."""

from __future__ import annotations

import math
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spawn.config import GoalDriftConfig, config_to_toml, parse_config
from spawn.errors import ConfigError
from spawn.life.codec import decode_spec, encode_spec
from spawn.life.job import Life, live, root_spec
from spawn.life.operators import OPERATORS, Birth, draw_operator
from spawn.life.suite import Suite
from spawn.life.utility import root_utility, utility, utility_weights

from ..helpers import HIRING, config

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
BUILTIN = ("finetune", "retrain-on-drift", "mutate", "add-tool", "new-task")


def _drift_config(**goal_drift: Any) -> Any:
    return config(
        envs=[HIRING],
        budget=3000,
        agent={"objective": "penalised", "penalty_weight": 0.7},
        operators={"change-objective": 1.0},
        goal_drift=goal_drift,
        spawn={"every": 1, "round_steps": 100, "max_children": 4, "child_share": 0.2},
    )


def test_a_change_objective_child_trains_on_another_objective() -> None:
    cfg = _drift_config(penalty_weight=0.0)
    _, result = live(root_spec(cfg), cfg)
    assert len(result.children) >= 3
    for child in result.children:
        assert child.operator == "change-objective"
        assert child.objective in ("raw", "shielded", "lagrangian") and child.penalty_weight is None
    assert len({c.objective for c in result.children}) >= 2  # drawn, not fixed


def test_a_change_objective_child_carries_another_penalty_weight_and_trains_with_it() -> None:
    cfg = _drift_config(objective=0.0, penalty_sigma=0.5)
    _, result = live(root_spec(cfg), cfg)
    weights = [c.penalty_weight for c in result.children]
    assert all(c.objective == "penalised" for c in result.children)
    assert all(w is not None and w > 0 and w != 0.7 for w in weights) and len(set(weights)) == len(weights)
    child = result.children[0]
    assert Life(child, cfg).objective.weight(0.0) == child.penalty_weight  # the weight it trains with
    assert Life(root_spec(cfg), cfg).objective.weight(0.0) == 0.7
    # a grandchild drifts from its parent's weight, not from the config's
    _, grown = live(replace(child, quota=3), cfg)
    assert grown.record.attributes["penalty_weight"] == child.penalty_weight
    for grandchild in grown.children:
        assert grandchild.penalty_weight != child.penalty_weight
        assert abs(math.log(grandchild.penalty_weight / child.penalty_weight)) < 5 * 0.5


def test_a_spec_with_its_own_penalty_weight_survives_the_checkpoint() -> None:
    cfg = _drift_config()
    spec = replace(root_spec(cfg), penalty_weight=1.25)
    assert decode_spec(encode_spec(spec)) == spec
    assert decode_spec(encode_spec(root_spec(cfg))).penalty_weight is None
    bad = encode_spec(spec) | {"penalty_weight": "heavy"}
    with pytest.raises(Exception, match="penalty_weight: expected a number"):
        decode_spec(bad)


def test_change_objective_has_weight_0_by_default_so_old_draws_do_not_change() -> None:
    cfg = config(envs=[HIRING])
    assert list(cfg.operators) == list(BUILTIN) and OPERATORS.meta("change-objective")["kind"] == "narrow"
    explicit = config(envs=[HIRING], operators={**dict.fromkeys(BUILTIN, 1.0), "change-objective": 0.0})
    spec = root_spec(cfg)
    life = Life(spec, cfg)

    def draws(weights: dict[str, float]) -> list[str | None]:
        rng = np.random.default_rng(5)
        out = []
        for _ in range(30):
            birth = Birth(spec, life.agent, rng, cfg, life.suite, {}, "schedule", False, {}, {})
            out.append(draw_operator(birth, weights))
        return out

    assert draws(cfg.operators) == draws(explicit.operators)
    # and a whole small run makes the same children
    a, b = live(root_spec(cfg), cfg)[1], live(root_spec(explicit), explicit)[1]
    assert a.children == b.children and a.record == b.record


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_example_configs_write_the_config_toml_they_wrote(name: str) -> None:
    source = (EXAMPLES / name).read_text()
    text = config_to_toml(parse_config(tomllib.loads(source)))
    assert "default_weight" not in text
    if "change-objective" not in source:  # an example without goal drift keeps the config.toml it wrote
        assert "goal_drift" not in text and "change-objective" not in text
    else:  # one with it writes what it asks for, and reads back the same
        assert "change-objective = 1.0" in text


def test_goal_drift_is_written_only_when_it_is_not_the_default() -> None:
    assert "[goal_drift]" not in config_to_toml(config(goal_drift={"objective": 1.0}))
    cfg = config(goal_drift={"penalty_sigma": 0.25}, operators={"change-objective": 1.0})
    text = config_to_toml(cfg)
    assert "[goal_drift]\nobjective = 1.0\npenalty_weight = 1.0\npenalty_sigma = 0.25\n" in text
    assert parse_config(tomllib.loads(text)) == cfg and config_to_toml(parse_config(tomllib.loads(text))) == text


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"objectiv": 1.0}, "unknown key 'goal_drift.objectiv' (did you mean 'objective'?); accepted keys: objective"),
        ({"objective": -1.0}, "goal_drift.objective = -1.0 is not accepted: input should be greater than or equal"),
        ({"penalty_weight": True}, "goal_drift.penalty_weight = True is not accepted: input should be a valid number"),
        ({"penalty_sigma": 0.0}, "goal_drift.penalty_sigma = 0.0 is not accepted: input should be greater than 0"),
        ({"penalty_sigma": 9.0}, "goal_drift.penalty_sigma = 9.0 is not accepted"),
        ({"objective": 0.0, "penalty_weight": 0.0}, "every [goal_drift] weight is 0; accepted: objective, penalty"),
        ({"rules": -1.0}, "goal_drift.rules = -1.0 is not accepted: input should be greater than or equal"),
        ({"rule": 1.0}, "unknown key 'goal_drift.rule' (did you mean 'rules'?)"),
    ],
)
def test_goal_drift_is_validated_strictly_in_one_line(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        config(goal_drift=section)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_goal_drift_defaults() -> None:
    g = GoalDriftConfig()
    assert (g.objective, g.penalty_weight, g.penalty_sigma, g.rules) == (1.0, 1.0, 0.5, 0.0)


# ---------------------------------------------------------------------- dropping constitution rules
FROZEN_GOVERNED = {"id": "FrozenLake-v1", "return_range": [0, 1], "kwargs": {"is_slippery": False},
                   "constitution": "default"}  # rules step-towards-hole (an action) and in-hole (a state)


def _rules_config() -> Any:
    return config(
        envs=[FROZEN_GOVERNED],
        budget=3000,
        agent={"objective": "penalised", "penalty_weight": 0.7},
        operators={"change-objective": 1.0},
        goal_drift={"objective": 0.0, "penalty_weight": 0.0, "rules": 1.0},
        spawn={"every": 1, "round_steps": 100, "max_children": 4, "child_share": 0.2},
    )


def test_a_change_objective_child_drops_one_constitution_rule_and_trains_without_it() -> None:
    cfg = _rules_config()
    _, result = live(root_spec(cfg), cfg)
    assert len(result.children) >= 3
    dropped = [c.dropped_rules for c in result.children]
    assert all(len(d) == 1 and len(d["FrozenLake-v1"]) == 1 for d in dropped)
    assert {d["FrozenLake-v1"][0] for d in dropped} == {"step-towards-hole", "in-hole"}  # drawn, not fixed
    child = next(c for c in result.children if c.dropped_rules["FrozenLake-v1"] == ("in-hole",))
    life = Life(child, cfg)
    trained = life.session("FrozenLake-v1").env.constitution  # type: ignore[attr-defined]
    assert [r.name for r in trained.rules] == ["step-towards-hole"]  # it trains without the rule
    governed = life.suite.make("FrozenLake-v1").constitution  # type: ignore[attr-defined]
    assert [r.name for r in governed.rules] == ["step-towards-hole", "in-hole"]  # the suite keeps it
    life.close()
    # it is evaluated under the whole constitution, and says what it dropped
    _, grown = live(replace(child, quota=3), cfg)
    assert grown.record.attributes["dropped_rules"] == "FrozenLake-v1:in-hole"
    assert "FrozenLake-v1.cost" in grown.record.attributes
    # its children change one rule more: drop the other, or take in-hole back
    for grandchild in grown.children:
        now = set(grandchild.dropped_rules.get("FrozenLake-v1", ()))
        assert len(now ^ {"in-hole"}) == 1
    assert "dropped_rules" not in live(root_spec(cfg), cfg)[1].record.attributes


def test_a_spec_with_dropped_rules_survives_the_checkpoint_and_others_keep_their_bytes() -> None:
    cfg = _rules_config()
    spec = replace(root_spec(cfg), dropped_rules={"FrozenLake-v1": ("in-hole",)})
    assert decode_spec(encode_spec(spec), tasks=["FrozenLake-v1"]) == spec
    assert "dropped_rules" not in encode_spec(root_spec(cfg))  # older checkpoints and their bytes unchanged
    assert decode_spec(encode_spec(root_spec(cfg))).dropped_rules == {}
    with pytest.raises(Exception, match="dropped rules for tasks that are not environments"):
        decode_spec(encode_spec(replace(spec, dropped_rules={"Elsewhere-v0": ("x",)})), tasks=["FrozenLake-v1"])
    with pytest.raises(Exception, match="dropped_rules: expected a list"):
        decode_spec(encode_spec(spec) | {"dropped_rules": {"FrozenLake-v1": "in-hole"}})


def test_rule_drift_with_weight_0_changes_no_draw() -> None:
    # [goal_drift] rules defaults to 0: a run that gives change-objective weight draws as before
    base, same = _drift_config(), _drift_config(rules=0.0)
    a, b = live(root_spec(base), base)[1], live(root_spec(same), same)[1]
    assert a.children == b.children and all(not c.dropped_rules for c in a.children)


# ---------------------------------------------------------------------- root_utility


def test_root_utility_is_the_roots_utility_of_the_measured_evaluation() -> None:
    cfg = _drift_config(penalty_weight=0.0)
    _, result = live(root_spec(cfg), cfg)
    a = result.record.attributes
    assert a["violations"] + a["episode_cost"] > 0  # the hand formula is not trivially the value
    # the counts per episode in value's units: over the width of each return range, averaged over the suite
    suite = Suite(cfg)
    widths = {slug: suite.facts[slug].return_range[1] - suite.facts[slug].return_range[0] for slug in suite.slugs}
    for key in ("violations", "episode_cost"):
        by_hand = sum(a.get(f"{s}.{key}", 0.0) / w for s, w in widths.items()) / len(widths)
        assert a[f"scaled_{key}"] == pytest.approx(by_hand)
    assert a["scaled_episode_cost"] < a["episode_cost"]  # Hiring's range is 100 wide, not 1
    assert a["root_utility"] == pytest.approx(
        a["value"] - 0.7 * a["scaled_violations"] - 0.7 * a["scaled_episode_cost"]
    )
    assert (a["penalty_weight"], a["utility_violations"], a["utility_cost"]) == (0.7, 0.7, 0.7)
    raw_child = replace(result.children[0], objective="raw", quota=0)  # one that drifted to raw
    grown = live(raw_child, cfg)[1].record.attributes
    # the child's own utility is raw, but root_utility still judges it as the (penalised) root would
    assert (grown["utility_violations"], grown["utility_cost"]) == (0.0, 0.0)
    assert grown["root_utility"] == pytest.approx(
        grown["value"] - 0.7 * (grown["scaled_violations"] + grown["scaled_episode_cost"])
    )


def test_the_utility_of_each_objective() -> None:
    m = {"value": 0.9, "scaled_violations": 0.5, "scaled_episode_cost": 0.25, "violations": 9.0, "episode_cost": 9.0}
    expected = {"raw": 0.9, "shielded": 0.9 - 2 * 0.5, "penalised": 0.9 - 2 * 0.75, "lagrangian": 0.9 - 2 * 0.75}
    for objective, u in expected.items():
        assert utility(m, *utility_weights(objective, 2.0)) == pytest.approx(u)
    assert math.isnan(utility({"error": "boom"}, 1.0, 1.0))  # a failed agent was never evaluated
    assert utility({"value": 0.4}, 1.0, 1.0) == 0.4  # no constrained environment: nothing to charge
    cfg = config(agent={"objective": "shielded", "penalty_weight": 3.0})
    assert root_utility(cfg, m) == pytest.approx(0.9 - 1.5)
