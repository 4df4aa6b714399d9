"""The checkpoint: plain JSON that grows by appending, checked before use, never able to run code;
written before the first agent, kept by SIGINT and SIGTERM, resumed to the same bytes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spawn.agents import QAgent
from spawn.cli import main
from spawn.config import SimConfig, config_to_toml
from spawn.life.codec import decode_record, decode_spec, encode_record, encode_spec
from spawn.life.job import AgentRecord, AgentSpec
from spawn.run.checkpoint import VERSION
from spawn.run.driver import resume, simulate

from ..helpers import config

DETERMINISTIC = ("config.toml", "lineage.json", "phylogeny.csv", "agents.csv", "curves.csv", "summary.json")
CLI = [sys.executable, "-c", "import sys; from spawn.cli import main; sys.exit(main())"]


def _bytes(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in DETERMINISTIC}


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def _manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "checkpoint" / "manifest.json").read_text())
    return data


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------- the format
def test_checkpoint_is_plain_json_that_grows_by_appending(tmp_path: Path) -> None:
    cfg = config()
    simulate(cfg, tmp_path / "full")
    cut = tmp_path / "cut"
    simulate(cfg, cut, stop_after=3)
    m = _manifest(cut)
    assert m["format"] == "lineage-sim-checkpoint" and m["version"] == VERSION and m["regime"] == "recursive"
    assert m["config_sha256"] == hashlib.sha256((cut / "config.toml").read_bytes()).hexdigest()
    assert m["entries"] == 3 and [s["file"] for s in m["segments"]] == ["seg-000001.jsonl"]
    first = (cut / "checkpoint" / "seg-000001.jsonl").read_bytes()
    assert hashlib.sha256(first).hexdigest() == m["segments"][0]["sha256"]
    assert all(json.loads(line)["k"] == "done" for line in first.decode().splitlines())
    resume(cut, stop_after=2)
    resume(cut)
    m = _manifest(cut)
    assert len(m["segments"]) == 3 and m["entries"] == len(json.loads((cut / "lineage.json").read_text())["nodes"])
    assert (cut / "checkpoint" / "seg-000001.jsonl").read_bytes() == first  # never rewritten
    assert _bytes(cut) == _bytes(tmp_path / "full")


def test_types_come_back_exactly() -> None:
    spec = AgentSpec(
        id="0.1",
        parent="0",
        depth=1,
        operator="add-tool",
        agent_kind="q",
        hyper={"alpha": 0.1, "gamma": 0.99, "softmax": 0.0, "n": 3},
        objective="raw",
        tasks=("FrozenLake-v1", "CliffWalking-v1"),
        tools={"FrozenLake-v1": ((1, 2, 2), (0,))},
        params={"FrozenLake-v1": [[0.1, -0.0, 1e-300], [math.inf, 2, 3]], "__visits__": {"x": [[1, 2]]}},
        budget=100,
        quota=3,
        birth_time=7,
        liability=0.30000000000000004,
        lagrange=1.5,
        trigger="schedule",
        keep_final=True,
    )
    back = decode_spec(json.loads(json.dumps(encode_spec(spec))))
    assert repr(back) == repr(spec) and back == spec
    assert type(back.tasks) is tuple and type(back.tools["FrozenLake-v1"][0]) is tuple
    rec = AgentRecord("0", None, None, {"value": math.nan, "cost": -math.inf, "n": 2, "x": 2.0, "s": "a\u2028b"}, 5, 6)
    back_rec = decode_record(json.loads(json.dumps(encode_record(rec))))
    assert repr(back_rec) == repr(rec)


class ArrayParams(QAgent):
    """A plugin agent whose parameters are arrays, which a checkpoint cannot hold as plain data."""

    def get_params(self) -> dict[str, Any]:
        return {task: np.asarray(table) for task, table in self.q.items()}


def test_plugin_params_that_are_not_plain_data_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(config_to_toml(config(agent={"kind": f"{__name__}:ArrayParams"})))
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    line = _one_line(capsys)
    assert "cannot checkpoint" in line and "ndarray" in line and "plain data" in line
    assert not (tmp_path / "out").exists()  # a failure once the run started leaves nothing


# ---------------------------------------------------------------------- refusals
@pytest.fixture
def cut(tmp_path: Path) -> Path:
    out = tmp_path / "cut"
    simulate(config(), out, stop_after=3)
    return out


def _refused(out: Path, capsys: pytest.CaptureFixture[str], *parts: str) -> None:
    before = _tree(out)
    assert main(["resume", str(out), "--quiet"]) == 2
    line = _one_line(capsys)
    for part in parts:
        assert part in line, line
    assert _tree(out) == before  # nothing written


def test_not_a_checkpoint_is_refused(cut: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = cut / "checkpoint" / "manifest.json"
    path.write_text(json.dumps({"format": "something-else", "version": 2}))
    _refused(cut, capsys, "not a lineage-sim checkpoint")
    path.write_text(json.dumps({**json.loads(path.read_text()), "format": "lineage-sim-checkpoint", "version": 9}))
    _refused(cut, capsys, "format version 9")
    path.write_text("[1, 2, 3]")
    _refused(cut, capsys, "not a lineage-sim checkpoint")


def test_truncated_checkpoint_is_refused(cut: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seg = cut / "checkpoint" / "seg-000001.jsonl"
    whole = seg.read_bytes()
    seg.write_bytes(whole[: len(whole) // 2])
    _refused(cut, capsys, "seg-000001.jsonl", "truncated or altered")
    seg.write_bytes(whole)
    path = cut / "checkpoint" / "manifest.json"
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    _refused(cut, capsys, "manifest.json", "truncated or corrupt")


def test_checkpoint_of_another_config_is_refused(cut: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = cut / "config.toml"
    text = toml.read_text()
    toml.write_text(text.replace("budget = 3000", "budget = 2000"))
    _refused(cut, capsys, "another config")
    toml.write_text(text)
    path = cut / "checkpoint" / "manifest.json"
    path.write_text(json.dumps({**_manifest(cut), "config_sha256": "0" * 64}))
    _refused(cut, capsys, "another config")


def test_altered_segment_with_a_matching_digest_is_refused(cut: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Whoever can write the folder can also rewrite the digests: the entries are still checked.
    seg = cut / "checkpoint" / "seg-000001.jsonl"
    data = b'{"k":"done","record":{"id":["x"]},"children":[]}\n' * 3
    seg.write_bytes(data)
    m = _manifest(cut)
    m["segments"][0].update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    (cut / "checkpoint" / "manifest.json").write_text(json.dumps(m))
    _refused(cut, capsys, "malformed checkpoint entry")


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_pickle_cannot_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    exploit = pickle.dumps({"version": 1, "regime": "recursive", "state": _Exploit(marker)}, protocol=4)
    out = tmp_path / "old"  # a run directory as older versions left it: a config and a pickle
    out.mkdir()
    (out / "config.toml").write_text(config_to_toml(config()))
    (out / "checkpoint.pkl").write_bytes(exploit)
    for place in ("checkpoint.pkl", "checkpoint/manifest.json", "checkpoint/seg-000001.jsonl"):
        if place != "checkpoint.pkl":
            simulate(config(), out, force=True, stop_after=2)
            (out / place).write_bytes(exploit)
        done = subprocess.run([*CLI, "resume", str(out), "--quiet"], capture_output=True, text=True, check=False)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "pickle" in done.stderr or "truncated or altered" in done.stderr
        assert not marker.exists(), f"the pickle in {place} ran"
        assert not (out / "lineage.json").exists()


def test_no_package_code_loads_pickles() -> None:
    root = Path(__file__).resolve().parents[3]
    for pkg in ("lineage", "envs", "attribution", "spawn"):
        for path in (root / pkg).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "pickle.load" not in text and "allow_pickle=True" not in text, path


# ---------------------------------------------------------------------- interruptions, kills, locks
#: Long enough (about 7 s) to be stopped while it runs: a signal sent after the first timed save
#: (2 s in) must still find it running on a loaded machine.
LONG = config(budget=700_000, caps={"max_agents": 100_000})


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("reference") / "r"
    simulate(LONG, out)
    return _bytes(out)


def _start(tmp_path: Path, cfg: SimConfig, out: Path) -> subprocess.Popen[str]:
    path = tmp_path / "long.toml"
    path.write_text(config_to_toml(cfg))
    proc = subprocess.Popen(
        [*CLI, "run", str(path), "--out", str(out), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # SIGINT as a terminal sends it, even when the suite itself runs with it ignored (a background
        # job of a shell): Python then raises KeyboardInterrupt on it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not ((out / "checkpoint" / "manifest.json").is_file() and (out / "config.toml").is_file()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    return proc


def test_killed_right_after_start_resumes_to_the_same_bytes(
    tmp_path: Path, long_reference: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    proc = _start(tmp_path, LONG, out)
    assert _manifest(out)["entries"] == 0  # the first checkpoint is there before any agent has run
    assert (out / "config.toml").is_file()
    # While it runs, a second command into the same directory is refused (the lock holds its pid).
    cfg = tmp_path / "long.toml"
    assert main(["run", str(cfg), "--out", str(out), "--quiet", "--force"]) == 2
    assert f"in use by running process {proc.pid}" in _one_line(capsys)
    assert main(["resume", str(out), "--quiet"]) == 2
    assert f"in use by running process {proc.pid}" in _one_line(capsys)
    proc.kill()  # SIGKILL: nothing more is saved, the lock stays behind
    proc.communicate()
    assert not (out / "lineage.json").exists(), "the run ended before it was killed"
    assert (out / ".lineage-sim.lock").is_file()
    assert main(["resume", str(out), "--quiet"]) == 0  # the stale lock of a dead process is taken over
    assert _bytes(out) == long_reference
    assert not (out / ".lineage-sim.lock").exists()


def test_killed_mid_run_its_streamed_files_hold_checkpointed_agents_and_resume_to_the_same_bytes(
    tmp_path: Path, long_reference: dict[str, bytes]
) -> None:
    """SIGKILL once agents are saved: agents.csv, phylogeny.csv and curves.csv (written as the run
    goes) hold rows of checkpointed agents only, the first rows of the finished files; resume
    writes them again from the checkpoint and finishes every file to the reference's bytes."""
    out = tmp_path / "r"
    proc = _start(tmp_path, LONG, out)
    deadline = time.monotonic() + 120
    while _manifest(out)["entries"] < 2:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    time.sleep(0.3)
    proc.kill()
    proc.communicate()
    assert not (out / "lineage.json").exists(), "the run ended before it was killed"
    saved = set()
    for seg in _manifest(out)["segments"]:
        for line in (out / "checkpoint" / seg["file"]).read_text().splitlines():
            saved.add(json.loads(line)["record"]["id"])
    reference = long_reference["agents.csv"].decode().splitlines()
    for name, column in (("agents.csv", "id"), ("phylogeny.csv", "agent_id"), ("curves.csv", "id")):
        text = (out / name).read_text()
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows and {r[column] for r in rows} <= saved, name
        if name == "agents.csv":  # a prefix of the finished file (a kill may cut its last line)
            lines = text.splitlines()
            assert lines[0] == reference[0] and lines[1:-1] == reference[1 : len(lines) - 1]
    assert main(["resume", str(out), "--quiet"]) == 0
    assert _bytes(out) == long_reference


@pytest.mark.parametrize(
    ("sig", "status", "word"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "interrupted")]
)
def test_sigterm_and_sigint_save_the_checkpoint(
    tmp_path: Path, long_reference: dict[str, bytes], sig: int, status: int, word: str
) -> None:
    out = tmp_path / "r"
    proc = _start(tmp_path, LONG, out)
    # Signal once agents have finished: the first timed save shows some (however loaded the machine).
    deadline = time.monotonic() + 120
    while _manifest(out)["entries"] == 0:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    saved = _manifest(out)["entries"]
    time.sleep(0.2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and word in lines[0] and f"resume {out}" in lines[0], err
    assert not (out / "lineage.json").exists()
    assert _manifest(out)["entries"] >= saved > 0  # what finished before the signal stays saved
    assert not (out / ".lineage-sim.lock").exists()
    done = subprocess.run([*CLI, "resume", str(out), "--quiet"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert _bytes(out) == long_reference


def test_stray_temporaries_of_a_kill_during_a_write_are_removed(cut: Path, tmp_path: Path) -> None:
    simulate(config(), tmp_path / "full")
    strays = [
        cut / ".lineage.json.k3j4h5.tmp",
        cut / ".summary.json.abcdef.tmp",
        cut / "checkpoint" / ".manifest.json.x1y2z3.tmp",
        cut / "checkpoint" / ".seg-000002.jsonl.q9w8e7.tmp",
        cut / "checkpoint" / "seg-000002.jsonl",  # written, but the manifest never listed it
    ]
    for p in strays:
        p.write_text("partial")
    (cut / "notes.txt").write_text("mine")
    assert main(["resume", str(cut), "--quiet"]) == 0
    assert not [p for p in strays[:-1] if p.exists()]
    assert (cut / "notes.txt").read_text() == "mine"
    assert _bytes(cut) == _bytes(tmp_path / "full")
    assert len(_manifest(cut)["segments"]) == 2


# ---------------------------------------------------------------------- failures once the run started
class Exploding(QAgent):
    """A plugin agent whose policy raises after a while."""

    calls = 0

    def act(self, task: str, obs: Any, mask: Any) -> int:
        type(self).calls += 1
        if type(self).calls > 250:
            raise ValueError("policy exploded")
        return super().act(task, obs, mask)


def test_an_agent_failure_leaves_the_directory_as_it_was(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(config_to_toml(config(agent={"kind": f"{__name__}:Exploding"}, faults={"on_error": "fail"})))
    Exploding.calls = 0
    assert main(["run", str(cfg), "--out", str(tmp_path / "new" / "out"), "--quiet"]) == 2
    assert "policy exploded" in _one_line(capsys)
    assert not (tmp_path / "new").exists()  # every folder the command made is gone
    empty = tmp_path / "empty"
    empty.mkdir()
    Exploding.calls = 0
    assert main(["run", str(cfg), "--out", str(empty), "--quiet"]) == 2
    assert "policy exploded" in _one_line(capsys)
    assert empty.is_dir() and not list(empty.iterdir())


def test_a_failed_resume_leaves_the_checkpoint_as_it_was(
    cut: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    simulate(config(), tmp_path / "full")
    (cut / "lineage.json").mkdir()  # the last write fails, once every agent has run
    before = _tree(cut / "checkpoint")
    assert "manifest.json" in before
    streamed = {n: (cut / n).read_bytes() for n in ("agents.csv", "phylogeny.csv", "curves.csv")}
    assert main(["resume", str(cut), "--quiet"]) == 2
    assert "lineage.json" in _one_line(capsys)
    assert _tree(cut / "checkpoint") == before
    # the files written as the run went hold what the checkpoint holds, as before the resume
    assert {n: (cut / n).read_bytes() for n in streamed} == streamed
    assert not (cut / "summary.json").exists() and not (cut / ".lineage-sim.lock").exists()
    (cut / "lineage.json").rmdir()
    assert main(["resume", str(cut), "--quiet"]) == 0
    assert _bytes(cut) == _bytes(tmp_path / "full")


def test_checkpoint_files_linked_elsewhere_are_refused(
    cut: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seg = cut / "checkpoint" / "seg-000001.jsonl"
    moved = tmp_path / "seg.jsonl"
    seg.rename(moved)
    seg.symlink_to(moved)
    _refused(cut, capsys, "symbolic link")
    seg.unlink()
    moved.rename(seg)
    folder = cut / "checkpoint"
    folder.rename(tmp_path / "elsewhere")
    folder.symlink_to(tmp_path / "elsewhere")
    _refused(cut, capsys, "symbolic link")


def test_a_checkpoint_naming_a_module_imports_nothing(
    cut: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "plug").mkdir()
    (tmp_path / "plug" / "ckpt_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\nclass A: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path / "plug"))
    seg = cut / "checkpoint" / "seg-000001.jsonl"
    entries = [json.loads(line) for line in seg.read_text().splitlines()]
    child = next(c for e in entries for c in e["children"])
    child["agent_kind"] = "ckpt_evil:A"  # a crafted (or altered) checkpoint, digests made to match
    data = "".join(json.dumps(e) + "\n" for e in entries).encode()
    seg.write_bytes(data)
    m = _manifest(cut)
    m["segments"][0].update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    (cut / "checkpoint" / "manifest.json").write_text(json.dumps(m))
    _refused(cut, capsys, "malformed checkpoint entry", "neither built in nor the config's")
    assert not marker.exists()


def test_every_operator_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    # The quickstart makes children by every operator: tools (tuples of tuples), new tasks, mutated
    # hyper-parameters and Q-tables all go through the checkpoint and come back as they were.
    from spawn.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[3] / "examples" / "quickstart.toml")
    simulate(cfg, tmp_path / "full")
    never = 1e9  # checkpoints only where the run stops, however slow the machine (the count below)
    simulate(cfg, tmp_path / "cut", stop_after=7, checkpoint_every=never)
    resume(tmp_path / "cut", stop_after=5, checkpoint_every=never)
    resume(tmp_path / "cut", checkpoint_every=never)
    assert _bytes(tmp_path / "cut") == _bytes(tmp_path / "full")
    ops = {json.loads(line)["record"]["operator"] for seg in (tmp_path / "cut" / "checkpoint").glob("seg-*")
           for line in seg.open()}
    assert len(_manifest(tmp_path / "cut")["segments"]) == 3
    assert {"finetune", "retrain-on-drift", "mutate", "add-tool", "new-task"} <= ops


def _small_files() -> None:  # in the child: writes past 5 kB fail with EFBIG (an OSError), not a signal
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (5_000, 5_000))


def test_a_write_that_fails_once_the_run_started_leaves_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(config_to_toml(config()))
    out = tmp_path / "new" / "out"
    done = subprocess.run(
        [*CLI, "run", str(cfg), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=_small_files,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "too large" in lines[0], done.stderr
    assert not (tmp_path / "new").exists()
