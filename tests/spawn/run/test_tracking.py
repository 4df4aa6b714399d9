"""Tracking: TensorBoard event files (read back with TensorBoard's own reader) and the MLflow path,
beside runs, sweeps and resumed runs, never changing a byte of the run."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea

from lineage import LineageGraph
from spawn.cli import main
from spawn.config import TrackingConfig
from spawn.run import tracking as tracking_mod
from spawn.run.driver import resume, simulate
from spawn.run.tracking import MARKER, read_events

from ..helpers import config


def _tracked(tmp_path: Path, **overrides: Any) -> Any:
    return config(tracking={"tensorboard": str(tmp_path / "tb")}, **overrides)


def _scalars(path: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag of the TensorBoard run in ``path``, read with TensorBoard's event accumulator."""
    acc = ea.EventAccumulator(str(path), size_guidance={ea.SCALARS: 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _f32(x: float) -> float:
    return float(np.float32(x))


def _run_bytes(out: Path) -> dict[str, bytes]:
    """Every file of a run directory but its wall-clock ones (timing.json, the checkpoint's segments)."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "timing.json" and "checkpoint" not in p.parts
    }


def _curves(out: Path) -> list[dict[str, str]]:
    with (out / "curves.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def _check_against_run(tb: Path, out: Path, agent_runs: int = 100) -> None:
    """The event files in ``tb`` hold exactly what the run in ``out`` wrote, agent by agent."""
    g = LineageGraph.load(out / "lineage.json")
    ids = g.id_range()
    s = _scalars(tb)
    values = g.values("value")
    assert s["agents/value"] == [(i, _f32(v)) for i, v in enumerate(values)]
    assert s["agents/train_steps"] == [(i, float(t)) for i, t in enumerate(g.values("train_steps"))]
    world = np.cumsum(g.values("train_steps")).tolist()
    best = np.maximum.accumulate(values).tolist()
    deepest = np.maximum.accumulate([g.depth(a) for a in ids]).tolist()
    if b'expand = "ucb-air"' in (out / "config.toml").read_bytes():
        # HGM's loop: the best value so far is of the values agents joined with, which change later
        assert [w for w, _ in s["run/best_value"]] == world
        assert np.all(np.diff([b for _, b in s["run/best_value"]]) >= 0)
    else:
        assert s["run/best_value"] == [(w, _f32(b)) for w, b in zip(world, best, strict=True)]
    assert s["run/depth"] == [(w, float(d)) for w, d in zip(world, deepest, strict=True)]
    assert s["run/population"] == [(w, float(i + 1)) for i, w in enumerate(world)]
    assert [v for _, v in s["run/alive"]][-1] == 0.0  # none alive once the run is done
    # every agent's curve, end to end in world time (curves.csv is in the lineage's order too)
    start = dict(zip(ids, [0, *world[:-1]], strict=True))
    rows = [r for r in _curves(out) if r["return"] != ""]
    assert s["curves/return"] == [(start[r["id"]] + int(r["steps"]), _f32(float(r["return"]))) for r in rows]
    # the first agents, one TensorBoard run each
    runs = sorted(p.name for p in (tb / "agents").iterdir())
    assert runs == sorted(ids[:agent_runs])
    for a in ids[: min(agent_runs, 3)]:
        one = _scalars(tb / "agents" / a)
        mine = [r for r in rows if r["id"] == a]
        assert one["curve/return"] == [(int(r["steps"]), _f32(float(r["return"]))) for r in mine]
        assert one["final/value"] == [(int(g.get(a, "train_steps")), _f32(g.get(a, "value")))]
        assert one["final/return"][0][1] == _f32(g.get(a, "return"))


def test_a_tracked_run_holds_every_agent_and_the_run_scalars(tmp_path: Path) -> None:
    simulate(_tracked(tmp_path), tmp_path / "r")
    _check_against_run(tmp_path / "tb", tmp_path / "r")
    assert json.loads((tmp_path / "tb" / MARKER).read_text())["run"] == str((tmp_path / "r").resolve())


def test_tracking_changes_no_byte_of_the_run(tmp_path: Path) -> None:
    simulate(config(), tmp_path / "plain")
    simulate(_tracked(tmp_path), tmp_path / "tracked")
    plain, tracked = _run_bytes(tmp_path / "plain"), _run_bytes(tmp_path / "tracked")
    assert plain.keys() == tracked.keys() and plain == tracked  # config.toml too: no [tracking]
    assert b"tracking" not in tracked["config.toml"]


def test_the_archive_regime_is_tracked_in_the_order_agents_joined(tmp_path: Path) -> None:
    cfg = _tracked(
        tmp_path,
        regime="archive",
        selector="uniform",
        archive={"batch_size": 3, "child_budget": 200, "root_budget": 300},
        caps={"max_agents": 10},
    )
    simulate(cfg, tmp_path / "r")
    _check_against_run(tmp_path / "tb", tmp_path / "r")


def test_under_hgms_loop_the_final_metrics_are_those_the_run_ends_with(tmp_path: Path) -> None:
    """expand = "ucb-air": an agent's value changes after it joins; agents/* and final/* hold the last."""
    cfg = _tracked(
        tmp_path,
        regime="archive",
        selector="hgm",
        archive={"batch_size": 2, "child_budget": 200, "root_budget": 300, "expand": "ucb-air"},
        caps={"max_agents": 8},
    )
    simulate(cfg, tmp_path / "r")
    _check_against_run(tmp_path / "tb", tmp_path / "r")
    assert len(list((tmp_path / "tb" / "agents" / "0").glob("events.out.tfevents.*"))) == 2  # curve, then final


def test_agent_runs_caps_the_agents_given_a_tensorboard_run(tmp_path: Path) -> None:
    cfg = config(tracking={"tensorboard": str(tmp_path / "tb"), "agent_runs": 2})
    simulate(cfg, tmp_path / "r")
    _check_against_run(tmp_path / "tb", tmp_path / "r", agent_runs=2)
    simulate(config(tracking={"tensorboard": str(tmp_path / "tb0"), "agent_runs": 0}), tmp_path / "r0")
    assert not (tmp_path / "tb0" / "agents").exists()


@pytest.mark.parametrize("first", [True, False], ids=["tracked-then-resumed", "untracked-then-resumed"])
def test_a_resumed_run_writes_its_tracking_afresh_without_duplicates(tmp_path: Path, first: bool) -> None:
    cfg = config()
    simulate(cfg, tmp_path / "full")
    cut = _tracked(tmp_path) if first else cfg
    simulate(cut, tmp_path / "cut", stop_after=3)
    if first:  # what the checkpoint holds is tracked already
        assert len(_scalars(tmp_path / "tb")["agents/value"]) >= 1
    again = resume(tmp_path / "cut", stop_after=2, tracking=TrackingConfig(tensorboard=str(tmp_path / "tb")))
    assert not again.complete
    resume(tmp_path / "cut", tracking=TrackingConfig(tensorboard=str(tmp_path / "tb")))
    assert _run_bytes(tmp_path / "cut") == _run_bytes(tmp_path / "full")
    _check_against_run(tmp_path / "tb", tmp_path / "cut")
    assert len(list((tmp_path / "tb").glob("events.out.tfevents.*"))) == 1


def test_a_resume_does_not_write_over_another_runs_tracking(tmp_path: Path) -> None:
    from spawn.errors import RunDirError

    simulate(_tracked(tmp_path), tmp_path / "other")
    simulate(config(), tmp_path / "cut", stop_after=3)
    before = sorted(p.name for p in (tmp_path / "tb").rglob("*"))
    with pytest.raises(RunDirError, match="holds another run's events"):
        resume(tmp_path / "cut", tracking=TrackingConfig(tensorboard=str(tmp_path / "tb")))
    assert sorted(p.name for p in (tmp_path / "tb").rglob("*")) == before
    resume(tmp_path / "cut")  # and the run itself is as it was: it resumes


def test_a_tracked_run_resumes_without_tracking(tmp_path: Path) -> None:
    simulate(config(), tmp_path / "full")
    simulate(_tracked(tmp_path), tmp_path / "cut", stop_after=3)
    resume(tmp_path / "cut")  # the digest has no [tracking]: the checkpoint is the same run's
    assert _run_bytes(tmp_path / "cut") == _run_bytes(tmp_path / "full")


@pytest.mark.parametrize("how", ["config", "flag"])
def test_a_sweep_tracks_every_arm_and_seed_in_its_own_subdirectory(tmp_path: Path, how: str) -> None:
    tb = tmp_path / "tb"
    sweep = {"agent.objective": ["raw", "penalised"], "seeds": [1, 2]}
    if how == "config":
        cfg, flags = config(sweep=sweep, tracking={"tensorboard": str(tb)}), []
    else:
        cfg, flags = config(sweep=sweep), ["--tensorboard", str(tb)]
    assert main(["run", _toml(tmp_path, cfg), "--out", str(tmp_path / "s"), "--quiet", *flags]) == 0
    for arm in ("objective=raw", "objective=penalised"):
        for seed in (1, 2):
            _check_against_run(tb / arm / f"seed-{seed}", tmp_path / "s" / arm / f"seed-{seed}")
    assert (tb / MARKER).is_file() and not list(tb.glob("events.out.tfevents.*"))


def test_an_interrupted_sweep_resumes_with_its_tracking(tmp_path: Path) -> None:
    from spawn.api import resume_output
    from spawn.experiments import sweep as sweep_mod

    tb = tmp_path / "tb"
    cfg = config(sweep={"seeds": [1, 2]}, tracking={"tensorboard": str(tb)})
    real = sweep_mod.run_arms

    def interrupted(out: Path, arm_list: Any, **kw: Any) -> None:
        real(out, [a.__class__(a.name, a.settings, a.config, a.seeds[:1]) for a in arm_list], **kw)
        raise KeyboardInterrupt

    sweep_mod.run_arms = interrupted  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            sweep_mod.run_sweep(cfg, tmp_path / "s")
    finally:
        sweep_mod.run_arms = real
    assert (tb / "base" / "seed-1").is_dir() and not (tb / "base" / "seed-2").exists()
    resume_output(tmp_path / "s", tracking=TrackingConfig(tensorboard=str(tb)))
    for seed in (1, 2):
        _check_against_run(tb / "base" / f"seed-{seed}", tmp_path / "s" / "base" / f"seed-{seed}")


def _toml(tmp_path: Path, cfg: Any) -> str:
    from spawn.config import config_to_toml

    text = config_to_toml(cfg)
    if cfg.tracking.tensorboard:
        text += f'\n[tracking]\ntensorboard = "{cfg.tracking.tensorboard}"\n'
    path = tmp_path / "c.toml"
    path.write_text(text)
    return str(path)


def test_the_command_line_tracks_run_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = _toml(tmp_path, config())
    out, tb = tmp_path / "r", tmp_path / "tb"
    assert main(["run", conf, "--out", str(out), "--quiet", "--tensorboard", str(tb)]) == 0
    _check_against_run(tb, out)
    # once more into the same directory: refused without --force, replaced with it
    assert main(["run", conf, "--out", str(tmp_path / "r2"), "--quiet", "--tensorboard", str(tb)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds an earlier run's events" in err[0] and "--force" in err[0]
    assert not (tmp_path / "r2").exists()
    simulate(config(), tmp_path / "cut", stop_after=3)
    assert main(["resume", str(tmp_path / "cut"), "--quiet", "--tensorboard", str(tb)]) == 2  # r's
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds another run's events" in err[0]
    assert main(["resume", str(tmp_path / "cut"), "--quiet", "--tensorboard", str(tmp_path / "tb-cut")]) == 0
    _check_against_run(tmp_path / "tb-cut", tmp_path / "cut")


@pytest.mark.parametrize(
    ("make", "args", "expected"),
    [
        (lambda p: p.write_text("x"), ("--tensorboard", "{tb}"), "is not a directory"),
        (lambda p: (p.mkdir(), (p / "mine.txt").write_text("x")), ("--tensorboard", "{tb}"), "is not empty"),
        (lambda p: None, ("--tensorboard", "{out}/tb"), "is inside the run directory"),
        (lambda p: None, ("--tensorboard", ""), "--tensorboard: '' is not a directory path"),
        (lambda p: p.write_text("x"), ("--mlflow", "{tb}"), "[tracking] mlflow"),
        (lambda p: None, ("--mlflow", "{out}/ml"), "[tracking] mlflow '"),
    ],
    ids=["a-file", "not-empty", "inside-the-run", "empty-path", "mlflow-a-file", "mlflow-inside-the-run"],
)
def test_a_bad_tracking_directory_is_refused_in_one_line_writing_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, args: tuple[str, ...], expected: str
) -> None:
    tb, out = tmp_path / "tb", tmp_path / "out"
    make(tb)
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = [a.format(tb=tb, out=out) for a in args]
    assert main(["run", _toml(tmp_path, config()), "--out", str(out), "--quiet", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "c.toml"])


def test_a_bad_tracking_key_is_one_config_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ..helpers import BASE, refused

    bad_key = BASE + '[tracking]\ntensorbord = "tb"\n'
    refused(tmp_path, capsys, bad_key, "unknown key 'tracking.tensorbord'", "did you mean 'tensorboard'")
    refused(tmp_path, capsys, BASE + "[tracking]\nagent_runs = -1\n", "tracking.agent_runs = -1")
    refused(tmp_path, capsys, BASE + '[sweep]\n"tracking.tensorboard" = ["a", "b"]\n', "tracking is not a setting")


def test_a_failed_run_removes_its_tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tracking_mod.Tracker.add
    calls = []

    def failing(self: Any, records: Any, depths: Any) -> None:
        calls.append(len(records))
        real(self, records, depths)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(tracking_mod.Tracker, "add", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        simulate(_tracked(tmp_path), tmp_path / "r", checkpoint_agents=2)
    assert not (tmp_path / "tb").exists() and not (tmp_path / "r").exists()


def test_read_events_agrees_with_tensorboard(tmp_path: Path) -> None:
    simulate(_tracked(tmp_path), tmp_path / "r")
    (path,) = (tmp_path / "tb").glob("events.out.tfevents.*")
    ours = [(step, tag, _f32(v)) for step, values in read_events(path) for tag, v in values.items()]
    theirs = _scalars(tmp_path / "tb")
    for tag, points in theirs.items():
        assert [(s, v) for s, t, v in ours if t == tag] == points


def test_mlflow_missing_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    out = tmp_path / "out"
    assert main(["run", _toml(tmp_path, config()), "--out", str(out), "--quiet", "--mlflow", str(tmp_path / "ml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'pip install -e ".[mlflow]"' in err[0]
    assert not out.exists() and not (tmp_path / "ml").exists()


def _mlflow_runs(store: Path) -> dict[str, dict[str, Any]]:
    """Every MLflow run of the local store, read back with MLflow's own client: its status, params
    and every metric's history as (step, value) pairs."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store.resolve().as_uri())
    (experiment,) = [e for e in client.search_experiments() if e.name == "lineage-sim"]
    out: dict[str, dict[str, Any]] = {}
    for run in client.search_runs([experiment.experiment_id]):
        history = {
            key: sorted((m.step, _f32(m.value)) for m in client.get_metric_history(run.info.run_id, key))
            for key in run.data.metrics
        }
        out[run.info.run_name] = {
            "status": run.info.status,
            "params": dict(run.data.params),
            "out": run.data.tags.get("lineage_sim.out"),
            "metrics": history,
        }
    return out


def test_the_mlflow_store_holds_what_tensorboard_gets(tmp_path: Path) -> None:
    """A real local MLflow file store (mlflow-skinny, in the test extra): the same scalars at the same
    steps as the run's TensorBoard file, one MLflow run per run, its settings as params; a resumed
    run's earlier MLflow run is replaced, not added to."""
    cfg = config(tracking={"tensorboard": str(tmp_path / "tb"), "mlflow": str(tmp_path / "ml")})
    simulate(cfg, tmp_path / "r")
    runs = _mlflow_runs(tmp_path / "ml")
    assert list(runs) == ["r"]
    run = runs["r"]
    assert run["status"] == "FINISHED" and run["out"] == str((tmp_path / "r").resolve())
    assert run["params"] == {"seed": "3", "regime": "recursive", "selector": "dgm", "engine": "per-agent",
                             "budget": "3000"}
    assert run["metrics"] == {tag: sorted(points) for tag, points in _scalars(tmp_path / "tb").items()}
    simulate(config(), tmp_path / "cut", stop_after=3)
    tracking = TrackingConfig(mlflow=str(tmp_path / "ml"))
    resume(tmp_path / "cut", stop_after=2, tracking=tracking)
    resume(tmp_path / "cut", tracking=tracking)
    assert sorted((name, r["status"]) for name, r in _mlflow_runs(tmp_path / "ml").items()) == [
        ("cut", "FINISHED"),
        ("r", "FINISHED"),
    ]


def test_the_python_api_tracks_simulate_and_resume(tmp_path: Path) -> None:
    import spawn
    from spawn.errors import ConfigError

    data = {
        "seed": 3,
        "budget": 3000,
        "envs": [{"id": "FrozenLake-v1", "return_range": [0, 1], "kwargs": {"is_slippery": False}}],
        "spawn": {"round_steps": 100, "triggers": ["schedule"], "every": 1, "min_child_budget": 100},
        "eval": {"episodes": 2, "max_steps": 50},
    }
    spawn.simulate({**data, "tracking": {"tensorboard": str(tmp_path / "tb")}}, tmp_path / "r")
    _check_against_run(tmp_path / "tb", tmp_path / "r")
    simulate(config(), tmp_path / "cut", stop_after=3)
    expected = r"unknown key 'tracking.tensorbord' \(did you mean 'tensorboard'\?\); accepted keys: tensorboard,"
    with pytest.raises(ConfigError, match=expected):
        spawn.resume(tmp_path / "cut", tracking={"tensorbord": "x"})
    spawn.resume(tmp_path / "cut", tracking={"tensorboard": str(tmp_path / "tb2")})
    _check_against_run(tmp_path / "tb2", tmp_path / "cut")


def _hparams(path: Path) -> tuple[dict[str, Any], list[str], bool]:
    """What TensorBoard's HParams plugin reads from the run in ``path``: its settings, the metrics
    the experiment names, and whether the session ended."""
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.plugins.hparams import plugin_data_pb2

    acc = pea.EventAccumulator(str(path), size_guidance={pea.TENSORS: 0})
    acc.Reload()
    content = acc.PluginTagToContent("hparams")
    data = {tag: plugin_data_pb2.HParamsPluginData.FromString(c) for tag, c in content.items()}
    start = data["_hparams_/session_start_info"].session_start_info
    settings: dict[str, Any] = {}
    for k, v in start.hparams.items():
        kind = v.WhichOneof("kind")
        settings[k] = getattr(v, kind)
    metrics = [m.name.tag for m in data["_hparams_/experiment"].experiment.metric_infos]
    return settings, metrics, "_hparams_/session_end_info" in data


def test_the_hparams_dashboard_lists_a_sweeps_runs_with_their_settings(tmp_path: Path) -> None:
    tb = tmp_path / "tb"
    cfg = config(sweep={"agent.objective": ["raw", "penalised"], "seeds": [1, 2]}, tracking={"tensorboard": str(tb)})
    assert main(["run", _toml(tmp_path, cfg), "--out", str(tmp_path / "s"), "--quiet"]) == 0
    settings, metrics, ended = _hparams(tb / "objective=penalised" / "seed-2")
    assert settings == {
        "agent.objective": "penalised",
        "seed": 2.0,
        "regime": "recursive",
        "selector": "dgm",
        "engine": "per-agent",
        "budget": 3000.0,
    }
    assert metrics == ["run/best_value", "run/population", "run/depth"] and ended
    simulate(config(), tmp_path / "cut", stop_after=3)  # an interrupted session has not ended
    resume(tmp_path / "cut", stop_after=2, tracking=TrackingConfig(tensorboard=str(tmp_path / "tb2")))
    assert _hparams(tmp_path / "tb2")[0]["seed"] == 3.0 and not _hparams(tmp_path / "tb2")[2]
