"""A ``ray start --head`` cluster on loopback joined with ``--address``; a killed driver resumes.

Ray 2.60 turns token authentication on for clusters made by ``ray start``: the cluster and every
driver get ``RAY_AUTH_MODE=token`` in their environment and the token this test makes itself, in a
temporary file named by ``RAY_AUTH_TOKEN_PATH`` (never one left in ``~/.ray``).
The head runs with ``--block`` and is stopped by signalling that process, which ends exactly this
cluster's processes (``ray stop`` would end every Ray on the machine, other users' included).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from spawn.config import config_to_toml
from spawn.run.driver import simulate

from .test_ray_runtimes import outputs, small

__all__: list[str] = []

CLI = [sys.executable, "-c", "import sys; from spawn.cli import main; sys.exit(main())"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    pytest.importorskip("ray")
    port = _free_port()
    here = tmp_path_factory.mktemp("head")
    token = here / "auth_token"  # this cluster's own token, as `ray get-auth-token --generate` makes one
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
        "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
    }
    for inherited in ("RAY_ADDRESS", "RAY_AUTH_TOKEN"):
        env.pop(inherited, None)
    log = here / "ray-start.log"
    cmd = ["ray", "start", "--head", f"--port={port}", "--num-cpus=2", "--node-ip-address=127.0.0.1"]
    cmd += ["--include-dashboard=false", "--disable-usage-stats", "--block"]
    with log.open("w") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while "block forever" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        yield f"127.0.0.1:{port}", env
    finally:
        proc.send_signal(signal.SIGTERM)  # ray's handler ends this node's processes
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _records(path: Path) -> int:
    """Agents in the run's checkpoint (``path`` names the run's old checkpoint.pkl; its folder is read)."""
    import json

    manifest = path.with_name("checkpoint") / "manifest.json"
    try:
        return int(json.loads(manifest.read_text())["entries"])  # one entry per finished agent
    except (OSError, ValueError, KeyError, TypeError):
        return 0


@pytest.mark.ray
def test_killed_driver_on_a_cluster_resumes_to_the_same_bytes(head: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    address, env = head
    simulate(small(), tmp_path / "inline")
    reference = outputs(tmp_path / "inline")
    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text(config_to_toml(small()))
    out = tmp_path / "r"
    run = [*CLI, "run", str(cfg_path), "--out", str(out), "--quiet", "--runtime", "ray-actors"]
    driver = subprocess.Popen([*run, "--address", address], env=env)
    deadline = time.monotonic() + 120
    while _records(out / "checkpoint.pkl") == 0:  # the collector grows the checkpoint live
        assert driver.poll() is None and time.monotonic() < deadline, "the driver ended before a checkpoint"
        time.sleep(0.05)
    driver.kill()  # SIGKILL: no chance to save anything more
    driver.wait()
    assert not (out / "lineage.json").exists(), "the run finished before the driver was killed"
    assert 0 < _records(out / "checkpoint.pkl") < 6
    again = [*CLI, "resume", str(out), "--quiet", "--runtime", "ray-shards", "--address", address]
    done = subprocess.run(again, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert outputs(out) == reference
    timing = (out / "timing.json").read_text()
    assert '"session": "joined"' in timing and '"code_shipped": true' in timing
