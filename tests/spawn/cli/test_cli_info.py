"""The informational commands: envs, rules, and inspect --agent (record, ancestry, clade)."""

from __future__ import annotations

from pathlib import Path

import pytest

import attribution
import envs
from spawn.cli import main
from spawn.cli.info import env_rows, rule_rows

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lineage.json"


def test_envs_lists_every_registered_environment(capsys: pytest.CaptureFixture[str]) -> None:
    rows = env_rows()
    assert [r["id"] for r in rows] == list(envs.ENV_IDS)
    hiring = next(r for r in rows if r["id"] == "lineage_sim/Hiring-v0")
    assert hiring["bits_with_constitution"] > hiring["bits"]  # a constitution adds to K(mu)
    assert "state: workforce-imbalance" in hiring["constitution"]
    assert main(["envs", "lineage_sim/Hiring-v0"]) == 0
    assert "Hiring-v0" in capsys.readouterr().out
    assert main(["envs", "lineage_sim/Hirng-v0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean 'lineage_sim/Hiring-v0'" in err[0]


def test_rules_lists_every_rule_with_its_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    rows = {r["rule"]: r for r in rule_rows()}
    assert list(rows) == attribution.rule_names()
    assert "gamma=0.9" in rows["discounted"]["parameters"]
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert "shapley" in out and "samples=1000" in out


def test_inspect_one_agent(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(EXAMPLE), "--agent", "0.2.1.0"]) == 0
    out = capsys.readouterr().out
    assert "Agent 0.2.1.0" in out and "Ancestry of 0.2.1.0" in out and "Clade of 0.2.1.0" in out
    ancestry = out[out.index("Ancestry") : out.index("0.2.1.0 mutate")]
    assert ancestry.index("new-task") < ancestry.index("mutate")  # root first, down to the agent
    assert "0.2.1.0.1" in out  # its clade
    assert main(["inspect", str(EXAMPLE), "--agent", "0.2.1.9"]) == 2
    assert "did you mean '0.2.1.1'" in capsys.readouterr().err


def test_inspect_a_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "lineage.json").write_bytes(EXAMPLE.read_bytes())
    assert main(["inspect", str(tmp_path)]) == 0
    assert "Lineage summary" in capsys.readouterr().out


def test_rules_lists_liability_and_penalty_once_as_common_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    import dataclasses

    from spawn.cli.info import _COMMON

    assert set(_COMMON) == {f.name for f in dataclasses.fields(attribution.Rule)}  # every shared field
    for row in rule_rows():  # not repeated per rule
        assert not any(p.startswith(("liability=", "penalty=")) for p in row["parameters"]), row
    assert main(["rules"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "liability=<weight> (default 0)" in out and "penalty=<attribute> (default cost)" in out
