"""The operator, trigger and objective registries, and the ``plugins`` config key."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import spawn
from spawn.config import parse_config
from spawn.errors import ConfigError
from spawn.life.job import live, root_spec, run_agent
from spawn.life.objectives import OBJECTIVES, Penalised
from spawn.life.operators import OPERATORS, Birth
from spawn.life.triggers import TRIGGERS
from spawn.run.driver import simulate

from ..helpers import FROZEN, HIRING, config

LINEAGE = ("id", "parent", "depth", "trigger", "budget", "quota", "birth_time", "liability")


@pytest.fixture(autouse=True)
def _registries_as_they_were() -> Iterator[None]:
    """Each test sees the built-ins only, and its registrations do not outlive it (the registries are
    process-wide: a plugin another test imported stays registered)."""
    before = {reg: dict(reg._entries) for reg in (OPERATORS, TRIGGERS, OBJECTIVES)}
    for reg, entries in before.items():
        reg._entries = {k: e for k, e in entries.items() if e.origin.startswith("spawn.")}
    yield
    for reg, entries in before.items():
        reg._entries = entries


def base(**kw: Any) -> dict[str, Any]:
    return {"seed": 1, "budget": 1000, "envs": [dict(FROZEN)], **kw}


# ---------------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"operators": {"finetun": 1.0}},
            "operators: unknown operator 'finetun' (did you mean 'finetune'?); "
            "accepted: finetune, retrain-on-drift, mutate, add-tool, new-task, change-objective",
        ),
        (
            {"spawn": {"triggers": ["plateu"]}},
            "spawn.triggers: unknown trigger 'plateu' (did you mean 'plateau'?); accepted: drift, schedule, plateau",
        ),
        (
            {"agent": {"objective": "lagrange"}},
            "agent.objective: unknown objective 'lagrange' (did you mean 'lagrangian'?); "
            "accepted: raw, shielded, penalised, lagrangian",
        ),
    ],
)
def test_unknown_names_are_refused_with_did_you_mean(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(base(**extra))
    assert str(exc.value) == f"<config>: {message}"


def test_a_registered_name_is_accepted_in_the_config_and_listed() -> None:
    @spawn.register_operator("copy-parent", kind="narrow")
    class Copy:
        def apply(self, birth: Birth) -> Any:
            return birth.child

    cfg = parse_config(base(operators={"copy-parent": 1.0, "finetune": 2.0}))
    assert list(cfg.operators) == ["finetune", "copy-parent"]  # the registry's order: the draw's
    assert OPERATORS.meta("copy-parent") == {"kind": "narrow"} and "copy-parent" in OPERATORS.unknown("x")


def test_duplicate_names_and_bad_classes_are_refused() -> None:
    class Other:
        def apply(self, birth: Birth) -> Any:
            return birth.child

        def fires(self, round: Any) -> bool:
            return False

        def weight(self, multiplier: float) -> float:
            return 0.0

    with pytest.raises(ValueError, match="named 'finetune' is already registered"):
        spawn.register_operator("finetune", kind="narrow")(Other)
    with pytest.raises(ValueError, match="named 'drift' is already registered"):
        spawn.register_trigger("drift")(Other)
    with pytest.raises(ValueError, match="named 'raw' is already registered"):
        spawn.register_objective("raw")(Other)
    with pytest.raises(ValueError, match="kind must be 'narrow' or 'broad'"):
        spawn.register_operator("wide", kind="wide")
    with pytest.raises(TypeError, match="apply"):
        spawn.register_operator("no-apply", kind="broad")(type("NoApply", (), {}))
    assert "no-apply" not in OPERATORS and "wide" not in OPERATORS


# ---------------------------------------------------------------------- operators
def _lineage(children: Any) -> list[tuple[Any, ...]]:
    return [tuple(getattr(c, f) for f in LINEAGE) for c in children]


def test_a_plugin_operator_cannot_break_the_lineage() -> None:
    @spawn.register_operator("vandal", kind="broad")
    class Vandal:
        """Returns a spec with every lineage field wrong, and one honest change (alpha)."""

        def apply(self, birth: Birth) -> Any:
            return replace(
                birth.child,
                id="666",
                parent=None,
                depth=99,
                operator="finetune",
                trigger="none",
                budget=10**9,
                quota=10**6,
                birth_time=-5,
                liability=-1.0,
                hyper={**birth.child.hyper, "alpha": 0.5},
            )

    @spawn.register_operator("plain-copy", kind="narrow")
    class PlainCopy:
        def apply(self, birth: Birth) -> Any:
            return birth.child

    def children(op: str) -> Any:
        cfg = config(operators={op: 1.0}, spawn={"max_children": 2, "every": 2})
        _, result = live(root_spec(cfg), cfg)
        assert len(result.children) == 2
        return result.children

    tuned, vandal, copied = children("finetune"), children("vandal"), children("plain-copy")
    assert _lineage(vandal) == _lineage(tuned) == _lineage(copied)  # the driver's fields win
    assert [c.id for c in vandal] == ["0.0", "0.1"] and all(c.parent == "0" and c.depth == 1 for c in vandal)
    assert {c.operator for c in vandal} == {"vandal"} and all(c.hyper["alpha"] == 0.5 for c in vandal)
    # `return birth.child` is a plain copy of the parent: finetune's children, but for the name.
    assert [replace(c, operator="finetune") for c in copied] == list(tuned)


def test_an_operator_that_returns_no_spec_is_an_error_of_that_agent() -> None:
    @spawn.register_operator("broken", kind="narrow")
    class Broken:
        def apply(self, birth: Birth) -> Any:
            return {"id": "0.0"}

    cfg = config(operators={"broken": 1.0}, spawn={"max_children": 1, "every": 2})
    result = run_agent(root_spec(cfg), cfg)  # recorded on the parent's node, like any user-code error
    assert result.record.attributes["error"] == "TypeError: operator 'broken' returned dict, not an AgentSpec"


def test_applicable_false_keeps_an_operator_out_of_the_draw() -> None:
    @spawn.register_operator("never", kind="narrow")
    class Never:
        def applicable(self, birth: Birth) -> bool:
            return False

        def apply(self, birth: Birth) -> Any:
            raise AssertionError("never applied")

    cfg = config(operators={"never": 1.0}, spawn={"max_children": 2, "every": 2})
    _, result = live(root_spec(cfg), cfg)
    assert result.children == () and "error" not in result.record.attributes
    both = config(operators={"never": 5.0, "finetune": 1.0}, spawn={"max_children": 2, "every": 2})
    _, result = live(root_spec(both), both)
    assert [c.operator for c in result.children] == ["finetune", "finetune"]


BANDIT = {
    "id": "lineage_sim/DriftingBandit-v0",
    "kwargs": {"n_arms": 4, "episode_length": 100, "drift_step": 1500, "world_seed": 2},
}


def test_archive_retrain_on_drift_only_for_parents_that_saw_their_world_drift(tmp_path: Path) -> None:
    cfg = config(
        envs=[BANDIT],
        budget=9000,
        regime="archive",
        selector="uniform",
        agent={"alpha": 0.02, "gamma": 0.5},
        operators={"retrain-on-drift": 1.0, "finetune": 0.0},
        spawn={"triggers": ["drift"], "round_steps": 250},
        archive={"root_budget": 2500, "child_budget": 500, "batch_size": 3},
        eval={"episodes": 2, "max_steps": 100},
    )
    g = simulate(cfg, tmp_path / "run").lineage
    assert g is not None
    children = [a for a in g.ids if a != "0"]
    ops = {a: g.operator(a) for a in children}
    drifted = {a for a in g.ids if g.attributes(a).get("drift_alarms", 0)}
    assert "0" in drifted and any(ops[a] == "retrain-on-drift" for a in children)
    for a in children:
        parent = a.rsplit(".", 1)[0]
        # A parent that saw no drift cannot retrain on it: the picked parent is copied (finetune).
        assert ops[a] == ("retrain-on-drift" if parent in drifted else "finetune"), a
    assert any(ops[a] == "finetune" for a in children)


# ---------------------------------------------------------------------- triggers and objectives
def test_a_plugin_trigger_decides_when_children_are_born() -> None:
    @spawn.register_trigger("at-clock-450")
    class AtClock:
        def __init__(self, spec: Any, cfg: Any) -> None:
            self.done = False

        def fires(self, round: Any) -> bool:
            if self.done or round.clock < 450:
                return False
            self.done = True
            return True

    cfg = config(operators={"finetune": 1.0}, spawn={"triggers": ["at-clock-450"], "max_children": 3})
    _, result = live(root_spec(cfg), cfg)
    (child,) = result.children
    assert child.trigger == "at-clock-450" and child.birth_time == 500  # the first round to end past 450


def test_a_plugin_objective_is_what_the_agent_learns_from(tmp_path: Path) -> None:
    @spawn.register_objective("penalised-too")
    class PenalisedToo(Penalised):
        pass

    def run(objective: str) -> dict[str, Any]:
        cfg = config(
            envs=[HIRING], budget=2000, agent={"objective": objective, "penalty_weight": 2.0}, spawn={"triggers": []}
        )
        g = simulate(cfg, tmp_path / objective).lineage
        assert g is not None
        return dict(g.attributes("0"))

    penalised, too, raw = run("penalised"), run("penalised-too"), run("raw")
    assert too.pop("objective") == "penalised-too" and penalised.pop("objective") == "penalised"
    assert too == penalised and raw["cost"] != too["cost"]


# ---------------------------------------------------------------------- the plugins key
def _plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    """A plugin module that registers operator ``<name>-op`` and leaves a marker when imported."""
    marker = tmp_path / f"{name}.imported"
    (tmp_path / f"{name}.py").write_text(
        "from pathlib import Path\n"
        "import spawn\n"
        f"Path({str(marker)!r}).write_text('yes')\n"
        f"@spawn.register_operator('{name}-op', kind='narrow')\n"
        "class Op:\n"
        "    def apply(self, birth):\n"
        "        return birth.child\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return marker


def test_plugin_operators_are_accepted_once_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = _plugin(tmp_path, monkeypatch, "plug_ok")
    with pytest.raises(ConfigError, match="unknown operator 'plug_ok-op'"):
        parse_config(base(operators={"plug_ok-op": 1.0}))  # not named in plugins: unknown
    assert not marker.exists()
    cfg = parse_config(base(plugins=["plug_ok"], operators={"plug_ok-op": 1.0}))
    assert marker.exists() and cfg.plugins == ("plug_ok",) and cfg.operators == {"plug_ok-op": 1.0}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"budget": 0}, "budget = 0 is not accepted"),
        ({"caps": {"max_depth": -1}}, "caps.max_depth = -1 is not accepted"),
        ({"eval": {"episodes": 10_000, "max_steps": 1_000_000}}, "evaluation of every agent"),
        ({"sweep": {"caps.max_agents": [3, 0]}}, "sweep arm 'max_agents=0'"),
        ({"plugins": ["plug_bad", "os.path"]}, "module 'os' of Python's standard library"),
        ({"plugins": ["plug_bad", "not a module"]}, "is not a dotted module name"),
    ],
)
def test_a_config_wrong_in_its_form_imports_no_plugin(
    extra: dict[str, Any], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = _plugin(tmp_path, monkeypatch, "plug_bad")
    data = base(plugins=["plug_bad"], operators={"plug_bad-op": 1.0}) | extra
    with pytest.raises(ConfigError, match=message):
        parse_config(data)
    assert not marker.exists() and "plug_bad" not in sys.modules


def test_names_are_checked_after_the_plugins_are_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = _plugin(tmp_path, monkeypatch, "plug_late")
    with pytest.raises(ConfigError) as exc:
        parse_config(base(plugins=["plug_late"], operators={"plug_late-opp": 1.0}))
    assert marker.exists()  # the form was right: the plugin was imported, then the name checked
    assert "unknown operator 'plug_late-opp' (did you mean 'plug_late-op'?)" in str(exc.value)


def test_a_plugin_that_cannot_be_imported_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from spawn.cli import main

    (tmp_path / "plug_raises.py").write_text("raise RuntimeError('no\\nway')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = tmp_path / "c.toml"
    for module in ("plug_raises", "plug_missing_xyz"):
        cfg.write_text(f'seed = 1\nbudget = 100\nplugins = ["{module}"]\n[[envs]]\nid = "FrozenLake-v1"\n'
                       "return_range = [0, 1]\n")
        assert main(["run", str(cfg), "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"plugins[0] = '{module}': module cannot be imported" in err[0], err
        assert not (tmp_path / "out").exists()
        assert ("RuntimeError" if module == "plug_raises" else "ModuleNotFoundError") in err[0]


def test_config_toml_names_the_plugins_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spawn.config import config_to_toml, load_config

    _plugin(tmp_path, monkeypatch, "plug_toml")
    cfg = parse_config(base(plugins=["plug_toml"], operators={"plug_toml-op": 1.0}))
    text = config_to_toml(cfg)
    assert 'plugins = ["plug_toml"]' in text
    (tmp_path / "back.toml").write_text(text)
    assert load_config(tmp_path / "back.toml") == cfg
    assert "plugins" not in config_to_toml(parse_config(base()))  # a run without plugins writes what it wrote
