"""A run's outputs computed from a hand-built lineage whose answer is known."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lineage import LineageGraph
from spawn.config import parse_config
from spawn.life.spec import AgentRecord, CurveRow
from spawn.life.suite import Suite
from spawn.run.driver import simulate
from spawn.run.outputs import alarm_scores, drift_alarms, drift_recovery, life_recovery, summary

DRIFT = 1000
SLUG = "DriftingBandit-v0"


def _cfg(**env: object) -> object:
    kwargs = {"n_arms": 2, "episode_length": 10, "drift_step": DRIFT, "world_seed": 1, **env}
    return parse_config(
        {"seed": 1, "budget": 1000, "envs": [{"id": "lineage_sim/DriftingBandit-v0", "kwargs": kwargs},
                                             {"id": "FrozenLake-v1", "return_range": [0, 1]}]}
    )


def _lineage(points: list[tuple[int, int, float]]) -> LineageGraph:
    """Agents "0", "0.0", "0.1", ...: (birth_time, train_steps, value on the bandit), evaluated at their sum."""
    g = LineageGraph(seed=1, budget=1000, regime="recursive")
    for i, (born, steps, value) in enumerate(points):
        agent_id = "0" if i == 0 else f"0.{i - 1}"
        g.add_agent(agent_id, parent=None if i == 0 else "0", operator=None if i == 0 else "finetune",
                    birth_time=born, train_steps=steps, **{f"{SLUG}.value": value, "FrozenLake-v1.value": 0.5})
    return g


def test_recovery_is_the_first_evaluation_at_level_after_the_drift() -> None:
    # evaluated at 500 (before), 1100, 1300, 1600, 2000 (after); best after = 0.8, level 0.9 -> 0.72:
    # the first evaluation after the drift at >= 0.72 is at 1600, so recovery = 1600 - 1000 = 600.
    g = _lineage([(0, 500, 0.9), (900, 200, 0.2), (1000, 300, 0.5), (1200, 400, 0.75), (1500, 500, 0.8)])
    out = drift_recovery(_cfg(), g)
    assert set(out) == {SLUG}  # FrozenLake is not clocked: no entry
    assert out[SLUG] == {"drift_step": DRIFT, "best_before": 0.9, "best_after": 0.8, "agents_after": 4,
                         "recovery_time": 600}


def test_level_decides_which_evaluation_counts() -> None:
    g = _lineage([(0, 500, 0.9), (900, 200, 0.2), (1000, 300, 0.5), (1200, 400, 0.75), (1500, 500, 0.8)])
    assert drift_recovery(_cfg(), g, level=0.6)[SLUG]["recovery_time"] == 300  # 0.5 >= 0.48 at 1300
    assert drift_recovery(_cfg(), g, level=1.0)[SLUG]["recovery_time"] == 1000  # only 0.8 itself, at 2000


def test_an_evaluation_at_the_drift_step_counts_as_after() -> None:
    g = _lineage([(0, 1000, 0.4), (0, 200, 0.9)])
    out = drift_recovery(_cfg(), g)[SLUG]
    assert out == {"drift_step": DRIFT, "best_before": 0.9, "best_after": 0.4, "agents_after": 1,
                   "recovery_time": 0}


def test_no_agent_after_the_drift_has_no_recovery() -> None:
    g = _lineage([(0, 500, 0.9), (0, 600, 0.3)])
    out = drift_recovery(_cfg(), g)[SLUG]
    assert out["best_after"] is None and out["recovery_time"] is None and out["agents_after"] == 0
    assert out["best_before"] == pytest.approx(0.9)


def _records(curves: dict[str, list[tuple[str, int, float | None]]]) -> list[AgentRecord]:
    """Records with learning curves: per agent, rounds of (task, cumulative steps, mean return)."""
    return [
        AgentRecord(agent, None, None, {}, 0, 0, tuple(CurveRow(i + 1, t, n, r, 0.0, 0.0, 0.0, 0.1)
                                                          for i, (t, n, r) in enumerate(rows)))
        for agent, rows in curves.items()
    ]


def test_life_recovery_reads_reward_during_lives() -> None:
    # Issue 16: recovery on the end-of-life evaluations could not tell narrow_drift's arms apart;
    # the rounds of a life after the drift can. Agent 0 (born at 0) trains in rounds of 400 steps,
    # 0.0 (born at 900) in rounds of 200; only rounds that began at or after 1000 count.
    cfg = _cfg()
    lo, hi = Suite(cfg).facts[SLUG].return_range
    ret = lambda v: lo + v * (hi - lo)  # noqa: E731  # a return whose normalised value is v
    g = _lineage([(0, 1600, 0.5), (900, 600, 0.5)])
    for agent in g:
        g.update(agent, value=0.5, eval_steps=0)  # what summary() reads besides the drift
    records = _records({
        "0": [(SLUG, 400, ret(0.9)), (SLUG, 800, ret(0.9)), (SLUG, 1200, ret(0.95)),  # 800-1200 straddles
              (SLUG, 1600, ret(0.4))],  # began at 1200: counts, ends at 1600
        "0.0": [(SLUG, 200, ret(0.99)),  # 900-1100 straddles the drift: left out
                (SLUG, 400, ret(0.5)), ("FrozenLake-v1", 600, 0.99)],  # began 1100, ends 1300; FrozenLake no
    })
    out = life_recovery(cfg, g, records)[SLUG]
    assert out["best_after"] == pytest.approx(0.5) and out["rounds_after"] == 2
    assert out["recovery_time"] == 300  # 0.5 >= 0.9 x 0.5 first at world time 1300
    assert life_recovery(cfg, g, records, level=1.0)[SLUG]["recovery_time"] == 300
    records[1] = _records({"0.0": [(SLUG, 200, ret(0.99)), (SLUG, 400, None)]})[0]  # no episode ended
    out = life_recovery(cfg, g, records)[SLUG]
    assert out["best_after"] == pytest.approx(0.4) and out["recovery_time"] == 600
    # in summary.json beside the evaluation-based recovery
    drift = summary(cfg, g, records)["drift"][SLUG]
    assert drift["life_recovery_time"] == 600
    assert drift["recovery_time"] == drift_recovery(cfg, g)[SLUG]["recovery_time"]
    assert "life_recovery_time" not in summary(cfg, g)["drift"][SLUG]


# ---------------------------------------------------------------------- drift alarms (issue 15)
def test_alarm_scores_by_hand() -> None:
    # drift at 1000, window 2000: true alarms lie in [1000, 3000).
    # 400 (before the drift) false; 1000 (at the drift) true; 2999 true; 3000 (window over) false;
    # 1500 true. Precision 3 / 5, recall 1 (the one drift was found), delay 1000 - 1000 = 0.
    out = alarm_scores(1000, [3000, 1500, 400, 2999, 1000], window=2000)
    assert out == {"drift_step": 1000, "window": 2000, "alarms": [400, 1000, 1500, 2999, 3000],
                   "true_alarms": 3, "false_alarms": 2, "precision": 0.6, "recall": 1.0,
                   "detection_delay": 0}
    late = alarm_scores(1000, [200, 1250, 1400], window=None)  # no window: anything after counts
    assert (late["precision"], late["recall"], late["detection_delay"]) == (pytest.approx(2 / 3), 1.0, 250)


def test_alarm_scores_when_undefined() -> None:
    none = alarm_scores(1000, [], window=500)
    assert (none["precision"], none["recall"], none["detection_delay"]) == (None, 0.0, None)
    only_false = alarm_scores(1000, [100, 900, 1500], window=500)  # 1500 is past the window
    assert (only_false["precision"], only_false["recall"], only_false["detection_delay"]) == (0.0, 0.0, None)
    assert only_false["false_alarms"] == 3
    unseen = alarm_scores(1000, [300], window=500, observed=False)  # nobody lived past the drift
    assert (unseen["precision"], unseen["recall"], unseen["detection_delay"]) == (0.0, None, None)


def _alarm_lineage(children: list[tuple[str, str, int, str]], tasks: str = SLUG) -> LineageGraph:
    """A root trained 5,000 steps on ``tasks``; children (id, trigger, birth_time, trigger_task) of it."""
    g = LineageGraph(seed=1, budget=1000, regime="recursive")
    g.add_agent("0", parent=None, operator=None, birth_time=0, train_steps=5000, tasks=tasks, trigger=None)
    for agent_id, trigger, born, task in children:
        op = "retrain-on-drift" if trigger == "drift" else "finetune"
        g.add_agent(agent_id, parent="0", operator=op, birth_time=born, train_steps=100, tasks=tasks,
                    trigger=trigger, trigger_task=task)
    return g


def test_drift_alarms_are_the_drift_triggers_births() -> None:
    cfg = _cfg()  # round_steps 250 (the default): the window is 5 rounds, 1,250 steps
    g = _alarm_lineage([("0.0", "drift", 500, SLUG), ("0.1", "schedule", 1000, SLUG), ("0.2", "drift", 1500, SLUG),
                        ("0.3", "drift", 2500, SLUG)])
    out = drift_alarms(cfg, g)
    assert set(out) == {SLUG}  # FrozenLake is not clocked: no entry
    # 500 is before the drift (false), 1500 within [1000, 2250) (true), 2500 too late (false);
    # the schedule's birth at 1000 is no alarm.
    assert out[SLUG] == {"drift_step": DRIFT, "window": 1250, "alarms": [500, 1500, 2500], "true_alarms": 1,
                         "false_alarms": 2, "precision": pytest.approx(1 / 3), "recall": 1.0,
                         "detection_delay": 500}
    assert drift_alarms(cfg, g, window=2000)[SLUG]["true_alarms"] == 2


def test_a_multi_task_parents_alarm_belongs_to_the_task_that_raised_it() -> None:
    # A parent on two tasks: only the alarms its bandit rounds raised are the bandit's.
    g = _alarm_lineage([("0.0", "drift", 1000, "FrozenLake-v1"), ("0.1", "drift", 1250, SLUG)],
                       tasks=f"{SLUG},FrozenLake-v1")
    out = drift_alarms(_cfg(), g)[SLUG]
    assert out["alarms"] == [1250] and out["detection_delay"] == 250


def test_no_agent_after_the_drift_leaves_recall_undefined() -> None:
    g = LineageGraph(seed=1, budget=1000, regime="recursive")
    g.add_agent("0", parent=None, operator=None, birth_time=0, train_steps=800, tasks=SLUG, trigger=None)
    g.add_agent("0.0", parent="0", operator="retrain-on-drift", birth_time=500, train_steps=200, tasks=SLUG,
                trigger="drift", trigger_task=SLUG)
    out = drift_alarms(_cfg(), g)[SLUG]
    assert out["alarms"] == [500] and out["precision"] == 0.0 and out["recall"] is None


def test_summary_reports_drift_alarms_of_a_tiny_clocked_run(tmp_path: Path) -> None:
    bandit = {"id": "lineage_sim/DriftingBandit-v0",
              "kwargs": {"n_arms": 4, "episode_length": 100, "drift_step": 1500, "world_seed": 2}}
    cfg = parse_config({
        "seed": 3, "budget": 6000, "envs": [bandit],
        "agent": {"alpha": 0.02, "gamma": 0.5},
        "operators": {"finetune": 0.0, "retrain-on-drift": 1.0, "mutate": 0.0, "add-tool": 0.0, "new-task": 0.0},
        "spawn": {"triggers": ["drift"], "round_steps": 250, "max_children": 1, "child_share": 0.5,
                  "min_child_budget": 500},
        "caps": {"max_depth": 1},
        "eval": {"episodes": 2, "max_steps": 100},
    })
    simulate(cfg, tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    agents = list(csv.DictReader((tmp_path / "run" / "agents.csv").open()))
    born = sorted(int(r["birth_time"]) for r in agents if r["trigger"] == "drift")
    assert born and born == summary["drift_alarms"][SLUG]["alarms"]
    out = summary["drift_alarms"][SLUG]
    # The root's drop in reward at the drift is found within a few rounds: one true alarm.
    assert 1500 <= born[0] < 1500 + 5 * 250
    assert out == {"drift_step": 1500, "window": 1250, "alarms": born, "true_alarms": 1, "false_alarms": 0,
                   "precision": 1.0, "recall": 1.0, "detection_delay": born[0] - 1500}
