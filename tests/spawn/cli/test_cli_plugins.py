"""``lineage-sim plugins``: every extension point's entries, their parameters and where they come from."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from spawn.agents import AGENT_REGISTRY, QAgent, hyper_params
from spawn.cli import main
from spawn.cli.plugins import extension_points
from spawn.registry import REGISTRIES

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "plugins" / "plugin_demo.toml"
KINDS = ["agent", "operator", "trigger", "objective", "selector", "runtime"]
BUILTIN_OPERATORS = {
    "finetune": "narrow",
    "retrain-on-drift": "narrow",
    "mutate": "broad",
    "add-tool": "broad",
    "new-task": "broad",
    "change-objective": "narrow",
}


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # no cell wrapped: a row of the table is one line


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_every_builtin_operator_is_listed_with_its_kind(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [r for r in extension_points("operator")["operator"] if r["builtin"]]
    assert {r["name"]: r["meta"]["kind"] for r in rows} == BUILTIN_OPERATORS
    assert [r["name"] for r in rows] == list(BUILTIN_OPERATORS)  # in the order of the draw
    assert {r["origin"] for r in rows} == {"spawn.life.operators"}
    drift = next(r for r in rows if r["name"] == "retrain-on-drift")
    assert drift["parameters"] == [{"name": "answers", "default": "drift"}]  # the trigger it answers

    status, out, err = _run(["plugins", "--kind", "operator"], capsys)
    assert status == 0 and err == ""
    assert "Operators ([operators] NAME = weight)" in out
    for name, kind in BUILTIN_OPERATORS.items():
        assert re.search(rf"│ {re.escape(name)} +│ {kind} +│ .*│ built-in +│", out), name
    assert "Agents" not in out and "Triggers" not in out  # one extension point only


def test_agents_show_their_hyper_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    rows = {r["name"]: r for r in extension_points("agents")["agent"]}  # the plural is the kind
    assert {"q", "q-lambda", "linear", "random"} <= set(rows)
    q = {p["name"]: p for p in rows["q"]["parameters"]}
    assert list(q) == [h.name for h in hyper_params(QAgent)]
    assert list(q) == ["alpha", "gamma", "epsilon", "temperature", "lambda", "lr"]
    assert q["alpha"] == {
        "name": "alpha",
        "default": 0.1,
        "accepted": "a number > 0 and <= 1",
        "mutation": [1e-4, 1.0],
        "description": "learning rate (tabular)",
    }
    assert q["gamma"]["mutation"] is None  # mutate leaves the discount alone
    assert rows["q"]["builtin"] and rows["q"]["origin"].startswith("spawn.agents")

    status, out, _ = _run(["plugins", "--kind", "agent"], capsys)
    assert status == 0
    assert "alpha=0.1 (mutated in [0.0001, 1])" in out and "lr=0.05 (mutated in [1e-05, 10])" in out
    assert re.search(r"│ +│ gamma=0\.95 +│", out)  # no mutation range
    assert re.search(r"│ q-lambda +│ alpha=0\.1 ", out)


def test_the_other_extension_points_show_what_their_classes_declare() -> None:
    points = extension_points()
    objectives = {r["name"]: {p["name"]: p["default"] for p in r["parameters"]} for r in points["objective"]}
    assert objectives["shielded"] == {"shield": True, "adaptive": False}
    assert objectives["lagrangian"] == {"shield": False, "adaptive": True}
    selectors = {r["name"]: r for r in points["selector"]}
    assert selectors["rule"]["meta"] == {"family": True} and selectors["dgm"]["meta"] == {"family": False}
    assert "attribution rule's credit" in selectors["rule"]["summary"]
    runtimes = [r["name"] for r in points["runtime"]]
    assert runtimes[:3] == ["inline", "ray-actors", "ray-shards"]
    assert next(r for r in points["runtime"] if r["name"] == "inline")["summary"].startswith("An InlineExecutor:")


def test_a_configs_plugin_shows_with_its_origin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))  # as its README says: the repository's root on the module path
    status, out, err = _run(["plugins", str(DEMO), "--json"], capsys)
    assert status == 0 and err == ""
    doc = json.loads(out)
    op = next(r for r in doc["operator"] if r["name"] == "reset-exploration")
    assert op["origin"] == "examples.plugins.demo" and op["builtin"] is False and op["meta"] == {"kind": "narrow"}
    assert op["summary"].startswith("The child keeps what the parent learned")
    trigger = next(r for r in doc["trigger"] if r["name"] == "every-n-steps")
    assert trigger["origin"] == "examples.plugins.demo" and trigger["builtin"] is False
    assert trigger["parameters"] == [{"name": "every", "default": 1000}]

    status, out, _ = _run(["plugins", str(DEMO), "--kind", "trigger"], capsys)
    assert status == 0
    assert re.search(r"│ every-n-steps +│ every=1000 +│ .*│ plugin +│", out)
    assert re.search(r"│ +│ +│ .*│ examples\.plugins\.demo +│", out)
    assert re.search(r"│ drift +│ - +│ .*│ built-in +│", out)


def test_without_the_config_the_plugin_is_not_listed() -> None:
    """In a fresh process (this one may have imported the demo already): a plugin shows only once imported."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "spawn.cli", "plugins", "--kind", "operator", "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert [r["name"] for r in json.loads(done.stdout)["operator"]] == list(BUILTIN_OPERATORS)


def test_json_is_one_document_matching_the_registries(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(["plugins", "--json"], capsys)
    assert status == 0 and err == "" and out.count("\n") == 1
    doc = json.loads(out)
    assert list(doc) == KINDS
    assert doc == extension_points()
    registries = {**REGISTRIES, "agent": AGENT_REGISTRY}
    for kind, rows in doc.items():
        assert [r["name"] for r in rows] == list(registries[kind].names()), kind
        assert all(set(r) == {"name", "meta", "parameters", "summary", "origin", "builtin"} for r in rows)
    status, table, _ = _run(["plugins"], capsys)
    assert status == 0
    for kind, rows in doc.items():
        assert f"{kind.capitalize()}s (" in table
        for r in rows:
            assert f"│ {r['name']}" in table, r["name"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--kind", "operatr"], "unknown extension point 'operatr' (did you mean 'operator'?); accepted: agent, "),
        (["--kind", "widgets"], "unknown extension point 'widgets'; accepted: agent, operator"),
        (["{tmp}/absent.toml"], "absent.toml: no such config file"),
        (["{tmp}/bad.toml"], "module cannot be imported"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.toml").write_text(DEMO.read_text().replace("examples.plugins.demo", "no_such_plugin_module"))
    status, out, err = _run(["plugins", *(a.replace("{tmp}", str(tmp_path)) for a in argv)], capsys)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("lineage-sim plugins: ") and message in err, err
