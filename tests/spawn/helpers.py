"""Small configs shared by the simulator tests: tiny budgets, stock or project environments."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from spawn.cli import main
from spawn.config import SimConfig, parse_config

FROZEN = {"id": "FrozenLake-v1", "return_range": [0, 1], "kwargs": {"is_slippery": False}}
HIRING = {"id": "lineage_sim/Hiring-v0", "kwargs": {"discrete": True}, "constitution": "default"}


def config(**overrides: Any) -> SimConfig:
    """A small valid config; keyword arguments replace or merge into top-level sections."""
    data: dict[str, Any] = {
        "seed": 3,
        "budget": 3000,
        "envs": [copy.deepcopy(FROZEN)],
        "spawn": {"round_steps": 100, "triggers": ["schedule"], "every": 1, "min_child_budget": 100},
        "eval": {"episodes": 2, "max_steps": 50},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return parse_config(data)


#: The top of a small config on FrozenLake, for tests that write TOML text.
TOP = "seed = 1\nbudget = 200\n"
ENV = '[[envs]]\nid = "FrozenLake-v1"\nreturn_range = [0, 1]\n'
BASE = TOP + ENV


def refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *parts: str, args: tuple[str, ...] = ()
) -> str:
    """Run config ``text`` through the CLI: status 2, one stderr line holding every part, no --out written."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(text, encoding="utf-8")
    return refused_path(tmp_path, capsys, cfg, *parts, args=args)


def refused_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cfg: Path, *parts: str, args: tuple[str, ...] = ()
) -> str:
    """:func:`refused` for a config file that is already there (or is a FIFO, a device...)."""
    out = tmp_path / "out"
    status = main(["run", str(cfg), "--out", str(out), "--quiet", *args])
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert status == 2, captured.err[:2000]
    assert len(err) == 1, captured.err[:2000]
    for part in parts:
        assert part in err[0], err[0][:2000]
    assert not out.exists()
    return err[0]
