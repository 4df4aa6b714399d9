"""Work no machine can finish is refused before it starts, with the estimate; limits are raised per run or command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from spawn import limits
from spawn.aiq.pool import POOL_CHUNK, chunk_path, load_pool, read_chunk
from spawn.cli import main
from spawn.config import check_rule, parse_config
from spawn.errors import ConfigError
from spawn.limits import LimitError

from ..helpers import BASE, ENV, TOP, refused


# ---------------------------------------------------------------------- evaluation
def test_evaluation_no_machine_finishes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(
        tmp_path,
        capsys,
        BASE + "[eval]\nepisodes = 10000\nmax_steps = 1000000\n",
        "evaluation of every agent",
        "10,000,000,000",
        "over the limit of 100,000,000 (eval_steps)",
        "--limit eval_steps=N",
    )


def test_evaluation_max_steps_as_float_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(tmp_path, capsys, BASE + "[eval]\nepisodes = 10000\nmax_steps = 1e6\n", "eval.max_steps = 1000000.0")


def test_evaluation_counts_every_environment() -> None:
    envs = [{"id": "FrozenLake-v1", "name": f"e{i}"} for i in range(3)]
    data = {"seed": 1, "budget": 10, "envs": envs, "eval": {"episodes": 100, "max_steps": 400_000}}
    with pytest.raises(LimitError, match="120,000,000 environment steps"):
        parse_config(data)
    parse_config({**data, "envs": envs[:2]})  # 80,000,000: within the limit


def test_limits_raised_for_a_run_and_for_a_command() -> None:
    data = {"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1"}], "eval": {"episodes": 10000, "max_steps": 10**6}}
    with pytest.raises(LimitError):
        parse_config(data)
    cfg = parse_config({**data, "limits": {"eval_steps": 10**10}})  # a run's [limits] table
    assert cfg.limits == {"eval_steps": 10**10}
    with limits.overridden(["eval_steps=10000000000"]):  # --limit for one command
        parse_config(data)
    with limits.overridden(["eval_steps=10000000000"]), pytest.raises(LimitError):
        parse_config({**data, "limits": {"eval_steps": 1000}})  # the run's own table comes first


def test_a_runs_limits_are_written_with_it(tmp_path: Path) -> None:
    from spawn.config import config_to_toml, load_config

    cfg = parse_config({"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1"}], "limits": {"map_cells": 5}})
    p = tmp_path / "c.toml"
    p.write_text(config_to_toml(cfg))
    assert "[limits]\nmap_cells = 5\n" in p.read_text()
    assert load_config(p) == cfg
    plain = parse_config({"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1"}]})
    assert "[limits]" not in config_to_toml(plain)  # runs without limits write the config they always wrote


# ---------------------------------------------------------------------- maps and programs
def _map(n: int) -> str:
    rows = ["S" + "F" * (n - 1)] + ["F" * n] * (n - 2) + ["F" * (n - 1) + "G"]
    return "[" + ", ".join(f'"{r}"' for r in rows) + "]"


def test_huge_frozen_lake_map_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = TOP + ENV + f"kwargs = {{ desc = {_map(600)} }}\n"
    refused(tmp_path, capsys, text, "envs[0] (FrozenLake-v1) map 'desc'", "360,000 cells", "(map_cells)")


def test_3000_by_3000_map_refused_even_with_the_config_limit_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TOP + ENV + f"kwargs = {{ desc = {_map(3000)} }}\n"
    refused(tmp_path, capsys, text, "config_bytes")
    refused(tmp_path, capsys, text, "9,000,000 cells", "(map_cells)", args=("--limit", "config_bytes=20000000"))


def test_a_small_map_still_runs(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        TOP + ENV + f"kwargs = {{ desc = {_map(5)} }}\n[eval]\nepisodes = 1\nmax_steps = 20\n"
        '[spawn]\nround_steps = 50\ntriggers = ["schedule"]\n'
    )
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 0


def test_million_character_bf_program_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = TOP + '[[envs]]\nid = "lineage_sim/BF-v0"\nkwargs = { program = "' + "+" * 1_000_000 + '" }\n'
    refused(
        tmp_path,
        capsys,
        text,
        "envs[0] (lineage_sim/BF-v0) 'program'",
        "1,000,000 characters",
        "(bf_program_chars)",
        args=("--limit", "config_bytes=2000000"),
    )


# ---------------------------------------------------------------------- Shapley samples
@pytest.mark.parametrize(
    "text",
    [
        BASE + '[attribution]\nrules = ["shapley:samples=1000000000"]\n',
        'seed = 1\nbudget = 200\nregime = "archive"\nselector = "rule:shapley:samples=1000000000"\n' + ENV,
    ],
)
def test_shapley_samples_refused(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(tmp_path, capsys, text, "shapley:samples=1000000000", "1,000,000,000 orderings", "(shapley_samples)")


def test_check_rule() -> None:
    assert check_rule("shapley:samples=100").samples == 100
    with pytest.raises(LimitError, match="shapley_samples"):
        check_rule("shapley:samples=1000000000")
    with limits.overridden(["shapley_samples=2000000000"]):
        assert check_rule("shapley:samples=1000000000").samples == 10**9
    assert check_rule("shapley:samples=1000000000", {"shapley_samples": 10**9}).samples == 10**9
    with pytest.raises(ConfigError, match="discountd"):
        check_rule("discountd")
    with pytest.raises(ConfigError):
        check_rule("shapley:samples=" + "9" * 5000)


# ---------------------------------------------------------------------- universal
def test_universal_too_many_programs_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    status = main(["universal", "--agent", "random", "--programs", "1000000000000", "--cache-dir", str(cache)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1
    assert "1,000,000,000,000 programs" in err[0] and "(aiq_cycles)" in err[0] and "--limit aiq_cycles=N" in err[0]
    assert not cache.exists()


@pytest.mark.parametrize(
    ("argv", "part"),
    [
        (["--pool-size", "1000000000"], "(aiq_pool)"),
        (["--programs", "5000", "--pool-size", "1000"], "more than the pool of 1,000 holds"),
    ],
)
def test_universal_pool_refused_before_any_work(
    argv: list[str], part: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    status = main(["universal", "--agent", "random", *argv, "--cache-dir", str(cache)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and part in err[0]
    assert not cache.exists()


# ---------------------------------------------------------------------- the AIQ pool cache is data
def _hostile(path: Path, kind: str, good: str) -> None:
    path.unlink()
    lines = good.split("\n")
    if kind == "truncated":
        path.write_text(good[: len(good) // 2])
    elif kind == "empty":
        path.write_text("")
    elif kind == "binary":
        path.write_bytes(b"\xff\x00" * 100)
    elif kind == "bad stratum":
        path.write_text("\n".join([lines[0], "99\t+", *lines[2:]]))
    elif kind == "negative stratum":
        path.write_text("\n".join([lines[0], "-1\t+", *lines[2:]]))
    elif kind == "not bf":
        path.write_text("\n".join([lines[0], "1\timport os", *lines[2:]]))
    elif kind == "bad header":
        path.write_text("\n".join(["# raw=1e9 passive=x", *lines[1:]]))
    elif kind == "wrong counts":
        path.write_text("\n".join(["# raw=1 passive=0 overtime=0", *lines[1:]]))
    elif kind == "huge digits":
        path.write_text("\n".join(["# raw=" + "9" * 5000 + " passive=0 overtime=0", *lines[1:]]))
    elif kind == "huge":
        with path.open("w") as fh:
            fh.write(good)
            fh.write("1\t" + "+" * 2_000_000 + "\n")
    elif kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink to /dev/zero":
        path.symlink_to("/dev/zero")


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str]:
    """A pool of one chunk drawn with no cache, and the text of its cached chunk."""
    cache = tmp_path_factory.mktemp("aiq")
    pool = load_pool(seed=4, size=POOL_CHUNK, cache_dir=cache)
    path = chunk_path(cache, 4, 5, 0)
    assert read_chunk(path) is not None  # a genuine chunk reads back
    return pool, path.read_text()


KINDS = [
    "truncated", "empty", "binary", "bad stratum", "negative stratum", "not bf", "bad header",
    "wrong counts", "huge digits", "huge", "folder", "fifo", "symlink to /dev/zero",
]  # fmt: skip


def _planted(tmp_path: Path, kind: str, text: str) -> tuple[Path, Path]:
    cache = tmp_path / "cache"
    path = chunk_path(cache, 4, 5, 0)
    path.parent.mkdir(parents=True)
    path.write_text(text)
    _hostile(path, kind, text)
    return cache, path


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_pool_cache_is_never_trusted(kind: str, tmp_path: Path, genuine: tuple[object, str]) -> None:
    _, path = _planted(tmp_path, kind, genuine[1])
    assert read_chunk(path) is None


@pytest.mark.parametrize("kind", ["truncated", "bad stratum", "fifo", "huge digits"])
def test_hostile_pool_cache_is_redrawn(kind: str, tmp_path: Path, genuine: tuple[object, str]) -> None:
    cache, _ = _planted(tmp_path, kind, genuine[1])
    assert load_pool(seed=4, size=POOL_CHUNK, cache_dir=cache) == genuine[0]  # redrawn, never a crash


def test_no_cache_needed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no cache present, and one that cannot be written, the pool is drawn and the same."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LINEAGE_SIM_CACHE", str(blocker / "cache"))
    a = load_pool(seed=5, size=POOL_CHUNK)
    assert a == load_pool(seed=5, size=POOL_CHUNK, cache_dir=tmp_path / "c")


# ---------------------------------------------------------------------- sweeps
def test_sweep_of_too_many_runs_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds = "[" + ", ".join(str(i) for i in range(200)) + "]"
    values = "[" + ", ".join(f"0.{i:03d}1" for i in range(100)) + "]"
    text = TOP + f"[sweep]\nseeds = {seeds}\n'agent.alpha' = {values}\n" + ENV
    refused(tmp_path, capsys, text, "[sweep] of 200 seeds x 100 agent.alpha", "20,000 runs", "(sweep_runs)")


def test_every_sweep_arm_is_checked_at_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = TOP + "[sweep]\n'eval.max_steps' = [10, 1000000]\n" + ENV + "[eval]\nepisodes = 1000\n"
    refused(tmp_path, capsys, text, "sweep arm 'max_steps=1000000'", "(eval_steps)")
