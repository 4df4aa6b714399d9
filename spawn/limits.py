"""Every limit on work and input, in one place.

A limit protects the machine from work no machine can finish and from input that is too large to
read: a config over a megabyte, an evaluation of 10^10 steps per agent, a map of 10^7 cells. Each
has a default here and is raised (or lowered) either for one command with ``--limit NAME=VALUE``
(repeatable, on every command) or, for a run, in the config's ``[limits]`` table. A refusal names
the limit, the estimate that passed it, and how to raise it.

Examples
--------
>>> get("config_bytes")
1000000
>>> with overridden(["config_bytes=5000000"]):
...     get("config_bytes")
5000000
>>> parse_overrides(["colour=3"])
Traceback (most recent call last):
...
spawn.errors.ConfigError: --limit 'colour=3': unknown limit 'colour'; accepted: ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from spawn.errors import ConfigError, did_you_mean

__all__ = ["LIMITS", "Limit", "LimitError", "check", "get", "overridden", "parse_overrides", "set_overrides"]


class LimitError(ConfigError):
    """Work or input over one of the :data:`LIMITS`; the message says how to raise it."""


@dataclass(frozen=True)
class Limit:
    name: str
    default: int
    what: str  # what is counted, e.g. "bytes of a config file"


def _limits(*items: Limit) -> dict[str, Limit]:
    return {x.name: x for x in items}


#: The limits, by name. Add new ones here, never elsewhere.
LIMITS: dict[str, Limit] = _limits(
    Limit("config_bytes", 1_000_000, "bytes of a config file"),
    Limit("data_bytes", 4 * 2**30, "bytes of a lineage or other data file that is read"),
    Limit("eval_steps", 100_000_000, "environment steps of one agent's evaluation"),
    Limit("map_cells", 250_000, "cells of an environment's map (a FrozenLake 'desc')"),
    Limit("bf_program_chars", 100_000, "characters of a BF program"),
    Limit("shapley_samples", 1_000_000, "orderings sampled by a Shapley rule"),
    Limit("aiq_cycles", 10_000_000_000, "BF cycles of an AIQ estimate (2 x programs x episode length)"),
    Limit("aiq_pool", 1_000_000, "programs in the AIQ stratum pool"),
    Limit("sweep_runs", 10_000, "runs of a sweep (arms x seeds)"),
)

_overrides: dict[str, int] = {}


def parse_overrides(pairs: Iterable[str]) -> dict[str, int]:
    """``["name=value", ...]`` as a mapping; one-line errors naming the bad pair."""
    out: dict[str, int] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep:
            raise ConfigError(f"--limit {pair!r}: expected NAME=VALUE; names: {', '.join(LIMITS)}")
        if name not in LIMITS:
            hint = did_you_mean(name, list(LIMITS))
            raise ConfigError(f"--limit {pair!r}: unknown limit {name!r}{hint}; accepted: {', '.join(LIMITS)}")
        text = text.strip().replace("_", "")
        if not (text.isdigit() and len(text) <= 30 and int(text) >= 1):
            raise ConfigError(f"--limit {pair!r}: expected a whole number from 1 to 10^30, got {text[:40]!r}")
        value = int(text)
        out[name] = value
    return out


def set_overrides(pairs: Iterable[str]) -> None:
    """Apply ``--limit`` pairs for the rest of this process (the command line calls this once)."""
    _overrides.clear()
    _overrides.update(parse_overrides(pairs))


@contextlib.contextmanager
def overridden(pairs: Iterable[str]) -> Iterator[None]:
    """Apply ``--limit`` pairs inside a ``with`` block (for tests and notebooks)."""
    saved = dict(_overrides)
    _overrides.update(parse_overrides(pairs))
    try:
        yield
    finally:
        _overrides.clear()
        _overrides.update(saved)


def get(name: str, config_limits: Mapping[str, int] | None = None) -> int:
    """The limit in force: a run's ``[limits]`` entry, else a ``--limit`` flag, else the default."""
    if config_limits and name in config_limits:
        return int(config_limits[name])
    if name in _overrides:
        return _overrides[name]
    return LIMITS[name].default


def hint(name: str) -> str:
    """How to raise limit ``name``."""
    return f"raise it with --limit {name}=N or [limits] {name} = N"


def check(name: str, estimate: Any, what: str, config_limits: Mapping[str, int] | None = None) -> None:
    """Raise :class:`LimitError` when ``estimate`` passes limit ``name``; ``what`` says what was estimated."""
    cap = get(name, config_limits)
    if estimate > cap:
        raise LimitError(f"{what}: {estimate:,} {LIMITS[name].what}, over the limit of {cap:,} ({name}); {hint(name)}")
