"""``[baseline] solo = true``: the root trained alone beside the lineage, in ``summary.json``, in
``compare`` (the gain: root credit - the rule's credit of the solo agent) and in a sweep's
``aggregate.csv`` (over seeds)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from lineage import LineageGraph
from spawn.cli import main
from spawn.config import config_to_toml
from spawn.experiments.sweep import run_sweep
from spawn.life.job import live, root_spec
from spawn.run.driver import resume, simulate

from ..helpers import BASE, HIRING, config, refused

DETERMINISTIC = ("config.toml", "lineage.json", "phylogeny.csv", "agents.csv", "curves.csv", "summary.json")
SMALL = {"budget": 1200, "spawn": {"round_steps": 100, "every": 2}}


def _summary(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return data


def _bytes(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in DETERMINISTIC}


def test_solo_is_the_root_alone_with_the_whole_budget(tmp_path: Path) -> None:
    cfg = config(baseline={"solo": True}, **SMALL)
    simulate(cfg, tmp_path / "run")
    solo = _summary(tmp_path / "run")["solo"]
    # by hand: the root's life under the same config with spawning off
    by_hand = config(baseline={"solo": True}, budget=1200, spawn={"round_steps": 100, "every": 2, "max_children": 0})
    _, result = live(root_spec(by_hand), by_hand)
    assert result.children == ()
    expected = {k: v for k, v in result.record.attributes.items() if v is not None}
    assert solo == json.loads(json.dumps(expected, sort_keys=True))
    assert solo["train_steps"] == cfg.budget == solo["budget"] and solo["children"] == 0
    assert "id" not in solo and "parent" not in solo
    # the lineage itself spawned (so the root there trained less) and holds no solo agent
    lineage = LineageGraph.load(tmp_path / "run" / "lineage.json")
    assert len(lineage) > 1 and lineage.graph.nodes["0"]["train_steps"] < cfg.budget
    assert _summary(tmp_path / "run")["agents"] == len(lineage)


def test_without_baseline_the_files_do_not_change(tmp_path: Path) -> None:
    simulate(config(**SMALL), tmp_path / "plain")
    simulate(config(baseline={"solo": False}, **SMALL), tmp_path / "off")
    simulate(config(baseline={"solo": True}, **SMALL), tmp_path / "solo")
    plain, off, solo = _bytes(tmp_path / "plain"), _bytes(tmp_path / "off"), _bytes(tmp_path / "solo")
    assert plain == off
    assert b"[baseline]" not in plain["config.toml"] and "solo" not in _summary(tmp_path / "plain")
    assert config_to_toml(config(**SMALL)).encode() == plain["config.toml"]
    # solo adds its section and its summary key, and changes nothing else
    assert solo["config.toml"] == plain["config.toml"] + b"\n[baseline]\nsolo = true\n"
    assert {k: v for k, v in solo.items() if k not in ("config.toml", "summary.json")} == {
        k: v for k, v in plain.items() if k not in ("config.toml", "summary.json")
    }
    with_solo = _summary(tmp_path / "solo")
    del with_solo["solo"]
    assert with_solo == _summary(tmp_path / "plain")


def test_config_toml_with_baseline_reads_back(tmp_path: Path) -> None:
    from spawn.config import load_config

    cfg = config(baseline={"solo": True}, **SMALL)
    (tmp_path / "c.toml").write_text(config_to_toml(cfg))
    assert load_config(tmp_path / "c.toml") == cfg


def test_resume_gives_the_same_summary(tmp_path: Path) -> None:
    cfg = config(baseline={"solo": True}, **SMALL)
    simulate(cfg, tmp_path / "full")
    outcome = simulate(cfg, tmp_path / "cut", stop_after=2)
    assert not outcome.complete and not (tmp_path / "cut" / "summary.json").exists()
    resume(tmp_path / "cut")
    assert _bytes(tmp_path / "cut") == _bytes(tmp_path / "full")
    entries = (tmp_path / "cut" / "checkpoint").glob("seg-*.jsonl")
    done = sum(len(p.read_text().splitlines()) for p in entries)
    assert done == _summary(tmp_path / "full")["agents"]  # the solo agent is never checkpointed


def _solo_row(out: str, rule: str) -> list[str]:
    """The cells of ``rule``'s row in compare's last table (the solo table)."""
    table = out[out.rindex("solo credit") :]
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if cells and cells[0] == rule:
            return cells
    raise AssertionError(f"no row for {rule} in {table}")


def test_compare_prints_the_gain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    simulate(config(baseline={"solo": True}, **SMALL), run)
    capsys.readouterr()
    doc_path = tmp_path / "c.json"
    status = main(["compare", str(run), "--rule", "self", "--rule", "clade-mean", "--json", str(doc_path)])
    out = capsys.readouterr().out
    assert status == 0
    doc = json.loads(doc_path.read_text())
    value = _summary(run)["solo"]["value"]
    credits = {row["agent"]: row for row in doc["table"]}["0"]
    assert doc["solo"]["value"] == value
    for rule in ("self", "clade-mean"):
        row = doc["solo"]["rules"][rule]
        assert row["root_credit"] == credits[rule]
        assert row["solo_credit"] == value  # a lineage of one: these rules credit its value
        assert row["gain"] == pytest.approx(credits[rule] - value, abs=1e-12)
        cells = _solo_row(out, rule)
        assert cells == [rule, f"{credits[rule]:.6g}", f"{value:.6g}", f"{credits[rule] - value:.6g}"]
    assert "gain over the root trained alone" in out
    # self credit is the root's own value
    assert doc["solo"]["rules"]["self"]["root_credit"] == _summary(run)["root_value"]
    # --csv bytes do not change with solo
    plain = tmp_path / "plain"
    simulate(config(**SMALL), plain)
    main(["compare", str(run), "--rule", "self", "--csv", str(tmp_path / "a.csv")])
    main(["compare", str(plain), "--rule", "self", "--csv", str(tmp_path / "b.csv")])
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    out = capsys.readouterr().out
    assert out.count("gain over the root trained alone") == 1  # the table only for the run with solo


def test_a_sweep_gives_the_gain_an_interval(tmp_path: Path) -> None:
    cfg = config(
        baseline={"solo": True},
        attribution={"rules": ["self", "clade-mean"]},
        sweep={"seeds": [1, 2, 3]},
        **SMALL,
    )
    table = run_sweep(cfg, tmp_path / "sweep")
    row = table.iloc[0]
    for rule in ("self", "clade-mean"):
        mean, lo, hi = row[f"gain:{rule}"], row[f"gain:{rule}_lo"], row[f"gain:{rule}_hi"]
        assert lo <= mean <= hi
        assert mean == pytest.approx(row[f"root_credit:{rule}"] - row["solo_value"], abs=1e-12)
    runs = sorted((tmp_path / "sweep").glob("*/seed-*/summary.json"))
    assert len(runs) == 3
    values = [json.loads(p.read_text())["solo"]["value"] for p in runs]
    assert row["solo_value"] == pytest.approx(sum(values) / 3)
    assert not math.isnan(row["solo_value"])


def test_the_gain_charges_the_solo_agent_as_the_rule_charges_the_root(tmp_path: Path) -> None:
    # The gain once subtracted the solo agent's plain value from every rule's root credit, so a rule
    # that charges cost or judges by a utility compared a charged root with an uncharged solo agent.
    rules = ["self", "self:transform=lagrangian", "ancestor-utility"]
    cfg = config(
        envs=[HIRING],
        agent={"objective": "penalised", "penalty_weight": 0.5},
        baseline={"solo": True},
        attribution={"rules": rules},
        sweep={"seeds": [1, 2]},
        **SMALL,
    )
    table = run_sweep(cfg, tmp_path / "sweep")
    solos = [json.loads(p.read_text())["solo"] for p in sorted((tmp_path / "sweep").glob("*/seed-*/summary.json"))]
    assert all(s["cost"] > 0 and s["scaled_episode_cost"] > 0 for s in solos)  # the charges are not 0
    by_hand = {
        "self": [s["value"] for s in solos],
        "self:transform=lagrangian": [s["value"] - s["cost"] for s in solos],  # lambda = 1
        "ancestor-utility": [
            s["value"] - 0.5 * s["scaled_violations"] - 0.5 * s["scaled_episode_cost"] for s in solos
        ],
    }
    row = table.iloc[0]
    for rule, credits in by_hand.items():
        assert row[f"gain:{rule}"] == pytest.approx(row[f"root_credit:{rule}"] - sum(credits) / 2, abs=1e-12)
    lagrangian = row["root_credit:self:transform=lagrangian"] - row["solo_value"]
    assert row["gain:self:transform=lagrangian"] != pytest.approx(lagrangian)  # not the plain value's gain


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("[baseline]\nsolo = 1\n", ("baseline.solo = 1", "bool")),
        ('[baseline]\nsolo = "yes"\n', ("baseline.solo", "bool")),
        ("[baseline]\nsoloo = true\n", ("unknown key 'baseline.soloo'", "did you mean 'solo'", "accepted keys: solo")),
        ("baseline = true\n", ("baseline",)),
    ],
)
def test_bad_baseline_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, parts: tuple[str, ...]
) -> None:
    top, _, rest = BASE.partition("[[envs]]")
    body = top + text + "[[envs]]" + rest if not text.startswith("[") else BASE + text
    refused(tmp_path, capsys, body, *parts)


def test_solo_in_the_archive_regime_trains_the_whole_budget(tmp_path: Path) -> None:
    cfg = config(regime="archive", budget=1500, archive={"child_budget": 300, "batch_size": 2}, baseline={"solo": True})
    simulate(cfg, tmp_path / "run")
    summary = _summary(tmp_path / "run")
    assert summary["solo"]["train_steps"] == 1500 and summary["solo"]["children"] == 0
    assert summary["agents"] > 1 and summary["train_steps"] <= cfg.budget
