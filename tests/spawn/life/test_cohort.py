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


def _same_bytes(cfg: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import spawn.life.cohort as cohort

    stepped: list[int] = []  # agent-rounds the kernel stepped: the comparison is not per-agent twice

    def spy(lives: Any, requests: Any) -> None:
        stepped.append(len(lives))
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
    assert sum(stepped) >= 20 and min(stepped) >= 4  # narrow groups go the scalar way
    if all(e.get("id") == "FrozenLake-v1" for e in cfg.model_dump()["envs"]):
        assert sum(evaluated) >= 10  # and every lake evaluated in lock-step (its success: a threshold)
    for name in FILES if cfg.regime == "archive" else [f for f in FILES if f not in ("batches.csv", "steps.csv")]:
        assert (tmp_path / "cohort" / name).read_bytes() == (tmp_path / "per-agent" / name).read_bytes(), name


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


def _lives(cfg: Any, n: int) -> list[Life]:
    """``n`` roots with their own seeds, some with tools, mutated exploration and step sizes."""
    lives = []
    for i in range(n):
        spec = replace(root_spec(cfg), id=f"0.{i}", parent="0", depth=1, budget=300, quota=0)
        hyper = dict(spec.hyper) | {"epsilon": [0.0, 0.1, 0.5, 1.0][i % 4], "alpha": 0.05 + 0.1 * (i % 3)}
        tools = {"FrozenLake-v1": ((1, 2), (2, 2, 1))} if i % 2 else {}
        lives.append(Life(replace(spec, hyper=hyper, tools=tools), cfg))
    return lives


def test_a_lockstep_round_is_the_per_agent_round_in_every_state() -> None:
    """The same lives, one per agent and one in lock-step, compared after each of three rounds on
    everything the round touches: Q-tables, the agent's and the environment's random streams, the
    lake's state and time limit, the episode under way, its actions and the statistics."""
    cfg = config(envs=[SLIPPERY], spawn={"round_steps": 137, "triggers": ["schedule"], "every": 1})
    alone, together = _lives(cfg, 12), _lives(cfg, 12)
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
            assert isinstance(a.agent, QAgent) and isinstance(b.agent, QAgent)
            assert a.agent.q == b.agent.q
            assert [a.agent._uniform() for _ in range(5)] == [b.agent._uniform() for _ in range(5)]
            sa, sb = a.session("FrozenLake-v1"), b.session("FrozenLake-v1")
            ea, eb = sa.env, sb.env
            assert ea.unwrapped.np_random.bit_generator.state == eb.unwrapped.np_random.bit_generator.state
            assert (ea.unwrapped.s, ea.unwrapped.lastaction) == (eb.unwrapped.s, eb.unwrapped.lastaction)
            assert ea._elapsed_steps == eb._elapsed_steps  # type: ignore[attr-defined]
            assert (sa.obs, sa.ep_return, sa.ep_actions) == (sb.obs, sb.ep_return, sb.ep_actions)
            assert list(sa.best) == list(sb.best)
            assert (a.stats.steps, a.stats.episodes) == (b.stats.steps, b.stats.episodes)
            assert a.stats.returns == b.stats.returns


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

    assert kernel_key(life, RoundRequest("FrozenLake-v1", 10, None, 0.95)) == ("FrozenLake-v1", 10, 0)
    assert kernel_key(life, RoundRequest("Hiring-v0", 10, None, 0.95)) is None
    soft = Life(replace(root_spec(cfg), hyper=dict(root_spec(cfg).hyper) | {"softmax": 1.0}), cfg)
    assert kernel_key(soft, RoundRequest("FrozenLake-v1", 10, None, 0.95)) is None


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
