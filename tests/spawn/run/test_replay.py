"""Replay (spawn.run.replay): an agent's life run again from the spec the run recorded equals its
stored record, in every regime; its evaluation episodes are recorded step by step."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from lineage import LineageGraph
from spawn.api import replay as api_replay
from spawn.errors import ReplayError, RunDirError
from spawn.life.job import AgentRecord, JobResult
from spawn.plots.replay import steps_table
from spawn.run.driver import simulate
from spawn.run.replay import RunRecord, first_difference, lineage_chain, replay
from tests.spawn.helpers import HIRING, config

LAKE = {"id": "FrozenLake-v1", "return_range": [0, 1], "kwargs": {"is_slippery": False}, "constitution": "default"}
ARCHIVE = {"batch_size": 3, "root_budget": 300, "child_budget": 200}
OPERATORS = {"finetune": 1.0, "mutate": 1.0, "add-tool": 1.0}


def _run(root: Path, name: str, **overrides: object) -> Path:
    out = root / name
    simulate(config(**overrides), out)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("replay")
    return {
        "recursive": _run(root, "recursive", envs=[LAKE]),
        "archive": _run(root, "archive", regime="archive", archive=ARCHIVE, operators=OPERATORS),
        # a budget where the loop's evaluations cut the budget of a child made after them in its round
        "ucb": _run(
            root,
            "ucb",
            budget=2000,
            regime="archive",
            selector="hgm",
            archive={"batch_size": 2, "root_budget": 300, "child_budget": 300, "expand": "ucb-air"},
            operators=OPERATORS,
        ),
        "cohort": _run(root, "cohort", regime="archive", engine="cohort", archive=ARCHIVE, operators=OPERATORS),
        # no operator reads the best training episodes: the archive saves none
        "nobest": _run(root, "nobest", regime="archive", archive=ARCHIVE, operators={"finetune": 1.0, "add-tool": 0.0}),
        "hiring": _run(root, "hiring", budget=400, envs=[HIRING], eval={"episodes": 2, "max_steps": 12}),
    }


def _ids(run: Path) -> list[str]:
    return list(LineageGraph.load(run / "lineage.json").ids)


def _last_batch_children(run: Path) -> list[str]:
    rows = list(csv.DictReader((run / "batches.csv").open()))
    return [c for row in rows if row["children"] for c in row["children"].split()][-3:]


def test_a_deep_recursive_agent_replays_to_its_stored_record(runs: dict[str, Path]) -> None:
    deepest = max(_ids(runs["recursive"]), key=lambda a: a.count("."))
    assert deepest.count(".") >= 3
    r = replay(runs["recursive"], deepest)
    assert r.matches and r.first_mismatch is None
    assert r.target.replayed.record == r.target.stored.record
    assert r.target.replayed.children == r.target.stored.children
    stored = LineageGraph.load(runs["recursive"] / "lineage.json").attributes(deepest)
    assert r.target.replayed.record.attributes["value"] == stored["value"]


def test_lineage_replays_every_ancestor_root_first(runs: dict[str, Path]) -> None:
    deepest = max(_ids(runs["recursive"]), key=lambda a: a.count("."))
    seen: list[str] = []
    r = replay(runs["recursive"], deepest, lineage=True, on_agent=lambda one: seen.append(one.agent))
    assert [a.agent for a in r.agents] == lineage_chain(deepest) == seen
    assert r.matches
    assert r.agents[0].spec.parent is None and r.agents[-1].spec.id == deepest


@pytest.mark.parametrize("name", ["archive", "cohort", "nobest", "ucb"])
def test_archive_agents_of_later_batches_replay_exactly(runs: dict[str, Path], name: str) -> None:
    """Expand-only, the cohort engine (replayed on the per-agent path), without best episodes kept,
    and HGM's loop."""
    run = RunRecord(runs[name])
    later = _last_batch_children(runs[name])
    assert later and all(a != "0" for a in later)
    for agent in later:
        r = replay(run, agent, episodes=0)
        assert r.matches, r.first_mismatch and r.first_mismatch.difference
        assert r.target.replayed.final == r.target.stored.final
    if name == "ucb":  # the loop evaluated agents between its expansions
        actions = [row["action"] for row in csv.DictReader((runs[name] / "steps.csv").open())]
        assert "evaluate" in actions and "expand" in actions


@pytest.mark.parametrize("name", ["archive", "ucb"])
def test_every_agent_of_an_archive_run_replays_in_any_order(runs: dict[str, Path], name: str) -> None:
    """In the order they joined (the archive rebuilt once, batch after batch) and backwards."""
    ids = _ids(runs[name])
    run = RunRecord(runs[name])
    assert all(replay(run, a, episodes=0).matches for a in ids)
    assert all(replay(run, a, episodes=0).matches for a in reversed(ids))


def test_an_archive_agents_lineage_replays(runs: dict[str, Path]) -> None:
    deepest = max(_ids(runs["archive"]), key=lambda a: a.count("."))
    assert deepest.count(".") >= 3
    r = replay(runs["archive"], deepest, lineage=True, episodes=0)
    assert [a.agent for a in r.agents] == lineage_chain(deepest) and r.matches


def test_a_changed_record_is_named_at_its_first_difference() -> None:
    rec = AgentRecord("0.1", "0", "finetune", {"value": 0.5, "cost": 0.0}, 10, 5)
    changed = AgentRecord("0.1", "0", "finetune", {"value": 0.5, "cost": 0.25}, 10, 5)
    assert first_difference(JobResult(rec), JobResult(rec)) is None
    assert first_difference(JobResult(rec), JobResult(changed)) == (
        "attribute 'cost' differs: stored 0.0, replayed 0.25"
    )
    nan = AgentRecord("0.1", "0", "finetune", {"value": math.nan}, 10, 5)
    assert first_difference(JobResult(nan), JobResult(nan)) is None
    steps = AgentRecord("0.1", "0", "finetune", {"value": 0.5, "cost": 0.0}, 11, 5)
    assert first_difference(JobResult(rec), JobResult(steps)) == "train_steps differs: stored 10, replayed 11"


def test_the_evaluation_episodes_are_recorded_step_by_step(runs: dict[str, Path]) -> None:
    r = replay(runs["recursive"], "0", episodes=2)
    (episodes,) = r.episodes.values()
    assert len(episodes) == 2
    for steps in episodes:
        assert [s.t for s in steps] == list(range(len(steps)))
        assert steps[0].action is None and all(s.action in range(4) for s in steps[1:])
        assert all(s.board is not None and s.board.forbidden for s in steps)  # the lake's holes
        assert all(s.board is not None and s.board.agent == divmod(int(s.obs), 4) for s in steps)
        assert all(s.board is not None and s.board.actions == ("left", "down", "right", "up") for s in steps)
    # as many steps as the record's evaluation took, over both of its episodes
    assert sum(len(steps) - 1 for steps in episodes) == r.target.stored.record.eval_steps


def test_a_table_of_steps_for_the_hiring_env(runs: dict[str, Path]) -> None:
    r = replay(runs["hiring"], "0", episodes=1)
    ((slug, (steps,)),) = r.episodes.items()
    assert all(s.board is None for s in steps)
    table = steps_table(slug, 0, steps)
    assert [c.header for c in table.columns] == ["step", "observation", "action", "reward", "cost", "rules broken"]
    assert table.row_count == len(steps) == 13  # the reset and 12 steps (max_steps)


def test_an_unknown_agent_and_too_many_episodes_are_refused(runs: dict[str, Path]) -> None:
    with pytest.raises(ReplayError, match=r"agent '0\.9\.9' is not in the lineage \(it has \d+ agents, ids like 0, "):
        replay(runs["recursive"], "0.9.9")
    with pytest.raises(ReplayError, match="episodes = 3; accepted: a whole number from 0 to 2"):
        replay(runs["recursive"], "0", episodes=3)
    with pytest.raises(RunDirError, match="is not a run directory"):
        replay(runs["recursive"] / "nowhere", "0")


def test_the_api_replays(runs: dict[str, Path]) -> None:
    import spawn

    assert spawn.replay(runs["archive"], "0", episodes=0).matches
    assert api_replay(runs["archive"], "0.0", episodes=0).target.agent == "0.0"


def test_an_interrupted_run_replays_from_its_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "stopped"
    outcome = simulate(config(envs=[LAKE]), out, stop_after=4)
    assert not outcome.complete and not (out / "lineage.json").exists()
    run = RunRecord(out)
    assert len(run) == 4
    assert all(replay(run, a, episodes=0).matches for a in run.index)
