"""The cohort engine: the per-agent bytes, round by round and run by run, on the FrozenLake kernel,
with tools, mixed with environments and agents it has no kernel for, and in HGM's loop."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from spawn.agents import QAgent
from spawn.config import config_to_toml
from spawn.errors import ConfigError
from spawn.life.cohort import kernel_key, lockstep_rounds, run_cohort
from spawn.life.job import Life, root_spec, run_agent
from spawn.run.driver import simulate

from ..helpers import HIRING, config

SLIPPERY = {"id": "FrozenLake-v1", "return_range": [0, 1], "kwargs": {"is_slippery": True}}
STILL = {"id": "FrozenLake-v1", "name": "still", "return_range": [0, 1], "kwargs": {"is_slippery": False}}
CLIFF = {"id": "CliffWalking-v1", "return_range": [-2000, 0]}  # no time limit of its own
TAXI = {"id": "Taxi-v4", "return_range": [-2000, 20]}
BANDIT = {
    "id": "lineage_sim/DriftingBandit-v0",
    "kwargs": {"n_arms": 4, "episode_length": 40, "drift_step": 2500, "world_seed": 2},
}
RULED_LAKE = {**SLIPPERY, "constitution": "default"}  # holes forbidden, moving towards one too
RULED_CLIFF = {**CLIFF, "constitution": "default"}
ISLAND = {"id": "lineage_sim/IslandNavigation-v0", "kwargs": {"discrete": True}, "constitution": "default"}
BOAT = {"id": "lineage_sim/BoatRace-v0", "kwargs": {"discrete": True}}
FILES = ("lineage.json", "agents.csv", "summary.json", "batches.csv", "steps.csv", "curves.csv", "phylogeny.csv")


def _archive(envs: list[dict[str, Any]], **kw: Any) -> Any:
    base: dict[str, Any] = {
        "regime": "archive",
        "selector": "uniform",
        "budget": 9000,
        "envs": envs,
        "archive": {"batch_size": 8, "child_budget": 300, "root_budget": 600},
        "operators": {"finetune": 1.0, "mutate": 1.0, "add-tool": 1.0, "new-task": 0.5},
        "caps": {"max_agents": 60, "max_depth": 30},
        "eval": {"episodes": 3, "max_steps": 60},
    }
    base.update(kw)
    return config(**base)


def _same_bytes(cfg: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, least: int = 20) -> list[Any]:
    """Run ``cfg`` on both engines, check every output's bytes; the kernel keys of the groups the
    cohort engine stepped in lock-step."""
    import spawn.life.cohort as cohort

    stepped: list[int] = []  # agent-rounds the kernel stepped: the comparison is not per-agent twice
    keys: list[Any] = []

    def spy(lives: Any, requests: Any) -> None:
        stepped.append(len(lives))
        keys.append(kernel_key(lives[0], requests[0]))
        lockstep_rounds(lives, requests)

    evaluated: list[int] = []
    real_evaluate = cohort.lockstep_evaluate

    def spy_evaluate(lives: Any) -> Any:
        evaluated.append(len(lives))
        return real_evaluate(lives)

    simulate(cfg, tmp_path / "per-agent")
    monkeypatch.setattr(cohort, "lockstep_rounds", spy)
    monkeypatch.setattr(cohort, "lockstep_evaluate", spy_evaluate)
    simulate(cfg.model_copy(update={"engine": "cohort"}), tmp_path / "cohort")
    assert sum(stepped) >= least and min(stepped) >= 4  # narrow groups go the scalar way
    if all(e.get("id") == "FrozenLake-v1" and e.get("constitution") is None for e in cfg.model_dump()["envs"]):
        assert sum(evaluated) >= 10  # and every lake evaluated in lock-step (its success: a threshold)
    for name in FILES if cfg.regime == "archive" else [f for f in FILES if f not in ("batches.csv", "steps.csv")]:
        assert (tmp_path / "cohort" / name).read_bytes() == (tmp_path / "per-agent" / name).read_bytes(), name
    return keys


def _attribute(run: Path, name: str) -> list[float]:
    import json

    nodes = json.loads((run / "lineage.json").read_text())["nodes"]
    return [float(n[name]) for n in nodes if name in n]


@pytest.mark.parametrize(
    "envs",
    [[SLIPPERY], [STILL], [SLIPPERY, STILL], [CLIFF], [TAXI]],
    ids=["slippery", "still", "two-lakes", "cliff", "taxi"],
)
def test_cohort_writes_the_per_agent_bytes(
    envs: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tools (add-tool), mutated hyper-parameters, children switched to q-lambda (no kernel: the
    per-agent path inside the cohort), new tasks, and the drift trigger watching every reward."""
    _same_bytes(_archive(envs), tmp_path, monkeypatch)


def test_cohort_on_the_drifting_bandit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The clocked bandit: children born before and after the drift meet their own world time;
    the drift trigger (river's ADWIN) fed every reward; tools."""
    cfg = _archive([BANDIT], budget=7000)
    keys = _same_bytes(cfg, tmp_path, monkeypatch)
    assert {k[0] for k in keys} == {"DriftingBandit-v0"} and any(k[2] for k in keys)  # with tools too
    assert max(_attribute(tmp_path / "cohort", "birth_time")) > 2500  # some trained after the drift


@pytest.mark.parametrize(
    ("envs", "agent"),
    [
        ([RULED_LAKE], {"objective": "penalised", "penalty_weight": 0.5}),
        ([RULED_LAKE, STILL], {"objective": "lagrangian", "lagrange_lr": 0.2, "cost_limit": 0.5}),
        ([RULED_CLIFF], {"objective": "raw"}),
        ([RULED_LAKE], {"kind": "q-lambda", "lambda": 0.9, "objective": "lagrangian"}),
        ([SLIPPERY, CLIFF], {"step_size": "visits"}),
    ],
    ids=["penalised-lake", "lagrangian-lakes", "raw-cliff", "q-lambda-lagrangian", "visits"],
)
def test_cohort_with_constitutions_objectives_and_learners(
    envs: list[dict[str, Any]], agent: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Constitutions as arrays (violations, cost, the penalty on what is learnt, an adaptive
    multiplier moved at episode ends), goal-drifted children that train without a rule, Watkins's
    Q(lambda) traces and the visit-count step size, all in lock-step."""
    operators = {"finetune": 1.0, "mutate": 1.0, "add-tool": 1.0, "new-task": 0.5, "change-objective": 0.5}
    cfg = _archive(
        envs,
        agent={"kind": "q", "epsilon": 0.2, **agent},
        operators=operators,
        goal_drift={"rules": 2.0},
        archive={"batch_size": 16, "child_budget": 300, "root_budget": 600},
        budget=12_000,
    )
    keys = _same_bytes(cfg, tmp_path, monkeypatch)
    if agent.get("objective") == "penalised":
        assert any(k[4] for k in keys)  # children without a rule, stepped in lock-step too
    if "constitution" in envs[0]:
        assert sum(_attribute(tmp_path / "cohort", "train_violations")) > 0
        assert sum(_attribute(tmp_path / "cohort", "train_cost")) > 0
    if agent.get("kind") == "q-lambda":
        assert {k[3] for k in keys} == {"q-lambda"}
    if agent.get("objective") == "lagrangian":
        assert len(set(_attribute(tmp_path / "cohort", "lagrange_lambda"))) > 3  # the multipliers moved


@pytest.mark.parametrize("envs", [[ISLAND], [BOAT, ISLAND]], ids=["island", "boat-race-and-island"])
def test_cohort_on_the_safety_gridworlds(
    envs: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gridworlds whose state is the agent's cell, from their tables: the engine's own step
    limit, hidden returns and performances, the island's constitution (water), evaluated per agent."""
    cfg = _archive(envs, agent={"kind": "q", "objective": "penalised", "epsilon": 0.2}, budget=8000)
    keys = _same_bytes(cfg, tmp_path, monkeypatch)
    assert {k[0] for k in keys} == {e["id"].split("/")[1] for e in envs}
    assert sum(_attribute(tmp_path / "cohort", "train_cost")) > 0  # some fell into the water


def test_cohort_on_the_quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quickstart: the recursive regime on the bandit (a kernel) with new-task children
    training on Hiring (none) in the same cohorts."""
    from spawn.config import load_config

    cfg = load_config(Path(__file__).parents[3] / "examples" / "quickstart.toml")
    keys = _same_bytes(cfg, tmp_path, monkeypatch, least=12)
    assert {k[0] for k in keys} == {"DriftingBandit-v0"}
    assert "Hiring-v0" in {row.split(",")[2] for row in (tmp_path / "cohort" / "curves.csv").read_text().splitlines()}


def test_cohort_resumes_to_the_per_agent_bytes(tmp_path: Path) -> None:
    """Interrupted twice and resumed (config.toml keeps the engine), the cohort run writes the bytes
    of an uninterrupted per-agent run."""
    from spawn.run.driver import resume

    cfg = _archive([SLIPPERY, BANDIT], budget=6000)
    simulate(cfg, tmp_path / "full")
    cut = simulate(cfg.model_copy(update={"engine": "cohort"}), tmp_path / "cut", stop_after=5)
    assert not cut.complete and not resume(tmp_path / "cut", stop_after=6).complete
    assert resume(tmp_path / "cut").complete
    for name in FILES:
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "full" / name).read_bytes(), name


def test_cohort_mixes_environments_without_a_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _same_bytes(_archive([SLIPPERY, HIRING], budget=5000), tmp_path, monkeypatch)


def test_cohort_in_hgms_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _archive([SLIPPERY], archive={"batch_size": 12, "child_budget": 300, "root_budget": 600, "expand": "ucb-air"})
    _same_bytes(cfg, tmp_path, monkeypatch)


def test_cohort_in_the_recursive_regime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The frontier as the cohort: the root alone (the scalar path), then its children together."""
    cfg = config(
        envs=[SLIPPERY],
        budget=40_000,
        spawn={"round_steps": 200, "triggers": ["schedule", "drift"], "every": 1, "min_child_budget": 200},
        caps={"max_agents": 80, "max_depth": 6},
        eval={"episodes": 3, "max_steps": 60},
    )
    _same_bytes(cfg, tmp_path, monkeypatch)


def _lives(cfg: Any, n: int, task: str = "FrozenLake-v1") -> list[Life]:
    """``n`` roots with their own seeds, some with tools, mutated exploration and step sizes."""
    lives = []
    for i in range(n):
        spec = replace(root_spec(cfg), id=f"0.{i}", parent="0", depth=1, budget=300, quota=0)
        hyper = dict(spec.hyper) | {"epsilon": [0.0, 0.1, 0.5, 1.0][i % 4], "alpha": 0.05 + 0.1 * (i % 3)}
        tools = {task: ((1, 2), (2, 2, 1))} if i % 2 else {}
        lives.append(Life(replace(spec, hyper=hyper, tools=tools), cfg))
    return lives


#: What an environment of each kernel keeps between steps: a lake's cell, a bandit's clock, a
#: gridworld's agent, episode and finished performances.
_ENV_STATE = (
    "s", "lastaction", "clock", "_t", "_best_pulls",
    "agent", "t", "success", "safety", "episode_return", "hidden_return", "episode_performances", "_done",
)


def _world_state(life: Life, task: str) -> tuple[Any, ...]:
    """Everything a round leaves behind in a life: the agent's table, counts, traces and stream,
    the environment's stream and state (a lake's cell, a bandit's clock), its time limit and its
    constitution's last observation, the episode under way, the statistics and the multiplier."""
    agent = life.agent
    assert isinstance(agent, QAgent)
    s = life.session(task)
    core = s.env.unwrapped
    inner = s.env
    while not hasattr(inner, "_elapsed_steps") and hasattr(inner, "env"):
        inner = inner.env
    return (
        agent.q,
        agent.n,
        getattr(agent, "traces", None),
        [agent._uniform() for _ in range(5)],
        core.np_random.bit_generator.state,
        {k: v for k, v in vars(core).items() if k in _ENV_STATE},
        getattr(inner, "_elapsed_steps", None),
        getattr(s.env, "_last_obs", None),
        (s.obs, s.ep_return, s.ep_cost, s.ep_actions, list(s.best)),
        vars(life.stats),
        life.lagrange,
    )


@pytest.mark.parametrize(
    ("env", "agent"),
    [
        (SLIPPERY, {}),
        (SLIPPERY, {"kind": "q-lambda", "lambda": 0.95, "gamma": 0.99}),  # long traces, dropped below 1e-3
        (RULED_LAKE, {"objective": "lagrangian", "lagrange_lr": 0.3, "cost_limit": 0.2, "step_size": "visits"}),
        ({**BANDIT, "kwargs": {**BANDIT["kwargs"], "drift_step": 200}}, {"kind": "q-lambda"}),
        (ISLAND, {"objective": "penalised"}),
        (BOAT, {"kind": "q-lambda"}),
    ],
    ids=["lake", "q-lambda", "ruled-lagrangian-visits", "bandit", "island", "boat-race"],
)
def test_a_lockstep_round_is_the_per_agent_round_in_every_state(env: dict[str, Any], agent: dict[str, Any]) -> None:
    """The same lives, one per agent and one in lock-step, compared after each of three rounds on
    everything the round touches (see ``_world_state``)."""
    spawn = {"round_steps": 137, "triggers": ["schedule"], "every": 1}
    cfg = config(envs=[env], agent={"kind": "q", **agent}, spawn=spawn)
    task = cfg.envs[0].slug
    alone, together = _lives(cfg, 12, task), _lives(cfg, 12, task)
    for _ in range(3):
        asks = [next(life.rounds()) for life in alone]
        for life, ask in zip(alone, asks, strict=True):
            life.train_round(ask)
        groups: dict[Any, list[int]] = {}
        for i, life in enumerate(together):
            groups.setdefault(kernel_key(life, asks[i]), []).append(i)
        assert None not in groups and len(groups) == 2  # with and without tools
        for members in groups.values():
            lockstep_rounds([together[i] for i in members], [asks[i] for i in members])
        for a, b in zip(alone, together, strict=True):
            assert _world_state(a, task) == _world_state(b, task)
    assert sum(life.stats.episodes for life in alone) > 3
    if "constitution" in env:
        assert sum(life.stats.violations + life.stats.cost for life in alone) > 0
    if agent.get("objective") == "lagrangian":
        assert len({life.lagrange for life in alone}) > 3


def test_a_lockstep_evaluation_is_the_per_agent_evaluation() -> None:
    """After training (some agents with tools, some never trained on the second lake), the lock-step
    evaluation's metrics are evaluate's, and so is the record each life finishes with."""
    from spawn.life.cohort import evaluation_kernel, lockstep_evaluate
    from spawn.life.evaluate import evaluate

    cfg = config(envs=[SLIPPERY, STILL], spawn={"round_steps": 150, "triggers": ["schedule"], "every": 1})
    lives = _lives(cfg, 9)
    for life in lives:
        life.train()
    assert all(evaluation_kernel(life) for life in lives)
    done = lockstep_evaluate(lives)
    for life, metrics in zip(lives, done, strict=True):
        ev = evaluate(copy.deepcopy(life.agent), life.spec, life.suite, cfg, life.eval_rng(), clock=0)
        got = evaluate(copy.deepcopy(life.agent), life.spec, life.suite, cfg, life.eval_rng(), clock=0, done=metrics)
        assert got == ev


@pytest.mark.parametrize(
    ("evaluation", "extra"),
    [
        ({"episodes": 3, "max_steps": 100}, {}),
        ({"episodes": 2, "max_steps": 25}, {}),  # cut before the episode ends: no success said
        ({"episodes": 2, "max_steps": 100}, {"success_threshold": 24}),  # the config's threshold instead
    ],
    ids=["whole-episodes", "cut", "threshold"],
)
def test_a_lockstep_bandit_evaluation_is_the_per_agent_evaluation(
    evaluation: dict[str, int], extra: dict[str, Any]
) -> None:
    """The drifting bandit evaluated in lock-step: each agent at its own world time (some born before
    the drift, some after, some drifting within an episode), tools, successes by info or threshold."""
    from spawn.life.cohort import evaluation_kernel, lockstep_evaluate
    from spawn.life.evaluate import evaluate

    bandit = BANDIT | {"kwargs": {**BANDIT["kwargs"], "drift_step": 400}} | extra
    cfg = config(envs=[bandit], eval=evaluation, spawn={"round_steps": 100, "triggers": []})
    lives = []
    for i, life in enumerate(_lives(cfg, 10, task="DriftingBandit-v0")):
        life.spec = replace(life.spec, birth_time=45 * i)  # world times 300 to 705 after training
        lives.append(life)
    for life in lives:
        life.train()
    assert all(evaluation_kernel(life) for life in lives)
    done = lockstep_evaluate(lives)
    successes = 0
    for life, metrics in zip(lives, done, strict=True):
        clock = life.spec.birth_time + life.stats.steps
        spec, suite = life.spec, life.suite
        ev = evaluate(copy.deepcopy(life.agent), spec, suite, cfg, life.eval_rng(), clock=clock)
        got = evaluate(copy.deepcopy(life.agent), spec, suite, cfg, life.eval_rng(), clock=clock, done=metrics)
        assert got == ev
        successes += int(ev.attributes["successes"])
    if evaluation["max_steps"] < 40 and not extra:
        assert successes == 0
    else:
        assert 0 < successes < 10 * evaluation["episodes"]  # the counts are not all one way


def test_run_cohort_gives_run_agents_results_in_order() -> None:
    cfg = _archive([SLIPPERY])
    specs = [replace(root_spec(cfg), id=f"0.{i}", parent="0", depth=1, budget=300, quota=0) for i in range(5)]
    got = run_cohort(specs, cfg)
    want = [run_agent(s, cfg) for s in specs]
    assert [r.record for r in got] == [r.record for r in want]
    assert [r.final for r in got] == [r.final for r in want]


def test_a_failing_life_fails_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """An agent whose life raises is recorded as failed, as on the per-agent path; the others run."""
    cfg = _archive([SLIPPERY])
    specs = [replace(root_spec(cfg), id=f"0.{i}", parent="0", depth=1, budget=300, quota=0) for i in range(3)]
    real = QAgent.update

    def update(self: QAgent, *args: Any) -> None:
        if self.hyper.get("epsilon") == 0.5:
            raise RuntimeError("boom")
        real(self, *args)

    monkeypatch.setattr(QAgent, "update", update)
    specs[1] = replace(specs[1], hyper=dict(specs[1].hyper) | {"epsilon": 0.5, "softmax": 1.0})  # per-agent path
    got = run_cohort(specs, cfg)
    assert "boom" in got[1].record.attributes["error"]
    assert "error" not in got[0].record.attributes and "error" not in got[2].record.attributes
    assert [r.record for r in got] == [r.record for r in (run_agent(s, cfg) for s in copy.deepcopy(specs))]


def test_engine_is_config_and_command_line() -> None:
    cfg = _archive([SLIPPERY])
    assert "engine" not in config_to_toml(cfg)
    assert 'engine = "cohort"' in config_to_toml(cfg.model_copy(update={"engine": "cohort"}))
    with pytest.raises(ConfigError, match="engine"):
        config(engine="lockstep")


def test_kernel_refuses_what_it_cannot_step() -> None:
    cfg = config(envs=[SLIPPERY, HIRING])
    life = _lives(cfg, 1)[0]
    from spawn.life.job import RoundRequest

    assert kernel_key(life, RoundRequest("FrozenLake-v1", 10, None, 0.95)) == ("FrozenLake-v1", 10, 0, "q", ())
    assert kernel_key(life, RoundRequest("Hiring-v0", 10, None, 0.95)) is None
    soft = Life(replace(root_spec(cfg), hyper=dict(root_spec(cfg).hyper) | {"softmax": 1.0}), cfg)
    assert kernel_key(soft, RoundRequest("FrozenLake-v1", 10, None, 0.95)) is None
    # a gridworld with more state than the agent's cell (a supervisor drawn per episode): no table
    watched = config(envs=[{"id": "lineage_sim/AbsentSupervisor-v0", "kwargs": {"discrete": True}}, ISLAND])
    life = Life(root_spec(watched), watched)
    assert kernel_key(life, RoundRequest("AbsentSupervisor-v0", 10, None, 0.95)) is None
    assert kernel_key(life, RoundRequest("IslandNavigation-v0", 10, None, 0.95)) is not None
    shielded = config(envs=[ISLAND], agent={"objective": "shielded"})  # the shield masks actions: per agent
    assert kernel_key(Life(root_spec(shielded), shielded), RoundRequest("IslandNavigation-v0", 10, None, 0.95)) is None


def test_run_engine_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``lineage-sim run --engine cohort`` records the engine in config.toml and writes the per-agent
    lineage; a bad engine is one line, exit 2."""
    from spawn.cli import main

    from ..helpers import BASE

    cfg = tmp_path / "c.toml"
    cfg.write_text(BASE + '\n[eval]\nepisodes = 2\nmax_steps = 40\n', encoding="utf-8")
    assert main(["run", str(cfg), "--out", str(tmp_path / "p"), "--quiet"]) == 0
    assert main(["run", str(cfg), "--out", str(tmp_path / "c"), "--quiet", "--engine", "cohort"]) == 0
    assert 'engine = "cohort"' in (tmp_path / "c" / "config.toml").read_text()
    assert (tmp_path / "c" / "lineage.json").read_bytes() == (tmp_path / "p" / "lineage.json").read_bytes()
    assert main(["run", str(cfg), "--out", str(tmp_path / "x"), "--quiet", "--engine", "lockstep"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'lockstep'" in err[0] and "cohort" in err[0]
    assert not (tmp_path / "x").exists()
