"""Learning curves (``curves.csv``): one row per agent and round, consistent with ``agents.csv``,
the same bytes on every runtime and after ``resume``, carried through the checkpoint with checks."""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import pytest

from lineage import path_key
from spawn.config import SimConfig
from spawn.life.codec import decode_record, encode_record
from spawn.life.job import Life, root_spec
from spawn.life.spec import CURVE_COLUMNS, AgentRecord, CurveRow
from spawn.run.driver import resume, simulate
from spawn.run.outputs import OUTPUT_FILES, curves_csv
from spawn.run.rundir import RUN_FILES
from spawn.runtimes.processes import LocalProcessExecutor

from ..helpers import FROZEN, HIRING, config

HEADER = "id,round,task,steps,return,cost,violations,lagrange,epsilon"
FILES = ("lineage.json", "agents.csv", "curves.csv", "summary.json", "phylogeny.csv", "batches.csv")


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open()))


def _lagrangian() -> SimConfig:
    """Hiring under its constitution with an adaptive objective: cost, violations, a moving multiplier."""
    return config(envs=[HIRING], agent={"objective": "lagrangian", "lagrange_lr": 0.05}, budget=2000)


def _archive() -> SimConfig:
    return config(
        regime="archive",
        selector="greedy",
        budget=1600,
        envs=[HIRING],
        archive={"batch_size": 2, "child_budget": 300, "root_budget": 400},
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("curves") / "run"
    simulate(_lagrangian(), out)
    return out


def test_one_row_per_round_consistent_with_agents_csv(run: Path) -> None:
    text = (run / "curves.csv").read_text()
    assert text.splitlines()[0] == HEADER == ",".join(CURVE_COLUMNS)
    curves, agents = _rows(run / "curves.csv"), {a["id"]: a for a in _rows(run / "agents.csv")}
    ids = list(dict.fromkeys(r["id"] for r in curves))
    assert ids == sorted(agents, key=path_key) and len(agents) > 3  # every agent, in lineage-path order
    round_steps = 100
    for a, attrs in agents.items():
        mine = [r for r in curves if r["id"] == a]
        # Rows of one agent are together, rounds 1, 2, ... in order.
        assert [int(r["round"]) for r in mine] == list(range(1, len(mine) + 1))
        steps = [int(r["steps"]) for r in mine]
        assert all(0 < b - s <= round_steps for s, b in zip([0, *steps], steps, strict=False))
        assert steps[-1] == int(attrs["train_steps"])
        assert math.isclose(sum(float(r["cost"]) for r in mine), float(attrs["train_cost"]), abs_tol=1e-9)
        assert math.isclose(
            sum(float(r["violations"]) for r in mine), float(attrs["train_violations"]), abs_tol=1e-9
        )
        assert float(mine[-1]["lagrange"]) == float(attrs["lagrange_lambda"])
        assert all(float(r["epsilon"]) == float(attrs["hp_epsilon"]) for r in mine)
        assert all(r["task"] == "Hiring-v0" for r in mine)
    assert any(float(r["cost"]) > 0 for r in curves)
    assert len({r["lagrange"] for r in curves}) > 2  # the multiplier moves: rows record it round by round


def test_return_is_the_rounds_mean_or_else_the_last_episodes(tmp_path: Path) -> None:
    """Rounds of 3 steps on FrozenLake: some end no episode (the last episode's return carries over),
    the first ones none at all (empty); compared with the episode returns the life kept."""
    cfg = config(envs=[FROZEN], budget=150, spawn={"round_steps": 3, "triggers": []})
    life = Life(root_spec(cfg), cfg)
    ends = []
    real_round = life.train_round

    def counting(request):  # type: ignore[no-untyped-def]
        before = len(life.stats.returns)
        real_round(request)
        ends.append((before, len(life.stats.returns)))

    life.train_round = counting  # type: ignore[method-assign]
    life.train()
    returns = life.stats.returns
    assert len(life.curve) == 50 and len(ends) == 50
    kinds = set()
    for row, (before, after) in zip(life.curve, ends, strict=True):
        if after > before:
            expected: float | None = sum(returns[before:after]) / (after - before)
            kinds.add("ended")
        elif after > 0:
            expected = returns[after - 1]
            kinds.add("carried")
        else:
            expected = None
            kinds.add("none yet")
        assert row.ret == expected
    assert kinds == {"ended", "carried", "none yet"}
    csv_text = curves_csv([life.finish().record])
    assert csv_text.splitlines()[1].split(",")[4] == ""  # no episode yet: an empty cell


def test_rows_follow_the_records_order_each_agents_rounds_in_order() -> None:
    """curves_csv writes agents in the order given (a run gives its lineage's, never the order
    agents finished in: see tests/spawn/run/test_streams.py), each agent's rounds in order."""

    def rec(i: str) -> AgentRecord:
        row = CurveRow(1, "t", 10, 0.5, 1.0, 0.0, 0.25, None)
        return AgentRecord(i, None, None, {}, 10, 0, (row, row._replace(round=2, steps=20, ret=None)))

    ids = ["0", "0.2", "0.1.3", "0.10"]
    lines = curves_csv([rec(i) for i in ids]).splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["0", "0", "0.2", "0.2", "0.1.3", "0.1.3", "0.10", "0.10"]
    assert lines[1] == "0,1,t,10,0.5,1.0,0.0,0.25," and lines[2] == "0,2,t,20,,1.0,0.0,0.25,"


def test_curve_rows_survive_the_checkpoint_and_bad_rows_are_refused() -> None:
    rows = (CurveRow(1, "a", 5, None, 0.0, 2.0, 0.1, 0.3), CurveRow(2, "b", 9, math.inf, 1.0, 0.0, 0.2, None))
    rec = AgentRecord("0.1", "0", "mutate", {"value": 0.5}, 9, 3, rows)
    back = decode_record(encode_record(rec))
    assert back == rec and all(type(r) is CurveRow for r in back.curve)
    data = encode_record(rec)
    for bad, message in [
        ({k: v for k, v in data.items() if k != "curve"}, "unexpected fields"),
        ({**data, "curve": [[1, "a", 5, None, 0.0, 2.0, 0.1]]}, "expected 8 fields"),
        ({**data, "curve": [[1, "a", "5", None, 0.0, 2.0, 0.1, 0.3]]}, "curve[0].steps: expected an integer"),
        ({**data, "curve": [[1, "a", 5, "x", 0.0, 2.0, 0.1, 0.3]]}, "curve[0].ret: expected a number"),
        ({**data, "curve": {"0": []}}, "curve: expected a list"),
    ]:
        with pytest.raises(Exception, match=message.replace("[", r"\[").replace("]", r"\]")):
            decode_record(bad)


def test_archive_curves_are_the_same_bytes_inline_in_processes_and_after_resume(tmp_path: Path) -> None:
    cfg = _archive()
    simulate(cfg, tmp_path / "inline")
    simulate(cfg, tmp_path / "procs", LocalProcessExecutor(2))  # type: ignore[arg-type]
    simulate(cfg, tmp_path / "cut", stop_after=2)
    cut = _rows(tmp_path / "cut" / "curves.csv")  # written as the run goes: its first agents' rows
    assert cut and not (tmp_path / "cut" / "summary.json").exists()
    resume(tmp_path / "cut")
    assert _rows(tmp_path / "cut" / "curves.csv")[: len(cut)] == cut
    for name in FILES:
        ref = (tmp_path / "inline" / name).read_bytes()
        assert (tmp_path / "procs" / name).read_bytes() == ref, name
        assert (tmp_path / "cut" / name).read_bytes() == ref, name
    curves, agents = _rows(tmp_path / "inline" / "curves.csv"), _rows(tmp_path / "inline" / "agents.csv")
    assert {r["id"] for r in curves} == {a["id"] for a in agents} and len(agents) == 5
    last = {r["id"]: int(r["steps"]) for r in curves}
    assert all(last[a["id"]] == int(a["train_steps"]) for a in agents)


def test_curves_csv_is_listed_as_an_output() -> None:
    assert "curves.csv" in OUTPUT_FILES and "curves.csv" in RUN_FILES


def test_a_failed_life_keeps_the_rounds_it_trained() -> None:
    cfg = config(envs=[FROZEN], budget=500, spawn={"round_steps": 100, "triggers": []})
    life = Life(root_spec(cfg), cfg)
    rounds = life.rounds()
    for request in itertools.islice(rounds, 3):  # two rounds trained, the third fails as it starts
        if request is not None and len(life.curve) < 2:
            life.train_round(request)
    result = life.failed(ValueError("policy exploded"))
    assert [(r.round, r.steps) for r in result.record.curve] == [(1, 100), (2, 200)]
    assert result.record.train_steps == 200 and "error" in result.record.attributes
    assert decode_record(encode_record(result.record)) == result.record

