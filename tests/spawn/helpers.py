"""Small configs shared by the simulator tests: tiny budgets, stock or project environments."""

from __future__ import annotations

import copy
from typing import Any

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
