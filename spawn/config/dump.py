"""Writing a config: :func:`config_to_toml`, the config as run with every default filled in.

The text is written as a run's ``config.toml`` and a resumed run compares its digest, so it is
deterministic: the top-level keys first, then every ``[[envs]]`` table, then every section in the
order :class:`~spawn.config.model.SimConfig` declares them, ``[sweep]`` last. ``[limits]``,
``[goal_drift]`` and ``[baseline]`` are written only when they differ from the default, and the
``[archive]`` keys of HGM's loop only with ``expand = "ucb-air"``, so that a config that does not
use them writes the text it wrote before they existed. ``[tracking]`` is never written: where a run
is tracked is no part of it (the checkpoint's digest is of this text, so a run resumes with or
without tracking).

Examples
--------
>>> from spawn.config.load import parse_config
>>> text = config_to_toml(parse_config({"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1"}]}))
>>> for line in text.splitlines()[:7]:
...     print(line)
seed = 1
budget = 10
regime = "recursive"
selector = "dgm"
<BLANKLINE>
[[envs]]
id = "FrozenLake-v1"
"""

from __future__ import annotations

import math
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spawn.config.model import SimConfig

__all__ = ["config_to_toml"]

_TOML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _toml_string(v: str) -> str:
    out = []
    for ch in v:
        if ch in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[ch])
        elif unicodedata.category(ch) in ("Cc", "Cs") or ch in "\u2028\u2029":
            out.append(f"\\u{ord(ch):04X}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return repr(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise TypeError(f"cannot write {v!r} as a config value")
        return repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def _toml_key(k: str) -> str:
    return k if k and k.isascii() and k.replace("-", "").replace("_", "").isalnum() else _toml_value(k)


def config_to_toml(cfg: SimConfig) -> str:
    """The config as run, every default filled in, as TOML text (deterministic)."""
    data = cfg.model_dump(by_alias=True, exclude_none=True)
    sweep = data.pop("sweep", {})
    data.pop("tracking", None)  # never: tracking changes no byte of the run (nor its digest)
    lines = [f"{k} = {_toml_value(data[k])}" for k in ("seed", "budget", "regime", "selector")]
    if not data.pop("constitutions", True):  # written only when false: other runs keep their config.toml
        lines.append("constitutions = false")
    if data.pop("engine", "per-agent") != "per-agent":  # likewise: the engine changes no other output
        lines.append(f"engine = {_toml_value(cfg.engine)}")
    plugins = data.pop("plugins", ())
    if plugins:  # a run without plugins writes the config it always wrote
        lines.append(f"plugins = {_toml_value(list(plugins))}")
    for env in data["envs"]:
        lines += ["", "[[envs]]", *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in env.items())]
    # Every table, in the order SimConfig declares them.
    if not data.get("limits"):
        data.pop("limits", None)  # a run without its own limits writes the config it always wrote
    if cfg.goal_drift == type(cfg.goal_drift)():
        data.pop("goal_drift", None)  # likewise a run whose [goal_drift] is the default
    if not cfg.baseline.solo:
        data.pop("baseline", None)  # and a run that asks for no counterfactual
    if cfg.output.format == "json":
        data.pop("output", None)  # and a run that writes the default files
    if cfg.archive.expand == "batch":  # and an archive run without HGM's loop (its keys then do nothing)
        for key in ("expand", "alpha", "hgm_cooldown", "final_trials"):
            data["archive"].pop(key, None)
    if not cfg.archive.test_episodes:
        data["archive"].pop("test_episodes", None)
    for section in [k for k in data if isinstance(data[k], dict)]:
        lines += [
            "",
            f"[{section}]",
            *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data[section].items()),
        ]
    if sweep:
        lines += ["", "[sweep]", *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sweep.items())]
    return "\n".join(lines) + "\n"
