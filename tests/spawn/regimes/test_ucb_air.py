"""HGM's loop (``[archive] expand = "ucb-air"``): a hand-worked sequence of decisions, the counts after
each step against the lineage, the final agent, the budget, resume and the expand-only bytes."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lineage import LineageGraph
from spawn.config import config_to_toml
from spawn.errors import ConfigError
from spawn.regimes.archive import SELECTOR_STREAM
from spawn.regimes.ucbair import LOOP_EVAL_STREAM
from spawn.run.driver import resume, simulate

from ..helpers import FROZEN, config

SLIPPERY = {"id": "FrozenLake-v1", "name": "slippery", "return_range": [0, 1], "kwargs": {"is_slippery": True}}


def _loop_cfg(**archive: Any) -> Any:
    return config(
        regime="archive",
        selector="hgm",
        budget=2600,
        envs=[FROZEN, SLIPPERY],
        archive={"batch_size": 1, "child_budget": 300, "root_budget": 500, "expand": "ucb-air"} | archive,
        eval={"episodes": 1, "max_steps": 30},
    )


def _rows(run: Path, name: str) -> list[dict[str, str]]:
    with (run / name).open() as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def loop_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ucb") / "run"
    simulate(_loop_cfg(), out)
    return out


def test_the_decisions_follow_the_hand_worked_ucb_air_rule(loop_run: Path) -> None:
    # One first-evaluation episode per environment: each agent adds N = 2. By hand, with alpha = 0.6:
    # root N=2, |A|=1: 2^0.6 = 1.52 >= 1 expand | N=4, |A|=2: 2.30 >= 2 expand | N=6, |A|=3: 2.93 < 3
    # evaluate | N=7: 3.21 >= 3 expand | N=9, |A|=4: 3.74 < 4 evaluate | N=10: 3.98 < 4 evaluate |
    # N=11: 4.21 >= 4 expand | N=13, |A|=5: 4.66 evaluate | N=14: 4.87 evaluate | N=15: 5.08 expand.
    rows = _rows(loop_run, "steps.csv")
    actions = "".join({"root": "R", "expand": "E", "evaluate": "V"}[r["action"]] for r in rows)
    assert actions.startswith("REEVEVVEVVE"), actions
    assert [int(r["episodes"]) for r in rows[:11]] == [2, 4, 6, 7, 9, 10, 11, 13, 14, 15, 17]
    assert [int(r["step"]) for r in rows] == list(range(len(rows)))  # one decision a row, in order
    # after every step: N^alpha < |archive| exactly when the next decision evaluates
    for before, row in itertools.pairwise(rows):
        expands = int(before["episodes"]) ** 0.6 >= int(before["archive_size"])
        assert (row["action"] == "expand") == expands, (before, row)


def test_each_evaluation_is_the_thompson_draw_on_own_counts_round_robin(loop_run: Path) -> None:
    """Recount every agent's successes from its first evaluation and the loop's rows, and redraw each
    evaluation's Thompson sample by hand from its seed: the loop picked the argmax every time."""
    rows = _rows(loop_run, "steps.csv")
    g = LineageGraph.load(loop_run / "lineage.json")
    loop_rows = {a: [r for r in rows if r["action"] == "evaluate" and r["agent"] == a] for a in g}
    counts: dict[str, list[int]] = {}  # agent -> [successes, trials] as the loop saw them
    for a in g:  # first evaluation = final counts minus the loop's episodes
        extra = loop_rows[a]
        counts[a] = [
            int(g.attributes(a)["successes"]) - sum(int(r["success"]) for r in extra),
            int(g.attributes(a)["trials"]) - len(extra),
        ]
        assert counts[a][1] == 2  # one episode on each environment
        # round robin over the suite, each agent its own position
        assert [r["env"] for r in extra] == [["FrozenLake-v1", "slippery"][k % 2] for k in range(len(extra))]
    archive: list[str] = ["0"]
    evaluations = 0
    for row in rows[1:]:
        d = int(row["step"])
        if row["action"] == "expand":
            archive.append(row["agent"])
            assert [int(row["successes"]), int(row["trials"])] == counts[row["agent"]]  # its first evaluation
            continue
        ids = sorted(archive, key=lambda a: [int(x) for x in a.split(".")])
        rng = np.random.default_rng(np.random.SeedSequence(3, spawn_key=(SELECTOR_STREAM, d, 2)))
        draws = rng.beta(
            [1 + counts[a][0] for a in ids], [1 + counts[a][1] - counts[a][0] for a in ids]
        )
        assert row["agent"] == ids[int(np.argmax(draws))], d
        counts[row["agent"]][0] += int(row["success"])
        counts[row["agent"]][1] += 1
        assert [int(row["successes"]), int(row["trials"])] == counts[row["agent"]]  # the counts after the step
        evaluations += 1
    assert evaluations >= 5
    for a in g:  # and the counts the loop reached are the lineage's
        assert counts[a] == [g.attributes(a)["successes"], g.attributes(a)["trials"]]


def test_loop_episodes_use_their_own_common_seeds() -> None:
    """The k-th loop episode of any agent starts from the same seed (common random numbers), none of
    them one of the first evaluation's."""
    from spawn.life.evaluate import EVAL_STREAM

    loop = {int(np.random.SeedSequence(3, spawn_key=(LOOP_EVAL_STREAM, k)).generate_state(1)[0]) for k in range(50)}
    first = np.random.SeedSequence(3, spawn_key=(EVAL_STREAM,))
    firsts = {int(x) for c in first.spawn(2) for x in c.generate_state(50)}
    assert len(loop) == 50 and not loop & firsts


def test_value_and_counts_count_every_episode(loop_run: Path) -> None:
    rows = _rows(loop_run, "steps.csv")
    g = LineageGraph.load(loop_run / "lineage.json")
    for a in g:
        attrs = g.attributes(a)
        n = {e: int(attrs[f"{e}.trials"]) for e in ("FrozenLake-v1", "slippery")}
        assert attrs["trials"] == sum(n.values())
        # FrozenLake's return is its success: the value over every episode is successes / trials
        for e in n:
            assert attrs[f"{e}.value"] == pytest.approx(attrs[f"{e}.successes"] / n[e])
        assert attrs["value"] == pytest.approx(np.mean([attrs[f"{e}.value"] for e in n]))
    last = rows[-1]
    train = int(g.column("train_steps").sum())
    evals = int(g.column("eval_steps").sum())
    assert (int(last["train_steps"]), int(last["eval_steps"])) == (train, evals)
    assert int(last["total_steps"]) == train + evals
    assert train + evals >= 2600  # the budget counts both, and is spent
    assert int(last["episodes"]) == int(g.column("trials").sum())


def test_best_agent_is_hgms_final_agent(loop_run: Path) -> None:
    g = LineageGraph.load(loop_run / "lineage.json")
    posterior = {a: (1 + g.attributes(a)["successes"]) / (2 + g.attributes(a)["trials"]) for a in g}
    top = max(posterior.values())
    first = min((a for a in g if posterior[a] == top), key=lambda a: [int(x) for x in a.split(".")])
    last = _rows(loop_run, "steps.csv")[-1]
    assert last["best_agent"] == first
    assert float(last["best_value"]) == pytest.approx(g.attributes(first)["value"])
    assert _rows(loop_run, "batches.csv")[-1]["best_agent"] == first


def test_final_trials_keeps_barely_evaluated_agents_out(tmp_path: Path) -> None:
    simulate(_loop_cfg(final_trials=4), tmp_path / "a")
    g = LineageGraph.load(tmp_path / "a" / "lineage.json")
    best = _rows(tmp_path / "a", "steps.csv")[-1]["best_agent"]
    assert g.attributes(best)["trials"] >= 4


def test_loop_is_deterministic_and_resumes_to_the_same_bytes(loop_run: Path, tmp_path: Path) -> None:
    files = ("lineage.json", "agents.csv", "summary.json", "batches.csv", "steps.csv")
    simulate(_loop_cfg(), tmp_path / "b", stop_after=3)
    assert not (tmp_path / "b" / "lineage.json").exists()
    resume(tmp_path / "b")
    for name in files:
        assert (loop_run / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_batch_size_makes_rounds_of_expansions_that_count_while_pending(tmp_path: Path) -> None:
    simulate(_loop_cfg(batch_size=3), tmp_path / "a")
    batches = _rows(tmp_path / "a", "batches.csv")
    assert 2 <= max(len(r["children"].split()) for r in batches) <= 3
    # A round's children join at its end, so their rows come after the round's evaluations; every
    # evaluation was decided with N^alpha below the archive plus the children then pending.
    rows = _rows(tmp_path / "a", "steps.csv")
    pending_seen = 0
    for i, row in enumerate(rows[1:], start=1):
        if row["action"] != "evaluate":
            continue
        before = rows[i - 1]
        pending = sum(1 for r in rows[i:] if r["action"] == "expand" and int(r["step"]) < int(row["step"]))
        assert int(before["episodes"]) ** 0.6 < int(before["archive_size"]) + pending, row
        pending_seen += pending > 0
    assert pending_seen  # some evaluation was decided while children were being made


def test_cooldown_sharpens_the_draws() -> None:
    from spawn.regimes.ucbair import loop_tau

    cfg = _loop_cfg(hgm_cooldown=2.0, hgm_tau=0.5)
    assert loop_tau(cfg, 0) == 0.5
    assert loop_tau(cfg, 1300) == pytest.approx(0.5 * 4)
    assert loop_tau(cfg, 2600) == 5000.0
    assert loop_tau(_loop_cfg(), 1300) == 1.0


def test_expand_only_runs_keep_their_config_and_write_steps(tmp_path: Path) -> None:
    cfg = config(
        regime="archive",
        selector="dgm",
        budget=1400,
        archive={"batch_size": 2, "child_budget": 300, "root_budget": 500},
    )
    text = config_to_toml(cfg)
    archive = text.split("[archive]\n")[1].split("\n\n")[0]
    keys = {line.split(" = ")[0] for line in archive.splitlines()}
    assert "batch_size" in keys and not {"expand", "alpha", "hgm_cooldown", "final_trials", "test_episodes"} & keys
    assert 'expand = "ucb-air"' in config_to_toml(_loop_cfg())
    simulate(cfg, tmp_path / "a")
    g = LineageGraph.load(tmp_path / "a" / "lineage.json")
    rows = _rows(tmp_path / "a", "steps.csv")
    batches = _rows(tmp_path / "a", "batches.csv")
    assert [r["action"] for r in rows] == ["root"] + ["expand"] * len(batches)
    assert [int(r["train_steps"]) for r in rows[1:]] == [int(b["spent"]) for b in batches]
    assert int(rows[-1]["eval_steps"]) == int(g.column("eval_steps").sum())
    assert int(rows[-1]["train_steps"]) == 1400  # the budget counts training alone
    assert "archive_best" not in (tmp_path / "a" / "summary.json").read_text()  # no test asked for
    assert [r["best_value"] for r in rows[1:]] == [f"{float(b['best_value']):.12g}" for b in batches]


@pytest.mark.parametrize(
    ("archive", "match"),
    [
        ({"alpha": 0.5}, r"archive\.alpha = 0\.5 applies only to HGM's loop"),
        ({"hgm_cooldown": 1.0}, "hgm_cooldown"),
        ({"expand": "ucb"}, "ucb-air"),
        ({"expand": "ucb-air", "alpha": 0.0}, "alpha"),
    ],
)
def test_bad_loop_settings_are_refused(archive: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        config(regime="archive", archive=archive)


def test_predictiveness_credits_each_state_with_the_counts_it_had(loop_run: Path) -> None:
    """Under the loop an agent's counts grow after it joins: each archive state of the predictiveness
    check sees the counts of its time (steps.csv), not the run's final ones."""
    from spawn.experiments.study import _states, arm_predictiveness

    g = LineageGraph.load(loop_run / "lineage.json")
    states = _states(loop_run)
    batches = _rows(loop_run, "batches.csv")
    assert len(states) == 1 + len(batches)
    for (members, then), row in zip(states[1:], batches, strict=True):
        assert set(then) == set(members)
        for a in members:  # the counts after the round: first evaluation + the loop's episodes so far
            steps = _rows(loop_run, "steps.csv")
            rows = [r for r in steps if r["agent"] == a and int(r["total_steps"]) <= int(row["spent"])]
            assert then[a]["trials"] == int(rows[-1]["trials"])
    final = states[-1][1]
    assert all(final[a]["trials"] == g.attributes(a)["trials"] for a in g)  # the last state is the lineage's
    earlier = [a for _, then in states[:-1] for a in then if then[a]["trials"] < g.attributes(a)["trials"]]
    assert earlier  # and some agent was credited, earlier, with fewer trials than it ended with
    table = arm_predictiveness({"hgm": {3: loop_run}}, ["self", "cmp"])
    assert set(table.selector) == {"hgm", "all"} and (table.pairs > 0).all()


class _NoSave:
    def save(self, entries: list[dict[str, Any]]) -> None:
        pass


@pytest.mark.parametrize("expand", ["batch", "ucb-air"])
def test_the_best_agent_is_tested_on_held_out_episodes(expand: str, tmp_path: Path) -> None:
    """held_out_test runs the best agent on seeds of its own, as evaluate runs its episodes: the
    reference is evaluate's own per-environment loop on those seeds with the same action stream."""
    from spawn.life.evaluate import _evaluate_env
    from spawn.life.job import build_agent, suite_for
    from spawn.regimes.archive import ArchiveState, run_archive
    from spawn.regimes.ucbair import TEST_STREAM, archive_best, held_out_test, run_ucb_air
    from spawn.runtimes.inline import InlineExecutor

    archive = {"expand": expand, "test_episodes": 6} | ({} if expand == "ucb-air" else {"batch_size": 2})
    cfg = _loop_cfg(**archive)
    state = ArchiveState()
    run = run_ucb_air if expand == "ucb-air" else run_archive
    assert run(cfg, _NoSave(), InlineExecutor(), state, lambda *a: None, None)
    got = held_out_test(cfg, state)
    agent, value = archive_best(cfg, state)
    assert (got["agent"], got["value"], got["test_trials"]) == (agent, value, 12)
    suite = suite_for(cfg)
    spec = state.finals[agent]
    built = build_agent(spec, suite, np.random.default_rng(0))
    rng = np.random.default_rng(np.random.SeedSequence(3, spawn_key=(TEST_STREAM, 1)))
    seeds = np.random.SeedSequence(3, spawn_key=(TEST_STREAM,)).spawn(2)
    values = []
    for slug, ss in zip(suite.slugs, seeds, strict=True):
        if slug not in built.shapes:
            built.add_task(slug, suite.facts[slug].shape)
        env = suite.make(slug, shield=False)
        m, _ = _evaluate_env(built, env, slug, [int(x) for x in ss.generate_state(6)], 30, False, rng, None, None)
        values.append(m["return"])
        assert got["test_values"][slug] == pytest.approx(m["return"])
    assert got["test_value"] == pytest.approx(np.mean(values))
    # and a run writes it to summary.json, the same every time
    simulate(cfg, tmp_path / "a")
    import json

    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["archive_best"] == json.loads(json.dumps(got))
    assert "test_episodes = 6" in (tmp_path / "a" / "config.toml").read_text()


@pytest.mark.parametrize("expand", ["batch", "ucb-air"])
def test_the_selectors_lineage_is_kept_up_to_date(expand: str) -> None:
    """The archive's lineage, grown agent by agent and updated as the loop evaluates, holds what a
    lineage built from the records holds (agents, parents, operators, every attribute)."""
    from spawn.life.lineage import build_lineage
    from spawn.regimes.archive import ArchiveState, run_archive
    from spawn.regimes.ucbair import run_ucb_air
    from spawn.runtimes.inline import InlineExecutor

    cfg = _loop_cfg(expand=expand, **({} if expand == "ucb-air" else {"batch_size": 2}))
    state = ArchiveState()
    seen = []

    def check(*_: Any) -> None:  # after every batch or round
        grown, built = state.lineage(cfg), build_lineage(cfg, state.records.values())
        assert sorted(grown.ids) == sorted(built.ids)
        for a in built:
            assert (grown.parent(a), grown.operator(a)) == (built.parent(a), built.operator(a))
            assert grown.attributes(a) == built.attributes(a)
        seen.append(len(built))

    run = run_ucb_air if expand == "ucb-air" else run_archive
    assert run(cfg, _NoSave(), InlineExecutor(), state, check, None)
    assert len(seen) >= 4 and seen[-1] > seen[0]


@pytest.mark.parametrize("expand", ["batch", "ucb-air"])
def test_outputs_from_the_selectors_lineage_are_those_from_the_records(expand: str, tmp_path: Path) -> None:
    """A finished archive run writes its files from the lineage it kept for the selectors, in the order
    agents joined: every byte is what a lineage built again from the records in that order writes."""
    from lineage import LineageGraph
    from spawn.regimes.archive import ArchiveState, run_archive
    from spawn.regimes.ucbair import run_ucb_air
    from spawn.run.outputs import write_outputs
    from spawn.runtimes.inline import InlineExecutor

    archive = {"batch_size": 1 if expand == "ucb-air" else 2, "child_budget": 300, "root_budget": 500}
    cfg = config(
        regime="archive",
        selector="hgm",
        budget=2600,
        envs=[FROZEN, SLIPPERY],
        archive=archive | {"expand": expand},
        eval={"episodes": 1, "max_steps": 30},
        output={"format": "both"},
    )
    state = ArchiveState()
    run = run_ucb_air if expand == "ucb-air" else run_archive
    assert run(cfg, _NoSave(), InlineExecutor(), state, lambda *a: None, None)
    grown = state.lineage(cfg)
    assert grown.ids == list(state.records)  # the order they joined
    built = LineageGraph(seed=cfg.seed, budget=cfg.budget, regime=cfg.regime)  # the reference, agent by agent
    for rec in state.records.values():
        built.add_agent(rec.id, parent=rec.parent, operator=rec.operator, **rec.attributes)
    (tmp_path / "grown").mkdir()
    (tmp_path / "built").mkdir()
    write_outputs(cfg, tmp_path / "grown", state.records, None, grown)
    write_outputs(cfg, tmp_path / "built", state.records, None, built)
    files = sorted(f.name for f in (tmp_path / "built").iterdir())
    assert "lineage.parquet" in files and "agents.csv" in files
    assert files == sorted(f.name for f in (tmp_path / "grown").iterdir())
    for name in files:
        assert (tmp_path / "grown" / name).read_bytes() == (tmp_path / "built" / name).read_bytes(), name
