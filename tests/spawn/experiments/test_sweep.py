"""Sweeps: every arm and seed a run directory, an aggregate over seeds, resumable, bad keys refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from spawn.cli import main
from spawn.config import load_config

SWEEP = """seed = 1
budget = 1500
[[envs]]
id = "lineage_sim/Hiring-v0"
kwargs = { discrete = true }
constitution = "default"
[spawn]
round_steps = 300
[eval]
episodes = 2
max_steps = 60
[sweep]
"agent.objective" = ["raw", "penalised"]
seeds = [1, 2]
"""


def test_sweep_runs_every_arm_and_aggregates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text(SWEEP)
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out)]) == 0
    for arm in ("objective=raw", "objective=penalised"):
        for seed in (1, 2):
            run = out / arm / f"seed-{seed}"
            assert json.loads((run / "summary.json").read_text())["seed"] == seed
            assert load_config(run / "config.toml").agent.objective == arm.split("=")[1]
    table = pd.read_csv(out / "aggregate.csv")
    assert list(table.arm) == ["objective=raw", "objective=penalised"] and (table.seeds == 2).all()
    for arm in table.arm:  # the aggregate is the mean of the runs' own numbers
        values = [json.loads((out / arm / f"seed-{s}" / "summary.json").read_text())["best_value"] for s in (1, 2)]
        row = table[table.arm == arm].iloc[0]
        assert row.best_value == pytest.approx(sum(values) / 2)
        assert row.best_value_lo <= row.best_value <= row.best_value_hi
    assert "objective=penalised" in capsys.readouterr().out
    # The distance's parts and every invariance's TV are aggregated like the other agent means.
    for arm in table.arm:
        agents = [pd.read_csv(out / arm / f"seed-{s}" / "agents.csv") for s in (1, 2)]
        row = table[table.arm == arm].iloc[0]
        for col in ("distance.invariance", "invariance.ignore-protected-attributes", "invariance.ignore-age"):
            assert row[f"agents_mean_{col}"] == pytest.approx(sum(a[col].mean() for a in agents) / 2)

    # An interrupted sweep (one run missing) is finished by resume, to the same aggregate.
    before = (out / "aggregate.csv").read_bytes()
    lineage = (out / "objective=penalised" / "seed-2" / "lineage.json").read_bytes()
    shutil.rmtree(out / "objective=penalised" / "seed-2")
    (out / "aggregate.csv").unlink()
    assert main(["resume", str(out), "--quiet"]) == 0
    assert (out / "aggregate.csv").read_bytes() == before
    assert (out / "objective=penalised" / "seed-2" / "lineage.json").read_bytes() == lineage


def test_bad_sweep_refused_before_anything_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text(SWEEP.replace('["raw", "penalised"]', '["raw", "penalized"]'))
    assert main(["run", str(cfg), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "objective=penalized" in err[0] and "did you mean 'penalised'" in err[0]
    assert not (tmp_path / "out").exists()
    cfg.write_text(SWEEP.replace('"agent.objective"', '"agent.objectiv"'))
    assert main(["run", str(cfg), "--out", str(tmp_path / "out")]) == 2
    assert "did you mean 'agent.objective'" in capsys.readouterr().err


DRIFT_SWEEP = """seed = 1
budget = 3000
[[envs]]
id = "lineage_sim/DriftingBandit-v0"
kwargs = { n_arms = 4, episode_length = 100, drift_step = 600, world_seed = 2 }
[spawn]
round_steps = 300
triggers = ["schedule", "drift"]
[eval]
episodes = 2
[sweep]
"operators.retrain-on-drift" = [1.0, 0.0]
seeds = [1, 2]
"""


def test_sweep_aggregates_the_drift_alarms_scores(tmp_path: Path) -> None:
    cfg = tmp_path / "d.toml"
    cfg.write_text(DRIFT_SWEEP)
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out / "aggregate.csv")
    for arm in table.arm:
        row = table[table.arm == arm].iloc[0]
        scores = [
            json.loads((out / arm / f"seed-{s}" / "summary.json").read_text())["drift_alarms"]["DriftingBandit-v0"]
            for s in (1, 2)
        ]
        for key in ("precision", "recall", "detection_delay"):
            got = [float("nan") if d[key] is None else float(d[key]) for d in scores]
            want = pd.Series(got).mean()  # the mean over the seeds that have the score
            assert row[f"alarm_{key}:DriftingBandit-v0"] == pytest.approx(want, nan_ok=True)
