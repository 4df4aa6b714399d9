"""Hostile configs: each is one line on stderr naming the bad value, exit status 2, and nothing written."""

from __future__ import annotations

import os
import sys
import typing
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from spawn.cli import main
from spawn.config import (
    AgentConfig,
    ArchiveConfig,
    AttributionConfig,
    CapsConfig,
    EnvConfig,
    EvalConfig,
    FaultsConfig,
    GateConfig,
    MutationConfig,
    SimConfig,
    SpawnConfig,
    ToolsConfig,
    config_to_toml,
    load_config,
    parse_config,
)
from spawn.errors import ConfigError

from .helpers import BASE, ENV, TOP, refused, refused_path

SMALL = "[eval]\nepisodes = 1\nmax_steps = 20\n[spawn]\nround_steps = 50\ntriggers = [\"schedule\"]\n"


# ---------------------------------------------------------------------- inf, -inf and nan
def _float_fields() -> list[tuple[str, str]]:
    """Every float field of every config table, as (table, key)."""
    tables: dict[str, type[BaseModel]] = {
        "agent": AgentConfig,
        "spawn": SpawnConfig,
        "mutation": MutationConfig,
        "tools": ToolsConfig,
        "caps": CapsConfig,
        "gate": GateConfig,
        "eval": EvalConfig,
        "faults": FaultsConfig,
        "archive": ArchiveConfig,
        "attribution": AttributionConfig,
    }
    out = []
    for table, model in tables.items():
        for name, field in model.model_fields.items():
            if float in typing.get_args(field.annotation) or field.annotation is float:
                out.append((table, field.alias or name))
    return out


FLOAT_FIELDS = _float_fields()


def test_every_float_field_is_found() -> None:
    keys = {f"{t}.{k}" for t, k in FLOAT_FIELDS}
    for named in ("agent.penalty_weight", "agent.lagrange_lr", "agent.cost_limit", "agent.temperature",
                  "spawn.plateau_tolerance", "archive.temperature", "gate.max_liability"):
        assert named in keys


@pytest.mark.parametrize(("table", "key"), FLOAT_FIELDS, ids=[f"{t}.{k}" for t, k in FLOAT_FIELDS])
@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_non_finite_float_fields_refused(
    table: str, key: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(tmp_path, capsys, BASE + f"[{table}]\n{key} = {value}\n", f"{table}.{key} = {value}", "finite")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (BASE + "[operators]\nmutate = inf\n", "operators.mutate = inf"),
        (TOP + '[[envs]]\nid = "FrozenLake-v1"\nreturn_range = [-inf, inf]\n', "envs[0].return_range[1] = inf"),
        (BASE + "[spawn]\ndetector_params = { delta = nan }\n", "spawn.detector_params.delta = nan"),
        (TOP + '[[envs]]\nid = "FrozenLake-v1"\nreturn_range = [0, 1]\nkwargs = { x = -inf }\n', "kwargs.x = -inf"),
        (TOP + "[sweep]\n'agent.alpha' = [0.1, inf]\n" + ENV, "sweep.agent.alpha[1] = inf"),
        (TOP + ENV + "[gate]\nmax_liability = 1e400\n", "gate.max_liability = inf"),
        (TOP + ENV + "success_threshold = -inf\n", "envs[0].success_threshold = -inf"),
    ],
)
def test_non_finite_anywhere_refused(
    text: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(tmp_path, capsys, text, where, "finite")


def test_config_as_run_never_holds_inf() -> None:
    with pytest.raises(ConfigError, match="finite"):
        parse_config({"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1"}], "agent": {"lr": float("inf")}})


# ---------------------------------------------------------------------- types: strict per field
@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("seed = 1\nbudget = true\n" + ENV, ["budget = True", "valid integer"]),
        ("seed = 1\nbudget = 100.0\n" + ENV, ["budget = 100.0", "valid integer"]),
        ("seed = true\nbudget = 100\n" + ENV, ["seed = True"]),
        (BASE + "[eval]\nmax_steps = 1e6\n", ["eval.max_steps = 1000000.0", "valid integer"]),
        (BASE + "[agent]\nalpha = true\n", ["agent.alpha = True", "valid number"]),
        (BASE + '[agent]\nalpha = "0.5"\n', ["agent.alpha = '0.5'", "valid number"]),
        (BASE + "[operators]\nmutate = true\n", ["operators.mutate = True"]),
        (BASE + "[spawn]\ndetector_params = { delta = true }\n", ["spawn.detector_params.delta = True"]),
        (TOP + '[[envs]]\nid = "FrozenLake-v1"\nreturn_range = [false, 1]\n', ["envs[0].return_range[0] = False"]),
        (TOP + '[[envs]]\nid = "FrozenLake-v1"\nreturn_range = [0, 1]\ntrain = 1\n', ["envs[0].train = 1"]),
        (TOP + ENV + 'success_threshold = "1"\n', ["envs[0].success_threshold = '1'", "valid number"]),
        (BASE + "[caps]\nmax_agents = 2.5\n", ["caps.max_agents = 2.5"]),
        (BASE + "[spawn]\ntriggers = [1]\n", ["spawn.triggers[0] = 1"]),
    ],
)
def test_wrong_types_refused(text: str, parts: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(tmp_path, capsys, text, *parts)


# ---------------------------------------------------------------------- values the run would reject later
@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (BASE + "[spawn]\ndetector_params = { colour = 1 }\n", ["'colour'", "accepted: delta"]),
        (BASE + "[spawn]\ndetector_params = { delta = -1 }\n", ["detector_params.delta = -1", "> 0"]),
        (BASE + "[spawn]\ndetector_params = { delta = 2 }\n", ["detector_params.delta = 2", "<= 1"]),
        (BASE + "[spawn]\ndetector_params = { clock = 0.5 }\n", ["detector_params.clock = 0.5", "whole number"]),
        (BASE + '[spawn]\ndetector = "page-hinkley"\ndetector_params = { threshold = -5 }\n',
         ["detector_params.threshold = -5", "> 0"]),
        (BASE + '[spawn]\ndetector = "page-hinkley"\ndetector_params = { alpha = 0 }\n',
         ["detector_params.alpha = 0"]),
        (BASE + "[operators]\nfinetune = 0\nmutate = 0.0\n", ["every operator weight is 0"]),
        (TOP + '[[envs]]\nid = "FrozenLake-v1"\nreturn_range = [0, 1]\nkwargs = { max_episode_steps = -1 }\n',
         ["max_episode_steps = -1", ">= 1"]),
        (TOP + '[[envs]]\nid = "FrozenLake-v1"\nreturn_range = [0, 1]\nkwargs = { max_episode_steps = 0 }\n',
         ["max_episode_steps = 0"]),
        (TOP + '[[envs]]\nid = "FrozenLake-v1"\nreturn_range = [0, 1]\nkwargs = { map_name = "9x9" }\n',
         ["FrozenLake-v1", "bad kwargs", "9x9"]),
        (TOP + '[[envs]]\nid = "FrozenLake-v1"\nreturn_range = [0, 1]\nconstitution = "cliff"\n',
         ["FrozenLake-v1", "CliffWalking"]),
        (BASE + "[limits]\ncolour = 3\n", ["unknown limit 'colour'"]),
        (BASE + "[limits]\neval_steps = 0\n", ["limit eval_steps = 0", ">= 1"]),
    ],
)
def test_values_found_invalid_before_the_run(
    text: str, parts: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(tmp_path, capsys, text, *parts)


def test_valid_detector_params_still_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        BASE + "[eval]\nepisodes = 1\nmax_steps = 20\n[spawn]\nround_steps = 50\n"
        'detector = "page-hinkley"\ndetector_params = { threshold = 5, min_instances = 10 }\n'
    )
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 0


# ---------------------------------------------------------------------- control characters
@pytest.mark.parametrize("char", ["\x1b", "\x00", "\r", "\n", "\x7f", "\x9b", "\x07"])
def test_control_characters_in_strings_refused(char: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    escaped = f"\\u{ord(char):04X}"
    msg = refused(tmp_path, capsys, TOP + ENV.replace("return_range", f'name = "a{escaped}b"\nreturn_range'),
                  "envs[0].name", "control character", f"U+{ord(char):04X}")
    assert char not in msg


def test_control_characters_in_keys_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(tmp_path, capsys, BASE + '[operators]\n"mu\\u001btate" = 1\n', "control character U+001B")


@pytest.mark.parametrize(
    "text",
    ['q"uote', "back\\slash", "é ü 漢字", "\u2028sep", "😀", "'single'", "a = b # c", "[x]"],
)
def test_config_as_run_reads_back(text: str, tmp_path: Path) -> None:
    """Anything a config holds is written to config.toml so that it reads back as the same config."""
    cfg = parse_config(
        {
            "seed": 1,
            "budget": 10,
            "envs": [{"id": "FrozenLake-v1", "name": text, "kwargs": {"is_slippery": False, text: [text, 1]}}],
            "sweep": {"agent.objective": ["raw"]},
        }
    )
    p = tmp_path / "c.toml"
    p.write_text(config_to_toml(cfg), encoding="utf-8")
    assert load_config(p) == cfg


# ---------------------------------------------------------------------- nesting, huge numbers
@pytest.mark.parametrize("depth", [20, 5_000, 100_000])
def test_deep_arrays_refused(depth: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = "[" * depth + "1" + "]" * depth
    text = TOP + f'[[envs]]\nid = "FrozenLake-v1"\nreturn_range = [0, 1]\nkwargs = {{ x = {deep} }}\n'
    refused(tmp_path, capsys, text, "nested")


def test_deep_inline_tables_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = "{x=" * 3000 + "1" + "}" * 3000
    refused(tmp_path, capsys, BASE + f"[spawn]\ndetector_params = {deep}\n", "nested")


def test_deep_mapping_refused_without_recursion_error() -> None:
    data: dict[str, Any] = {}
    inner = data
    for _ in range(100_000):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(ConfigError, match="nested more than"):
        parse_config({"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1"}], "sweep": data})


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("seed = 1\nbudget = " + "9" * 5000 + "\n" + ENV, ["is not a config", "digits"]),
        ("seed = " + "9" * 4000 + "\nbudget = 10\n" + ENV, ["seed = <a whole number of 4000 digits>", "2^64"]),
        ("seed = 1\nbudget = " + "9" * 30 + "\n" + ENV, ["budget = " + "9" * 30, "2^64"]),
        (TOP + '[[envs]]\nid = "' + "9" * 5000 + '"\n', ["envs[0].id: unknown environment '99999", "9...;"]),
        (TOP + "[[envs]]\nid = " + "9" * 3000 + "\n", ["envs[0].id = <a whole number of 3000 digits>"]),
        (BASE + "[operators]\nmutate = 1" + "0" * 400 + "\n", ["operators.mutate = <a whole number"]),
    ],
)
def test_huge_numbers_and_values_refused(
    text: str, parts: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    msg = refused(tmp_path, capsys, text, *parts)
    assert len(msg) < 2500  # the value cut short (the longest part is the list of environment ids)


# ---------------------------------------------------------------------- files that are not a config
def test_directory_as_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d").mkdir()
    refused_path(tmp_path, capsys, tmp_path / "d", "is a folder", "expected a TOML config")


def test_dev_zero_as_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused_path(tmp_path, capsys, Path("/dev/zero"), "/dev/zero", "expected a TOML config")


def test_fifo_as_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    refused_path(tmp_path, capsys, fifo, "fifo.toml", "expected a TOML config")


def test_50_mb_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.toml"
    with big.open("w") as fh:
        fh.write(BASE)
        fh.write(("# " + "x" * 98 + "\n") * 500_000)
    refused_path(tmp_path, capsys, big, "over the limit of 1000000 bytes", "--limit config_bytes=N")


def test_config_limit_raised_by_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.toml"
    big.write_text(BASE + "[eval]\nepisodes = 0\n" + ("# " + "x" * 98 + "\n") * 11_000)
    # over 1 MB: refused as too large; with the limit raised, read and refused for what it holds
    refused_path(tmp_path, capsys, big, "over the limit")
    refused_path(tmp_path, capsys, big, "eval.episodes = 0", args=("--limit", "config_bytes=2000000"))


def test_not_utf8_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "c.toml"
    p.write_bytes(BASE.encode() + b"# \xff\xfe\n")
    refused_path(tmp_path, capsys, p, "not UTF-8")


# ---------------------------------------------------------------------- plugins: imported only once all is valid
def _plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> tuple[str, Path]:
    name = f"plug_{uuid.uuid4().hex[:10]}"
    marker = tmp_path / f"{name}.imported"
    src = tmp_path / "plugins"
    src.mkdir(exist_ok=True)
    (src / f"{name}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n" + body, encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(src))
    return name, marker


AGENT_BODY = "from spawn.agents import QAgent\n\nclass Mine(QAgent):\n    name = 'mine'\n\nNotAClass = 3\n"


@pytest.mark.parametrize(
    "invalid",
    [
        "[eval]\nepisodes = 0\n",  # refused by the schema
        "[caps]\nmax_agents = true\n",  # refused by a strict type
        "[spawn]\ndetector_params = { colour = 1 }\n",  # refused by the detector
        "[eval]\nepisodes = 10000\nmax_steps = 1000000\n",  # refused by a work limit
        "[attribution]\nrules = [\"shapley:samples=1000000000\"]\n",  # refused by a rule limit
    ],
)
def test_an_invalid_config_imports_no_plugin(
    invalid: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, marker = _plugin_module(tmp_path, monkeypatch, AGENT_BODY)
    refused(tmp_path, capsys, BASE + f'[agent]\nkind = "{name}:Mine"\n' + invalid)
    assert not marker.exists() and name not in sys.modules


def test_an_invalid_environment_imports_no_plugin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found only when the environment is made (before anything is written), still before the import."""
    name, marker = _plugin_module(tmp_path, monkeypatch, AGENT_BODY)
    text = TOP + '[[envs]]\nid = "FrozenLake-v1"\nreturn_range = [0, 1]\nkwargs = { max_episode_steps = -1 }\n'
    refused(tmp_path, capsys, text + f'[agent]\nkind = "{name}:Mine"\n', "max_episode_steps = -1")
    assert not marker.exists()


def test_zen_is_not_printed_for_an_invalid_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sys.modules.pop("this", None)
    refused(tmp_path, capsys, BASE + '[agent]\nkind = "this:s"\n[eval]\nepisodes = 0\n')
    assert "this" not in sys.modules


@pytest.mark.parametrize("kind", ["this:s", "os:system", "subprocess:Popen", "os.path:join", "importlib:import_module"])
def test_standard_library_plugins_refused_without_import(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``this:s`` printed the Zen of Python before the config was refused; a valid config otherwise."""
    sys.modules.pop("this", None)
    cfg = tmp_path / "c.toml"
    cfg.write_text(BASE + f'[agent]\nkind = "{kind}"\n')
    status = main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""  # no Zen
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and f"agent kind {kind!r}" in err[0] and "standard library" in err[0]
    assert "this" not in sys.modules and not (tmp_path / "out").exists()


def test_standard_library_env_modules_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(tmp_path, capsys, TOP + '[[envs]]\nid = "this:X-v0"\n', "environment 'this:X-v0'", "standard library")


@pytest.mark.parametrize(
    "kind", [":", "os:", ":system", "a b:C", "os:system()", "../x:C", "a..b:C", "1a:C", "a:b:c", "a:C-1"]
)
def test_malformed_plugin_names_are_one_line(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(tmp_path, capsys, BASE + f'[agent]\nkind = "{kind}"\n', "is not 'module:Class'")


@pytest.mark.parametrize(
    ("kind", "parts"),
    [
        ("no_such_module_xyz:C", ["cannot be loaded", "ModuleNotFoundError"]),
        ("{name}:Nope", ["cannot be loaded", "has no 'Nope'"]),
        ("{name}:NotAClass", ["is int, not a class"]),
        ("spawn.agents:TaskShape", ["lacks method(s) act"]),
        ("{name}:AGENT_BODY", ["has no 'AGENT_BODY'"]),
    ],
)
def test_plugin_classes_checked_before_writing(
    kind: str, parts: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, _ = _plugin_module(tmp_path, monkeypatch, AGENT_BODY)
    refused(tmp_path, capsys, BASE + f'[agent]\nkind = "{kind.format(name=name)}"\n', *parts)


def test_a_plugin_that_raises_on_import_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, _ = _plugin_module(tmp_path, monkeypatch, "raise RuntimeError('boom\\nsecond line')\n")
    refused(tmp_path, capsys, BASE + f'[agent]\nkind = "{name}:Mine"\n', "RuntimeError: boom")


def test_a_valid_plugin_agent_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, marker = _plugin_module(tmp_path, monkeypatch, AGENT_BODY)
    cfg = tmp_path / "c.toml"
    cfg.write_text(BASE + SMALL + f'[agent]\nkind = "{name}:Mine"\n')
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert marker.exists() and (tmp_path / "out" / "lineage.json").is_file()


ENV_BODY = """
import gymnasium as gym
from gymnasium import spaces


class Coin(gym.Env):
    observation_space = spaces.Discrete(1)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, float(action), True, False, {}


gym.register(id="Coin{tag}-v0", entry_point=Coin)
"""


def test_module_env_ids_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:8]
    name, marker = _plugin_module(tmp_path, monkeypatch, ENV_BODY.replace("{tag}", tag))
    cfg = tmp_path / "c.toml"
    cfg.write_text(TOP + f'[[envs]]\nid = "{name}:Coin{tag}-v0"\nreturn_range = [0, 1]\n' + SMALL)
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 0, capsys.readouterr().err
    assert marker.exists()
    run = load_config(tmp_path / "out" / "config.toml")
    assert run.envs[0].id == f"{name}:Coin{tag}-v0" and run.envs[0].slug == f"Coin{tag}-v0"


def test_module_env_ids_refused_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:8]
    name, marker = _plugin_module(tmp_path, monkeypatch, ENV_BODY.replace("{tag}", tag))
    env = f'[[envs]]\nid = "{name}:Coin{tag}-v0"\nreturn_range = [0, 1]\n'
    refused(tmp_path, capsys, TOP + env + "[eval]\nepisodes = 0\n", "eval.episodes")
    assert not marker.exists()
    refused(tmp_path, capsys, TOP + env.replace(f"Coin{tag}", "Other"), "registered no environment 'Other-v0'")
    refused(tmp_path, capsys, TOP + '[[envs]]\nid = "no_such_mod_q:X-v0"\n', "cannot be imported")
    refused(tmp_path, capsys, TOP + '[[envs]]\nid = ":X-v0"\n', "is not 'module:EnvId'")


def test_default_instances_are_valid() -> None:
    for model in (AgentConfig, SpawnConfig, MutationConfig, ToolsConfig, CapsConfig, GateConfig, EvalConfig,
                  FaultsConfig, ArchiveConfig, AttributionConfig):
        model()
    assert EnvConfig(id="FrozenLake-v1").slug == "FrozenLake-v1"
    assert SimConfig.model_fields["limits"].default_factory is not None


def test_module_env_id_of_this_project(tmp_path: Path) -> None:
    """The README's ``envs:lineage_sim/Hiring-v0`` form names the module that registers the id."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(TOP + '[[envs]]\nid = "envs:lineage_sim/Hiring-v0"\nkwargs = { discrete = true }\n' + SMALL)
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert load_config(tmp_path / "out" / "config.toml").envs[0].slug == "Hiring-v0"
