"""Config validation: every mistake is refused before anything runs, in one line naming key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from spawn.cli import main
from spawn.config import config_to_toml, load_config, parse_config
from spawn.errors import ConfigError

BASE = 'seed = 1\nbudget = 1000\n[[envs]]\nid = "FrozenLake-v1"\n'


def _err(text: str, tmp_path: Path) -> str:
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(str(p))
    return msg


def test_defaults_and_round_trip(tmp_path: Path) -> None:
    cfg = parse_config({"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1"}]})
    assert cfg.regime == "recursive" and cfg.agent.objective == "raw"
    p = tmp_path / "c.toml"
    p.write_text(config_to_toml(cfg))
    assert load_config(p) == cfg  # the config as run reads back as the same config


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("buget = 3\n" + BASE, ["'buget'", "did you mean 'budget'", "accepted keys"]),
        (BASE + "[agent]\nalpah = 0.1\n", ["'agent.alpah'", "did you mean 'alpha'"]),
        (BASE.replace("1000", '"lots"'), ["budget", "'lots'"]),
        (BASE.replace("1000", "-5"), ["budget", "-5", "greater than or equal to 1"]),
        (BASE + "[agent]\nalpha = 1.5\n", ["agent.alpha", "1.5", "less than or equal to 1"]),
        (BASE.replace("FrozenLake-v1", "FrozenLak-v1"), ["'FrozenLak-v1'", "did you mean 'FrozenLake-v1'"]),
        (BASE + '[agent]\nkind = "qq"\n', ["'qq'", "accepted: q, q-lambda, linear, random"]),
        (BASE + '[agent]\nobjective = "penalized"\n', ["'penalized'", "did you mean 'penalised'"]),
        (BASE + "[operators]\nfinetun = 1.0\n", ["'finetun'", "did you mean 'finetune'"]),
        (BASE + '[spawn]\ntriggers = ["shedule"]\n', ["'shedule'", "did you mean 'schedule'"]),
        ('regime = "tree"\n' + BASE, ["regime", "'tree'", "'recursive'"]),
        ("seed = 1\nbudget = 10\n", ["missing required key 'envs'"]),
        (BASE + "[caps]\nmax_depth = 1000\n", ["caps.max_depth", "1000"]),
        (BASE + "[[envs]]\nid = 'FrozenLake-v1'\n", ["share the name 'FrozenLake-v1'"]),
        ("seed = 1\nbudget = \n", ["is not valid TOML"]),
        (BASE + '[attribution]\nrules = ["discountd"]\n', ["attribution.rules", "did you mean 'discounted'"]),
        (BASE + "[faults]\non_error = \"ignore\"\n", ["faults.on_error", "'ignore'", "stop-clade"]),
    ],
)
def test_refused_with_one_line(text: str, expected: list[str], tmp_path: Path) -> None:
    msg = _err(text, tmp_path)
    for part in expected:
        assert part in msg, msg


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")


def test_stock_env_without_range_refused_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "c.toml"
    p.write_text('seed = 1\nbudget = 100\n[[envs]]\nid = "CliffWalking-v1"\n')
    out = tmp_path / "run"
    assert main(["run", str(p), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "return_range" in err[0] and "CliffWalking-v1" in err[0]
    assert not out.exists()


def test_cli_bad_config_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "c.toml"
    p.write_text(BASE + "[agent]\nepsilon = 2\n")
    out = tmp_path / "run"
    assert main(["run", str(p), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "agent.epsilon" in err[0]
    assert not out.exists()


def test_tabular_agent_on_box_observations_refused_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "c.toml"
    p.write_text('seed = 1\nbudget = 100\n[[envs]]\nid = "lineage_sim/IslandNavigation-v0"\n')
    assert main(["run", str(p), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "agent kind 'q'" in err[0] and "discrete = true" in err[0]
    assert not (tmp_path / "run").exists()


def test_seed_override(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text(BASE)
    assert load_config(p, seed=42).seed == 42
