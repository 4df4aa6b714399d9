"""The README's "Extending" example runs as written: its operator, trigger and agent make a lineage."""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from spawn.agents import AGENT_REGISTRY
from spawn.registry import OPERATORS, TRIGGERS

README = Path(__file__).resolve().parents[1] / "README.md"
NAMES = ((OPERATORS, "explore-again"), (TRIGGERS, "every-third-round"), (AGENT_REGISTRY, "reward-counter"))


@pytest.fixture
def extending() -> Iterator[types.ModuleType]:
    """The section's Python block, run as a module of its own; its registrations removed afterwards."""
    text = README.read_text()
    section = text[text.index("## Extending lineage-sim") : text.index("## Layout")]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    module = types.ModuleType("readme_extending")
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, str(README), "exec"), module.__dict__)
        yield module
    finally:
        for registry, name in NAMES:
            if name in registry:
                registry.unregister(name)
        del sys.modules[module.__name__]


def test_the_extending_example_makes_a_lineage(extending: types.ModuleType, tmp_path: Path) -> None:
    import pandas as pd

    import spawn
    from spawn.errors import ConfigError

    cfg = {
        "seed": 4,
        "budget": 3000,
        "envs": [{"id": "FrozenLake-v1", "kwargs": {"is_slippery": False}, "return_range": [0, 1]}],
        "agent": {"kind": "reward-counter", "prior": 2.0},
        "spawn": {"triggers": ["every-third-round"], "round_steps": 100, "min_child_budget": 200},
        "operators": {"explore-again": 1.0, "mutate": 1.0},
        "eval": {"episodes": 2, "max_steps": 50},
    }
    run = spawn.simulate(cfg, tmp_path / "run")
    agents = pd.read_csv(tmp_path / "run" / "agents.csv", dtype={"id": str})
    assert len(agents) > 1 and set(agents["agent"]) == {"reward-counter"}
    assert {"explore-again", "mutate"} >= set(agents["operator"].dropna()) and agents["operator"].notna().any()
    assert run.lineage.roots() == ["0"]
    with pytest.raises(ConfigError, match="accepted keys: "):
        spawn.simulate({**cfg, "agent": {"kind": "reward-counter", "priorr": 2.0}}, tmp_path / "bad")


def test_the_agent_declares_what_mutate_perturbs(extending: types.ModuleType) -> None:
    from spawn.agents import mutation_ranges

    assert mutation_ranges(extending.RewardCounter) == {"prior": (0.1, 10.0)}
