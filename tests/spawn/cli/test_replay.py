"""``lineage-sim replay``: the verdict, the exit statuses, the table, the GIF and the PNG strip."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spawn.api import run_output
from spawn.cli import main
from spawn.plots.replay import CAPTION, CELL, FORBIDDEN_RGB, STRIP_COLUMNS
from spawn.run.driver import simulate
from spawn.run.replay import replay
from tests.spawn.helpers import HIRING, config

ISLAND = {"id": "lineage_sim/IslandNavigation-v0", "kwargs": {"discrete": True}, "constitution": "default"}
LAKE = {"id": "FrozenLake-v1", "return_range": [0, 1], "kwargs": {"is_slippery": False}, "constitution": "default"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli-replay")
    out = {
        "lake": root / "lake",
        "island": root / "island",
        "hiring": root / "hiring",
        "sweep": root / "sweep",
    }
    simulate(config(envs=[LAKE]), out["lake"])
    simulate(config(budget=1500, envs=[ISLAND], eval={"episodes": 2, "max_steps": 30}), out["island"])
    simulate(config(budget=400, envs=[HIRING], eval={"episodes": 2, "max_steps": 12}), out["hiring"])
    run_output(config(budget=600, sweep={"agent.epsilon": [0.1, 0.3], "seeds": [1, 2]}), out["sweep"])
    return out


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["replay", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_a_replay_says_the_record_matches(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _cli(capsys, runs["lake"], "--agent", "0.0.0")
    assert status == 0, err
    assert out.strip().splitlines()[-1].startswith("agent 0.0.0: replayed record matches the stored one (value ")
    assert "train steps)" in out


def test_lineage_shows_a_line_per_agent(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _cli(capsys, runs["lake"], "--agent", "0.0.0", "--lineage", "--episodes", "0")
    assert status == 0
    lines = err.strip().splitlines()
    assert [ln.split()[0:2] for ln in lines if ln.startswith("agent ")] == [
        ["agent", "0:"],
        ["agent", "0.0:"],
        ["agent", "0.0.0:"],
    ]
    assert sum(ln.startswith("replaying agent") for ln in lines) == 3


def test_a_sweep_arms_run_replays(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _cli(capsys, runs["sweep"] / "epsilon=0.3" / "seed-2", "--agent", "0.0")
    assert status == 0, err
    assert "agent 0.0: replayed record matches" in out
    status, _, err = _cli(capsys, runs["sweep"], "--agent", "0")
    assert status == 2 and "is a sweep directory" in err and "seed-<s>" in err


def _tamper(run: Path, copy: Path, agent: str, key: str, value: float) -> float:
    """A copy of ``run`` whose checkpoint stores another ``key`` for ``agent`` (the manifest made to
    agree: a well-formed checkpoint whose record is not what the life gives)."""
    shutil.copytree(run, copy)
    folder = copy / "checkpoint"
    manifest = json.loads((folder / "manifest.json").read_text())
    old = None
    for seg in manifest["segments"]:
        path = folder / seg["file"]
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            entry = json.loads(line)
            if entry["record"]["id"] == agent:
                old = entry["record"]["attributes"][key]
                entry["record"]["attributes"][key] = value
                lines[i] = json.dumps(entry, separators=(",", ":"), sort_keys=True)
        data = ("\n".join(lines) + "\n").encode()
        path.write_bytes(data)
        seg["bytes"], seg["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    assert old is not None
    return float(old)


def test_a_tampered_record_exits_1_naming_the_difference(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "tampered"
    old = _tamper(runs["lake"], copy, "0.1", "eval_steps", 12345)
    status, out, err = _cli(capsys, copy, "--agent", "0.1")
    assert status == 1
    (line,) = err.strip().splitlines()
    assert line == (
        "lineage-sim replay: agent 0.1: the replayed record differs from the stored one: "
        f"attribute 'eval_steps' differs: stored 12345, replayed {int(old)}"
    )
    assert "matches" not in out
    # with --lineage the ancestors before it match, and the first difference is named
    status, _, err = _cli(capsys, copy, "--agent", "0.1.0", "--lineage", "--episodes", "0")
    assert status == 1
    assert "agent 0: replayed record matches" in err
    assert err.strip().splitlines()[-1].startswith("lineage-sim replay: agent 0.1: the replayed record differs")


def test_a_published_lineage_that_differs_exits_1(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The checkpoint intact, but lineage.json (what a run publishes) says another value."""
    copy = tmp_path / "published"
    shutil.copytree(runs["lake"], copy)
    doc = json.loads((copy / "lineage.json").read_text())
    node = next(n for n in doc["nodes"] if n["id"] == "0.0")
    old, node["episodes"] = node["episodes"], node["episodes"] + 1
    (copy / "lineage.json").write_text(json.dumps(doc))
    status, _, err = _cli(capsys, copy, "--agent", "0.0", "--episodes", "0")
    assert status == 1
    assert err.strip() == (
        "lineage-sim replay: agent 0.0: the replayed record differs from the stored one: "
        f"lineage.json: attribute 'episodes' differs: published {old + 1}, replayed {old}"
    )
    assert _cli(capsys, copy, "--agent", "0.1", "--episodes", "0")[0] == 0  # the other agents still match


def _frames(path: Path) -> list[np.ndarray]:
    img = Image.open(path)
    out = []
    for k in range(img.n_frames):
        img.seek(k)
        out.append(np.asarray(img.convert("RGB")))
    return out


def _has(rgb: np.ndarray, colour: tuple[int, int, int]) -> bool:
    return bool(np.all(rgb == np.array(colour, dtype=rgb.dtype), axis=-1).any())


def test_a_gif_of_the_gridworld_board(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gif = tmp_path / "island.gif"
    status, _, err = _cli(capsys, runs["island"], "--agent", "0", "--episodes", "2", "--output", gif)
    assert status == 0, err
    steps = replay(runs["island"], "0", episodes=2).episodes["IslandNavigation-v0"]
    n = sum(len(ep) for ep in steps)  # every step of both episodes, and each one's reset
    assert f"wrote {gif} (animated GIF, {n} frames, " in err
    frames = _frames(gif)
    assert len(frames) == n
    board = steps[0][0].board
    assert board is not None and board.forbidden  # the water
    height, width = frames[0].shape[:2]
    assert (width, height) == (max(260, board.width * CELL), board.height * CELL + CAPTION)
    assert all(_has(f, FORBIDDEN_RGB) for f in frames)
    # the forbidden cell's top-left pixel is on the red hatch
    r, c = sorted(board.forbidden)[0]
    assert tuple(frames[0][CAPTION + r * CELL, c * CELL]) == FORBIDDEN_RGB


def test_a_png_strip_of_the_frames(runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "lake.png"
    status, _, err = _cli(capsys, runs["lake"], "--agent", "0.0", "--output", png)
    assert status == 0, err
    (steps,) = replay(runs["lake"], "0.0", episodes=1).episodes["FrozenLake-v1"]
    img = Image.open(png)
    assert img.format == "PNG"
    fw, fh = 260, 4 * CELL + CAPTION
    rows = math.ceil(len(steps) / STRIP_COLUMNS)
    assert img.size == (min(STRIP_COLUMNS, len(steps)) * (fw + 4) - 4, rows * (fh + 4) - 4)
    assert _has(np.asarray(img.convert("RGB")), FORBIDDEN_RGB)


def test_a_table_of_steps_for_hiring(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    status, out, err = _cli(capsys, runs["hiring"], "--agent", "0", "--episodes", "2")
    assert status == 0, err
    assert out.count("Hiring-v0, episode ") == 2
    header = next(ln for ln in out.splitlines() if "observation" in ln)
    for name in ("step", "observation", "action", "reward", "cost", "rules broken"):
        assert name in header
    rows = [ln for ln in out.splitlines() if ln.startswith("│")]
    assert len(rows) == 2 * 13  # per episode the reset and its 12 steps


@pytest.mark.parametrize(
    ("args", "parts"),
    [
        (("{missing}", "--agent", "0"), ("is not a run directory",)),
        (("{lake}", "--agent", "0.9"), ("agent '0.9' is not in the lineage (it has ", "ids like 0, 0.0, ")),
        (("{empty}", "--agent", "0"), ("no checkpoint",)),
        (("{lake}", "--agent", "0", "--episodes", "9"), ("episodes = 9", "from 0 to 2")),
        (("{lake}", "--agent", "0", "--episodes", "x"), ("--episodes",)),
        (("{lake}", "--agent", "0", "--output", "{out}.jpg"), ("must end in .gif", ".png")),
        (("{hiring}", "--agent", "0", "--output", "{out}.gif"), ("draws grid environments", "Hiring-v0")),
        (("{lake}", "--agent", "0", "--episodes", "0", "--output", "{out}.gif"), ("--episodes 0",)),
        (("{lake}", "--agent", "0", "--output", "{tmp}/no/such/dir/x.gif"), ("--output",)),
    ],
)
def test_user_errors_are_one_line_with_status_2(
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    parts: tuple[str, ...],
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    shutil.copy(runs["lake"] / "config.toml", empty / "config.toml")
    names = {"missing": tmp_path / "nowhere", "empty": empty, "out": tmp_path / "x", "tmp": tmp_path, **runs}
    status, out, err = _cli(capsys, *(a.format(**names) for a in args))
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("lineage-sim replay")
    for part in parts:
        assert part in lines[0], lines[0]
    assert not out and not list(tmp_path.glob("x.*"))  # nothing shown, nothing written
