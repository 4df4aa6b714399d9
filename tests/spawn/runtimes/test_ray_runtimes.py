"""The Ray runtimes on one local Ray: identical bytes, faults, errors, resume, the command line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from spawn.cli import main
from spawn.config import SimConfig, config_to_toml
from spawn.life.job import AgentSpec, JobResult, run_agent
from spawn.run.driver import resume, simulate
from spawn.run.outputs import OUTPUT_FILES
from spawn.runtimes import AttemptsExhaustedError, RayRuntimeError, make_ray_actors, make_ray_shards
from spawn.runtimes.faults import kill_point
from spawn.runtimes.ray_actors import KILL_POINTS

from ..helpers import config

__all__: list[str] = []

# Every deterministic output (timing.json holds wall-clock facts), and the rules' credit.
FILES = (*(f for f in OUTPUT_FILES if f != "timing.json"), "attribution.csv")


def small() -> SimConfig:
    """Six agents, three generations: enough to nest actors, small enough for 2 cores."""
    return config(
        budget=1500,
        caps={"max_agents": 6, "max_depth": 2},
        spawn={"max_children": 2},
        attribution={"rules": ["self", "clade-sum"]},
    )


def outputs(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in FILES if (out / name).exists()}


def raising_job(spec: AgentSpec, cfg: SimConfig) -> JobResult:
    """``run_agent``, but agent ``0.1`` raises (user code failing, not a crash)."""
    if spec.id == "0.1":
        raise ValueError("policy exploded in agent 0.1")
    return run_agent(spec, cfg)


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("inline") / "run"
    simulate(small(), out)
    data = outputs(out)
    assert "attribution.csv" in data
    return data


def test_import_spawn_leaves_ray_out() -> None:
    code = (
        "import sys; import lineage, envs, attribution, spawn; import spawn.cli; import spawn.run.driver; "
        "import spawn.runtimes; sys.exit('ray' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.ray
def test_same_bytes_on_every_runtime_and_shard_count(
    ray_session: None, reference: dict[str, bytes], tmp_path: Path
) -> None:
    import ray

    runs = {
        "actors": make_ray_actors(),
        "shards1": make_ray_shards(shards=1),
        "shards2": make_ray_shards(shards=2, slice_seconds=1e-6),  # one agent per call: most interleaving
        "shards4": make_ray_shards(shards=4),
    }
    for name, executor in runs.items():
        outcome = simulate(small(), tmp_path / name, executor)
        assert outputs(tmp_path / name) == reference, name
        assert outcome.lineage is not None
        assert outcome.where["session"] == "reused" and outcome.where["nodes"] == 1
        assert sum(outcome.where["agents_per_node"].values()) == len(outcome.lineage)
        assert ray.is_initialized(), "a reused session is left running"
    assert runs["shards4"].where()["shard_cpus"] == 0.5  # four shards fit on two CPUs


def _survives(cfg: SimConfig, ids: list[str], points: int, attempts: range, prob: float) -> bool:
    """No agent is killed on every one of ``attempts`` (so injected faults cannot exhaust the run)."""
    return all(any(kill_point(cfg.seed, a, k, prob, points) is None for k in attempts) for a in ids)


@pytest.mark.ray
def test_killed_actors_are_replayed_to_the_same_lineage(
    ray_session: None, reference: dict[str, bytes], tmp_path: Path
) -> None:
    cfg, prob = small(), 0.4
    ids = [line.split(",")[0] for line in reference["agents.csv"].decode().splitlines()[1:]]
    assert _survives(cfg, ids, KILL_POINTS, range(1, 5), prob)
    assert sum(kill_point(cfg.seed, a, 1, prob, KILL_POINTS) is not None for a in ids) >= 2
    outcome = simulate(cfg, tmp_path / "r", make_ray_actors(kill_prob=prob, max_attempts=4))
    assert outputs(tmp_path / "r") == reference
    assert outcome.where["actor_deaths"] >= 2


@pytest.mark.ray
def test_killed_shards_are_replayed_to_the_same_lineage(
    ray_session: None, reference: dict[str, bytes], tmp_path: Path
) -> None:
    cfg, prob = small(), 0.4
    executor = make_ray_shards(shards=2, kill_prob=prob, max_attempts=4, slice_seconds=1e-6)
    ids = [line.split(",")[0] for line in reference["agents.csv"].decode().splitlines()[1:]]
    # After one death in a batch, an agent runs alone (two kill points) on attempts 2, 3, 4.
    assert _survives(cfg, ids, 2, range(2, 5), prob)
    outcome = simulate(cfg, tmp_path / "r", executor)
    assert outputs(tmp_path / "r") == reference
    assert outcome.where["shard_deaths"] >= 1


@pytest.mark.ray
def test_exhausted_attempts_fail_with_one_line_naming_the_agent(
    ray_session: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = small()
    prob = 0.9
    assert kill_point(cfg.seed, "0", 1, prob, 2) is not None  # the root's only attempt dies
    path = tmp_path / "c.toml"
    path.write_text(config_to_toml(cfg))
    argv = [
        "run",
        str(path),
        "--out",
        str(tmp_path / "r"),
        "--quiet",
        "--runtime",
        "ray-shards",
        "--shards",
        "1",
    ]
    assert main([*argv, "--kill-prob", str(prob), "--max-attempts", "1"]) == 2
    ours = [line for line in capsys.readouterr().err.splitlines() if line.startswith("lineage-sim")]
    assert len(ours) == 1 and "agent 0:" in ours[0] and "1 attempts" in ours[0]
    with pytest.raises(AttemptsExhaustedError, match="agent 0:"):
        simulate(cfg, tmp_path / "a", make_ray_actors(kill_prob=prob, max_attempts=1), force=True)


@pytest.mark.ray
@pytest.mark.parametrize("runtime", [make_ray_actors, make_ray_shards])
def test_user_exceptions_surface_as_themselves(ray_session: None, tmp_path: Path, runtime: object) -> None:
    executor = runtime(job=raising_job, max_attempts=4)  # type: ignore[operator]
    with pytest.raises(ValueError, match=r"policy exploded in agent 0\.1"):
        simulate(small(), tmp_path / "r", executor)
    deaths = executor.where().get("actor_deaths", executor.where().get("shard_deaths"))
    assert deaths == 0  # not retried


@pytest.mark.ray
def test_interrupted_run_resumes_on_another_runtime(
    ray_session: None, reference: dict[str, bytes], tmp_path: Path
) -> None:
    out = tmp_path / "r"
    stopped = simulate(small(), out, make_ray_actors(), stop_after=2)  # stops while the tree still runs
    assert not stopped.complete
    assert not resume(out, make_ray_shards(shards=2), stop_after=1).complete
    assert resume(out, make_ray_shards(shards=1)).complete
    assert outputs(out) == reference


@pytest.mark.ray
def test_command_line_with_ray_shards(ray_session: None, reference: dict[str, bytes], tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(config_to_toml(small()))
    out = tmp_path / "r"
    assert main(["run", str(path), "--out", str(out), "--quiet", "--runtime", "ray-shards", "--shards", "2"]) == 0
    assert outputs(out) == reference
    assert '"runtime": "ray-shards"' in (out / "timing.json").read_text()


@pytest.mark.ray
def test_map_keeps_input_order(ray_session: None) -> None:
    items = list(range(11))
    for executor in (make_ray_actors(), make_ray_shards(shards=2)):
        try:
            assert executor.map(abs, [-x for x in items]) == items
        finally:
            executor.close()


def test_bad_options_are_one_line_errors() -> None:
    with pytest.raises(RayRuntimeError, match="kill-prob"):
        make_ray_actors(kill_prob=1.0)
    with pytest.raises(RayRuntimeError, match="max-attempts"):
        make_ray_shards(max_attempts=0)
    with pytest.raises(RayRuntimeError, match="shards"):
        make_ray_shards(shards=0)


@pytest.mark.ray
def test_cohort_engine_same_bytes_on_ray_shards(ray_session: None, tmp_path: Path) -> None:
    """Under engine = "cohort" each shard steps its slice of a batch together (six fine-tuned
    children each: wide enough for lock-step), and in the recursive regime each shard call its
    specs and their children, with and without calls killed and replayed: the inline per-agent bytes."""
    cfg = config(
        regime="archive",
        selector="uniform",
        budget=8000,
        archive={"batch_size": 12, "child_budget": 300, "root_budget": 300},
        operators={"finetune": 1.0, "mutate": 0.0, "add-tool": 0.0, "new-task": 0.0},
        eval={"episodes": 2, "max_steps": 40},
    )
    files = ("lineage.json", "agents.csv", "summary.json", "batches.csv", "steps.csv", "curves.csv")
    simulate(cfg, tmp_path / "inline")
    cohort = cfg.model_copy(update={"engine": "cohort"})
    simulate(cohort, tmp_path / "shards", make_ray_shards(shards=2))
    for f in files:
        assert (tmp_path / "shards" / f).read_bytes() == (tmp_path / "inline" / f).read_bytes(), f
    # the recursive regime: each shard call steps the specs it was given, then their children
    rec = config(budget=12_000, caps={"max_agents": 40})
    simulate(rec, tmp_path / "rec-inline")
    rec_cohort = rec.model_copy(update={"engine": "cohort"})
    simulate(rec_cohort, tmp_path / "rec-shards", make_ray_shards(shards=2))
    killed = make_ray_shards(shards=2, kill_prob=0.4, max_attempts=8, slice_seconds=1e-6)
    assert simulate(rec_cohort, tmp_path / "rec-killed", killed).where["shard_deaths"] >= 1
    for run in ("rec-shards", "rec-killed"):
        for f in ("lineage.json", "agents.csv", "summary.json", "curves.csv"):
            assert (tmp_path / run / f).read_bytes() == (tmp_path / "rec-inline" / f).read_bytes(), (run, f)


@pytest.mark.ray
@pytest.mark.parametrize("expand", ["batch", "ucb-air"])
def test_archive_regime_same_bytes_on_ray(ray_session: None, tmp_path: Path, expand: str) -> None:
    """The driver creates each batch's agents on the runtime; the lineage is the inline one (and
    HGM's loop, whose evaluation episodes run in the driver, decides the same on every runtime)."""
    cfg = config(
        regime="archive",
        selector="hgm",
        budget=1400 if expand == "batch" else 1800,
        archive={"batch_size": 2, "child_budget": 300, "root_budget": 500, "expand": expand},
        eval={"episodes": 2, "max_steps": 40},
    )
    files = ("lineage.json", "agents.csv", "summary.json", "batches.csv", "steps.csv")
    simulate(cfg, tmp_path / "inline")
    assert (",evaluate," in (tmp_path / "inline" / "steps.csv").read_text()) == (expand == "ucb-air")
    for name, executor in (("actors", make_ray_actors()), ("shards", make_ray_shards(shards=2))):
        simulate(cfg, tmp_path / name, executor)
        for f in files:
            assert (tmp_path / name / f).read_bytes() == (tmp_path / "inline" / f).read_bytes(), (name, f)
