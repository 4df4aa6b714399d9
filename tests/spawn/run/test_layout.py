"""What run, sweep and study directories hold, read back by spawn.run.layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spawn.errors import RunDirError
from spawn.run.layout import RunDir, StudyDir, SweepDir, lineage_file, open_output
from spawn.run.rundir import open_out


def _made(path: Path, kind: str) -> Path:
    open_out(path, force=False, kind=kind).release()
    return path


def test_the_marker_decides_what_a_directory_is(tmp_path: Path) -> None:
    sweep = _made(tmp_path / "sweep", "sweep")
    (sweep / "sweep.json").write_text(json.dumps({"arms": ["a"], "seed": None}))
    (sweep / "study.csv").write_text("stale\n")  # another kind's file decides nothing
    study = _made(tmp_path / "study", "study")
    (study / "study.csv").write_text("selector\n")
    run = _made(tmp_path / "run", "run")
    assert open_output(sweep) == SweepDir(sweep)
    assert open_output(study) == StudyDir(study)
    assert open_output(run) == RunDir(run) and not RunDir(run).finished
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "lineage.json").write_text("{}")  # an older version's run, no marker
    assert open_output(tmp_path / "old") == RunDir(tmp_path / "old")
    (tmp_path / "mine").mkdir()
    assert open_output(tmp_path / "mine") is None and open_output(tmp_path / "absent") is None


def test_a_sweeps_arms_are_its_finished_seed_runs_by_seed(tmp_path: Path) -> None:
    sweep = _made(tmp_path / "s", "sweep")
    (sweep / "sweep.json").write_text(json.dumps({"arms": ["a", "b"], "seed": 7}))
    for seed in (10, 2, 1):
        (sweep / "a" / f"seed-{seed}").mkdir(parents=True)
        (sweep / "a" / f"seed-{seed}" / "lineage.json").write_text("{}")
    (sweep / "b" / "seed-1").mkdir(parents=True)  # not finished: no lineage.json
    arms = SweepDir(sweep).arms()
    assert [r.path.name for r in arms["a"]] == ["seed-1", "seed-2", "seed-10"] and arms["b"] == []
    assert SweepDir(sweep).seed() == 7


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ({"arms": "a"}, "is not a sweep description (arms is not a list of names)"),
        ({"seed": 1}, "is not a sweep description ('arms')"),
        ({"arms": [], "seed": -1}, "seed '-1' is not a whole number >= 0 or null"),
        ({"arms": ["../out"]}, "leads outside"),
    ],
)
def test_a_bad_sweep_description_is_one_line(tmp_path: Path, description: dict, message: str) -> None:
    sweep = _made(tmp_path / "s", "sweep")
    (sweep / "sweep.json").write_text(json.dumps(description))
    with pytest.raises(RunDirError) as exc:
        SweepDir(sweep).arms()
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_lineage_file(tmp_path: Path) -> None:
    (tmp_path / "l.json").write_text("{}")
    assert lineage_file(tmp_path / "l.json") == tmp_path / "l.json"
    with pytest.raises(RunDirError, match=r"is a directory without a lineage\.json"):
        lineage_file(tmp_path)
    (tmp_path / "lineage.json").write_text("{}")
    assert lineage_file(tmp_path) == tmp_path / "lineage.json"
    with pytest.raises(RunDirError, match="does not exist; give a run directory or a lineage file"):
        lineage_file(tmp_path / "absent")
