"""Config validation: every mistake is refused before anything runs, in one line naming key and value."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from spawn.agents import AGENT_REGISTRY
from spawn.cli import main
from spawn.config import config_to_toml, import_plugins, load_config, parse_config
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


# ---------------------------------------------------------------------- plugin agents' own hyper-parameters
AGENT_PLUGIN = """
from spawn.agents import Hyper, RandomAgent, register_agent


@register_agent("{kind}")
class Beta(RandomAgent):
    hyper_params = (Hyper("beta", 0.5, low=0.0, high=1.0, low_open=True), Hyper("gamma", 0.95, low=0.0, high=1.0))


class Zeta(RandomAgent):
    hyper_params = (Hyper("zeta", 2.0, low=1.0),)
"""


@pytest.fixture
def agent_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A plugin module (on the module path, not imported yet) registering kind ``beta-<tag>``; and that kind."""
    tag = uuid.uuid4().hex[:8]
    module, kind = f"agent_plug_{tag}", f"beta-{tag}"
    src = tmp_path / "plugins"
    src.mkdir()
    (src / f"{module}.py").write_text(AGENT_PLUGIN.replace("{kind}", kind), encoding="utf-8")
    monkeypatch.syspath_prepend(str(src))
    return module, kind


def test_a_registered_agent_kind_takes_the_keys_it_declares(agent_plugin: tuple[str, str], tmp_path: Path) -> None:
    module, kind = agent_plugin
    p = tmp_path / "c.toml"
    p.write_text(f'plugins = ["{module}"]\n' + BASE + f'[agent]\nkind = "{kind}"\nbeta = 0.25\n')
    cfg = load_config(p)
    assert cfg.agent.hyper(AGENT_REGISTRY.get(kind)) == {"beta": 0.25, "gamma": 0.95}
    # config.toml holds what the kind declares (no alpha, epsilon, ...), every default filled in
    agent = config_to_toml(cfg).split("[agent]\n", 1)[1].split("\n\n", 1)[0]
    assert agent.splitlines() == [
        f'kind = "{kind}"',
        'objective = "raw"',
        'selection = "epsilon-greedy"',
        'step_size = "constant"',
        "gamma = 0.95",
        "penalty_weight = 1.0",
        "lagrange_lr = 0.05",
        "cost_limit = 0.0",
        "beta = 0.25",
    ]
    p.write_text(config_to_toml(cfg))
    assert load_config(p) == cfg


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "alpha = 0.1",
            "unknown key 'agent.alpha'; accepted keys: kind, objective, selection, step_size, beta, gamma, "
            "penalty_weight, lagrange_lr, cost_limit",
        ),
        (
            "bet = 0.1",
            "unknown key 'agent.bet' (did you mean 'beta'?); accepted keys: kind, objective, selection, step_size, "
            "beta, gamma, penalty_weight, lagrange_lr, cost_limit",
        ),
        ("beta = 0.0", "agent.beta = 0.0 is not accepted for agent kind '{kind}'; accepted: a number > 0 and <= 1"),
    ],
)
def test_a_registered_agent_kind_refuses_what_it_does_not_declare(
    line: str, expected: str, agent_plugin: tuple[str, str], tmp_path: Path
) -> None:
    module, kind = agent_plugin
    msg = _err(f'plugins = ["{module}"]\n' + BASE + f'[agent]\nkind = "{kind}"\n{line}\n', tmp_path)
    assert msg == f"{tmp_path / 'c.toml'}: " + expected.format(kind=kind)


def test_a_module_class_agent_kind_is_checked_once_imported(agent_plugin: tuple[str, str]) -> None:
    module, _ = agent_plugin
    kind = f"{module}:Zeta"

    def checked(agent: dict[str, object]) -> None:
        env = {"id": "FrozenLake-v1"}
        cfg = parse_config({"seed": 1, "budget": 10, "envs": [env], "agent": {"kind": kind, **agent}})
        import_plugins(cfg)  # imports the module, then checks [agent] against what Zeta declares

    checked({"zeta": 3.0, "alpha": 0.3})  # the six it always accepted, and its own
    with pytest.raises(ConfigError) as info:
        checked({"zeta": 0.5})
    assert str(info.value) == f"agent.zeta = 0.5 is not accepted for agent kind '{kind}'; accepted: a number >= 1"
    with pytest.raises(ConfigError) as info:
        checked({"zet": 1.5})
    assert str(info.value) == (
        "unknown key 'agent.zet' (did you mean 'zeta'?); accepted keys: kind, objective, selection, step_size, "
        "alpha, gamma, epsilon, temperature, lambda, lr, zeta, penalty_weight, lagrange_lr, cost_limit"
    )
