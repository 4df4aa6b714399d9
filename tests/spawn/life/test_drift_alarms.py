"""Drift alarms follow the drift: the quickstart's tuned detector, and which task raised each alarm."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

import spawn.life.triggers as triggers
from spawn.config import parse_config
from spawn.life.job import live, root_spec
from spawn.run.driver import simulate
from spawn.run.outputs import ALARM_WINDOW_ROUNDS, drift_alarms

QUICKSTART = Path(__file__).resolve().parents[3] / "examples" / "quickstart.toml"


def _log_alarms(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, int], str]:
    """Record every drift alarm as (agent, world time) -> the task whose round raised it."""
    log: dict[tuple[str, int], str] = {}
    fires = triggers.Drift.fires

    def logged(self: Any, round: triggers.Round) -> bool:
        fired = fires(self, round)
        if fired:
            log[(self.spec.id, round.clock)] = round.task
        return fired

    monkeypatch.setattr(triggers.Drift, "fires", logged)
    return log


def test_the_quickstart_roots_detector_waits_for_the_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 15: with river's default ADWIN (delta 0.002) the quickstart's root raised its first alarm
    # at world time 4,000, long before the drift, and all three retrain-on-drift children were born
    # early. The root's reward stream does not depend on its children, so the root alone, trained
    # until a few rounds past the drift, shows what its detector does.
    data = tomllib.loads(QUICKSTART.read_text(encoding="utf-8"))
    drift = int(data["envs"][0]["kwargs"]["drift_step"])
    rounds = int(data["spawn"]["round_steps"])
    data["budget"] = drift + ALARM_WINDOW_ROUNDS * rounds
    data["spawn"]["max_children"] = 0
    data["eval"] = {"episodes": 1, "max_steps": 10}
    cfg = parse_config(data)
    log = _log_alarms(monkeypatch)
    live(root_spec(cfg), cfg)
    times = sorted(t for (_, t) in log)
    assert times, "the root never noticed the drift"
    assert times[0] >= drift, f"false alarms before the drift at {drift}: {times}"
    assert times[0] < drift + ALARM_WINDOW_ROUNDS * rounds


def test_each_alarm_is_credited_to_the_task_whose_round_raised_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Multi-task agents (a root on two tasks, new-task children on three, starting with the new one):
    # each drift child records the task whose round raised its alarm, and the summary scores the alarms
    # of each drifting environment from exactly those.
    bandit = {"id": "lineage_sim/DriftingBandit-v0",
              "kwargs": {"n_arms": 4, "episode_length": 100, "drift_step": 1500, "world_seed": 2}}
    frozen = {"id": "FrozenLake-v1", "return_range": [0, 1], "kwargs": {"is_slippery": True}}
    hiring = {"id": "lineage_sim/Hiring-v0", "kwargs": {"discrete": True}, "train": False}
    cfg = parse_config({
        "seed": 2, "budget": 8000, "envs": [bandit, frozen, hiring],
        "operators": {"finetune": 1.0, "retrain-on-drift": 1.0, "mutate": 0.0, "add-tool": 0.0, "new-task": 3.0},
        "spawn": {"triggers": ["drift", "schedule"], "every": 4, "round_steps": 100, "min_child_budget": 300,
                  "max_children": 4, "drift_direction": "both", "detector": "page-hinkley",
                  # a jumpy detector: many alarms, true and false, on every task
                  "detector_params": {"threshold": 3, "min_instances": 10}},
        "eval": {"episodes": 1, "max_steps": 20},
    })
    log = _log_alarms(monkeypatch)
    g = simulate(cfg, tmp_path / "run").lineage
    assert g is not None
    births = [(a, g.parent(a), int(g.attributes(a)["birth_time"])) for a in g.ids
              if g.attributes(a).get("trigger") == "drift"]
    parents_ops = {g.operator(p) for _, p, _ in births if p is not None}
    tasks_seen = {log[(p, born)] for _, p, born in births if p is not None}
    assert len(births) >= 4 and "new-task" in parents_ops and len(tasks_seen) >= 2  # the case is exercised
    for child, parent, born in births:
        assert parent is not None
        assert g.attributes(child)["trigger_task"] == log[(parent, born)]
    scored = drift_alarms(cfg, g)["DriftingBandit-v0"]["alarms"]
    assert scored == sorted(born for _, p, born in births if log[(p, born)] == "DriftingBandit-v0")
