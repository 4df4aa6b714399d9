"""Run directories: what --out accepts, what --force removes, the run kind that plot and resume
follow, and paths a project file names followed only inside its directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from spawn.cli import main
from spawn.config import config_to_toml
from spawn.run.driver import simulate

from ..helpers import config

SMALL = config(budget=600)


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(config_to_toml(SMALL))
    return path


def _refused(capsys: pytest.CaptureFixture[str], cfg: Path, out: str, *parts: str, force: bool = False) -> None:
    argv = ["run", str(cfg), "--out", out, "--quiet", *(["--force"] if force else [])]
    assert main(argv) == 2
    line = _one_line(capsys)
    assert line.startswith("lineage-sim run: --out"), line
    for part in parts:
        assert part in line, line


# ---------------------------------------------------------------------- what --out accepts
@pytest.mark.parametrize("force", [False, True])
def test_out_refuses_what_lineage_sim_did_not_make(
    tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str], force: bool
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    link = tmp_path / "link"
    link.symlink_to(empty)
    _refused(capsys, cfg, str(link), "symbolic link", force=force)
    assert link.is_symlink() and not list(empty.iterdir())
    plain = tmp_path / "file.txt"
    plain.write_text("mine")
    _refused(capsys, cfg, str(plain), "regular file", force=force)
    assert plain.read_text() == "mine"
    _refused(capsys, cfg, "/dev/null", "device", force=force)
    assert Path("/dev/null").is_char_device()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("mine")
    _refused(capsys, cfg, str(mine), "thesis.tex", "did not write", force=force)
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    # Names lineage-sim also uses do not make a folder lineage-sim's: a config and a checkpoint folder of one's own.
    ml = tmp_path / "ml"
    (ml / "checkpoint").mkdir(parents=True)
    (ml / "checkpoint" / "model.pt").write_bytes(b"weights")
    (ml / "config.toml").write_text("lr = 0.1\n")
    _refused(capsys, cfg, str(ml), "did not write", force=force)
    assert (ml / "checkpoint" / "model.pt").read_bytes() == b"weights" and (ml / "config.toml").is_file()
    only_config = tmp_path / "only-config"
    only_config.mkdir()
    (only_config / "config.toml").write_text("lr = 0.1\n")
    _refused(capsys, cfg, str(only_config), "config.toml", "did not write", force=force)
    assert (only_config / "config.toml").read_text() == "lr = 0.1\n"


def test_out_in_places_that_cannot_be_written(tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "a-file"
    plain.write_text("mine")
    _refused(capsys, cfg, str(plain / "out"), "a-file", "not a folder")
    _refused(capsys, cfg, "/proc/lineage-sim-test/out", "cannot be created")
    assert not Path("/proc/lineage-sim-test").exists()
    if Path("/sys/kernel").is_dir():
        # sysfs refuses new folders even to root (chmod does not stop root, so no chmod-based folder here)
        _refused(capsys, cfg, "/sys/lineage-sim-test/out", "cannot be created")
        assert not Path("/sys/lineage-sim-test").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "c.toml"]


def test_force_removes_only_lineage_sim_files_and_says_which(
    tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["run", str(cfg), "--out", str(out), "--quiet", "--force", "--seed", "5"]) == 0
    line = _one_line(capsys)
    assert "--force: removed" in line and "lineage.json" in line and "notes.txt" not in line
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "lineage.json").is_file()


def test_a_run_dir_of_an_older_version_is_recognised(
    tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "old"
    simulate(SMALL, out)
    (out / "lineage-sim.json").unlink()  # older versions wrote no marker
    (out / "checkpoint.pkl").write_bytes(b"\x80\x04old pickle")  # nor a data-only checkpoint
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 2
    assert "--force" in _one_line(capsys)
    assert main(["run", str(cfg), "--out", str(out), "--quiet", "--force"]) == 0
    assert "checkpoint.pkl" in _one_line(capsys) and not (out / "checkpoint.pkl").exists()


# ---------------------------------------------------------------------- the run kind
SWEEP = config_to_toml(SMALL) + '\n[sweep]\n"agent.objective" = ["raw", "penalised"]\nseeds = [1]\n'


def test_stale_sweep_files_do_not_hijack_plot_or_resume(
    tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep_cfg = tmp_path / "s.toml"
    sweep_cfg.write_text(SWEEP)
    sweep = tmp_path / "sweep"
    assert main(["run", str(sweep_cfg), "--out", str(sweep), "--quiet"]) == 0
    # A run replaces the sweep with --force: every file of the sweep goes, the run is a run.
    assert main(["run", str(cfg), "--out", str(sweep), "--quiet", "--force"]) == 0
    line = _one_line(capsys)
    assert "sweep.json" in line and "aggregate.csv" in line and "objective=raw/" in line
    assert not (sweep / "sweep.json").exists() and not (sweep / "objective=raw").exists()
    # A stale sweep.json and study.csv (copied in by hand) change nothing: the marker says "run".
    run = tmp_path / "run"
    simulate(SMALL, run)
    (run / "sweep.json").write_text(json.dumps({"arms": ["objective=raw"], "seed": None}))
    (run / "study.csv").write_text("selector,spent,mean,lo,hi,n\n")
    png = tmp_path / "t.png"
    assert main(["plot", str(run), "--kind", "tree", "--output", str(png)]) == 0
    assert png.is_file()
    before = (run / "lineage.json").read_bytes()
    assert main(["resume", str(run), "--quiet"]) == 0
    assert (run / "lineage.json").read_bytes() == before


# ---------------------------------------------------------------------- paths named in project files
def _fake_sweep(tmp_path: Path, arms: list[str]) -> Path:
    sweep = tmp_path / "a" / "b" / "sweep"
    sweep.mkdir(parents=True)
    (sweep / "lineage-sim.json").write_text(json.dumps({"made_by": "lineage-sim", "kind": "sweep"}))
    (sweep / "sweep.json").write_text(json.dumps({"arms": arms, "seed": None}))
    return sweep


@pytest.mark.parametrize("arm", ["../../elsewhere", "{tmp}/elsewhere", "link"])
def test_plot_follows_no_arm_path_out_of_the_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arm: str
) -> None:
    elsewhere = tmp_path / "a" / "elsewhere"
    simulate(SMALL, elsewhere / "seed-1")
    shutil.copytree(elsewhere, tmp_path / "elsewhere")
    name = arm.format(tmp=tmp_path)
    sweep = _fake_sweep(tmp_path, [name])
    if arm == "link":
        (sweep / "link").symlink_to(elsewhere)
    png = tmp_path / "x.png"
    assert main(["plot", str(sweep), "--kind", "generations", "--output", str(png)]) == 2
    line = _one_line(capsys)
    assert "leads outside" in line and "lineage-sim plot" in line
    assert not png.exists()


def test_plot_refuses_a_seed_run_linked_out_of_the_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    simulate(SMALL, tmp_path / "elsewhere")
    sweep = _fake_sweep(tmp_path, ["arm"])
    (sweep / "arm").mkdir()
    (sweep / "arm" / "seed-1").symlink_to(tmp_path / "elsewhere")
    assert main(["plot", str(sweep), "--kind", "generations", "--output", str(tmp_path / "x.png")]) == 2
    assert "leads outside" in _one_line(capsys)


def test_resume_follows_no_path_out_of_the_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep_cfg = tmp_path / "s.toml"
    sweep_cfg.write_text(SWEEP)
    sweep = tmp_path / "sweep"
    assert main(["run", str(sweep_cfg), "--out", str(sweep), "--quiet"]) == 0
    elsewhere = tmp_path / "elsewhere"
    shutil.move(sweep / "objective=raw", elsewhere)
    (sweep / "objective=raw").symlink_to(elsewhere)
    (sweep / "aggregate.csv").unlink()
    assert main(["resume", str(sweep), "--quiet"]) == 2
    assert "leads outside" in _one_line(capsys)
    (sweep / "objective=raw").unlink()
    shutil.move(elsewhere, sweep / "objective=raw")
    (sweep / "sweep.json").write_text(json.dumps({"arms": ["../x"], "seed": None}))
    assert main(["resume", str(sweep), "--quiet"]) == 2
    assert "names other arms" in _one_line(capsys)
    (sweep / "sweep.json").write_text(json.dumps({"arms": ["objective=raw", "objective=penalised"], "seed": "1; rm"}))
    assert main(["resume", str(sweep), "--quiet"]) == 2
    assert "is not a whole number" in _one_line(capsys)


def test_a_failed_forced_run_puts_the_old_run_back(
    tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from .test_checkpoint import Exploding

    out = tmp_path / "r"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    (out / "notes.txt").write_text("mine")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = tmp_path / "bad.toml"
    failing = config(agent={"kind": "tests.spawn.run.test_checkpoint:Exploding"}, faults={"on_error": "fail"})
    bad.write_text(config_to_toml(failing))
    Exploding.calls = 0
    capsys.readouterr()
    assert main(["run", str(bad), "--out", str(out), "--quiet", "--force"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "policy exploded" in err[0], err  # nothing was removed: the old run is back
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
