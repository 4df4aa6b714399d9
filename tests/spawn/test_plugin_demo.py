"""The example plugin (examples/plugins/demo.py) runs with its config, inline and on ray-shards, to the same bytes.

The Ray workers are fresh processes: they see the plugin's operator and trigger only because every
worker imports the config's ``plugins`` before its first agent.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from spawn.config import parse_config
from spawn.run.driver import simulate

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "plugins" / "plugin_demo.toml"
FILES = ("lineage.json", "agents.csv", "summary.json")


def tiny() -> dict:
    data = tomllib.loads(DEMO.read_text())
    data["budget"] = 4000
    data["eval"] = {"episodes": 2, "max_steps": 50}
    return data


def outputs(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in FILES}


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def test_the_demo_config_uses_the_plugins_operator_and_trigger(tmp_path: Path) -> None:
    cfg = parse_config(tiny(), source=str(DEMO))
    assert cfg.plugins == ("examples.plugins.demo",) and cfg.spawn.triggers == ("every-n-steps",)
    g = simulate(cfg, tmp_path / "run").lineage
    assert g is not None and len(g) > 1
    children = [a for a in g.ids if a != "0"]
    assert {g.attributes(a)["trigger"] for a in children} == {"every-n-steps"}
    assert all(g.attributes(a)["birth_time"] % 1000 == 0 for a in children)  # born on the clock's multiples
    assert "reset-exploration" in {g.operator(a) for a in children}
    for a in children:
        if g.operator(a) == "reset-exploration":
            assert g.attributes(a)["kind"] == "narrow" and g.attributes(a)["hp_epsilon"] == cfg.agent.epsilon


def test_the_demo_runs_from_the_command_line_of_a_clean_checkout(tmp_path: Path) -> None:
    """As its README says: from the repository's root, with the root on PYTHONPATH."""
    cfg = tmp_path / "demo.toml"
    cfg.write_text(DEMO.read_text().replace("budget = 8000", "budget = 2000"))
    run = [sys.executable, "-c", "import sys; from spawn.cli import main; sys.exit(main())", "run", str(cfg)]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([*run, "--out", str(tmp_path / "a")], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "every-n-steps" in (tmp_path / "a" / "agents.csv").read_text()
    # Without the plugin on the module path: one line naming it, exit status 2, nothing written.
    bare = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run([*run, "--out", str(tmp_path / "b")], cwd=tmp_path, env=bare, capture_output=True, text=True)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "plugins[0] = 'examples.plugins.demo': module cannot be imported" in lines[0]
    assert not (tmp_path / "b").exists()


@pytest.mark.ray
def test_the_demo_gives_the_same_bytes_on_ray_shards(ray_session: None, tmp_path: Path) -> None:
    from spawn.runtimes import make_ray_shards

    cfg = parse_config(tiny(), source=str(DEMO))
    simulate(cfg, tmp_path / "inline")
    simulate(cfg, tmp_path / "shards", make_ray_shards(shards=2, slice_seconds=1e-6))
    assert outputs(tmp_path / "shards") == outputs(tmp_path / "inline")
