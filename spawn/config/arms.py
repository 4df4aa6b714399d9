"""A sweep's arms: every combination of the ``[sweep]`` settings, each a whole config checked before
anything runs (the config refuses a sweep with a bad arm; :mod:`spawn.experiments.sweep` runs them).

Examples
--------
>>> from spawn.config import parse_config
>>> cfg = parse_config({"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1", "return_range": [0, 1]}],
...                     "sweep": {"agent.objective": ["raw", "penalised"], "seeds": [1, 2]}})
>>> [(arm.name, seeds) for arm, seeds in [(a, a.seeds) for a in arms(cfg)]]
[('objective=raw', (1, 2)), ('objective=penalised', (1, 2))]
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from spawn.config.load import one_line
from spawn.config.model import SimConfig

__all__ = ["Arm", "arm_slug", "arms"]


def arm_slug(text: str) -> str:
    """A directory name for an arm: ``rule:discounted:gamma=0.7`` -> ``rule-discounted-gamma-0.7``.

    Examples
    --------
    >>> arm_slug("rule:discounted:gamma=0.7")
    'rule-discounted-gamma-0.7'
    """
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")


@dataclass(frozen=True)
class Arm:
    name: str
    settings: dict[str, Any]
    config: SimConfig  # with the arm's settings, no sweep
    seeds: tuple[int, ...]

    def run_dir(self, out: Path, seed: int) -> Path:
        return out / self.name / f"seed-{seed}"


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    if key.startswith("envs."):  # envs.<index>.kwargs.<name> (checked by the config)
        _, index, _, name = key.split(".")
        data["envs"][int(index)].setdefault("kwargs", {})[name] = value
        return
    head, _, tail = key.partition(".")
    if tail:
        data.setdefault(head, {})[tail] = value
    else:
        data[head] = value


def _text(v: Any) -> str:
    """A setting as TOML writes it: ``true``, not Python's ``True``."""
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def arms(cfg: SimConfig, seed_override: int | None = None) -> list[Arm]:
    """The sweep's arms, each validated (so a bad setting is refused before anything runs)."""
    keys = [k for k in cfg.sweep if k != "seeds"]
    seeds = (seed_override,) if seed_override is not None else tuple(int(x) for x in cfg.sweep.get("seeds", [cfg.seed]))
    base = cfg.model_dump(by_alias=True, exclude_none=True)
    base.pop("sweep", None)
    out = []
    for combo in itertools.product(*(cfg.sweep[k] for k in keys)):
        data = json.loads(json.dumps(base))
        settings = dict(zip(keys, combo, strict=True))
        for k, v in settings.items():
            _set(data, k, v)
        name = ",".join(f"{k.split('.')[-1]}={arm_slug(_text(v))}" for k, v in settings.items()) or "base"
        try:
            arm_cfg = SimConfig.model_validate(data)
        except ValidationError as exc:
            raise one_line(f"sweep arm {name!r}", exc) from None
        out.append(Arm(name, settings, arm_cfg, seeds))
    return out
