"""Reading a config: :func:`load_config` (a TOML file), :func:`parse_config` (a mapping), the one-line
message a pydantic ``ValidationError`` becomes (:func:`one_line`), and the import of the plugin modules
a config names (:func:`load_plugins`, :func:`import_plugins`).

Examples
--------
>>> parse_config({"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1"}], "eval": {"episods": 3}})
Traceback (most recent call last):
...
spawn.errors.ConfigError: <config>: unknown key 'eval.episods' (did you mean 'episodes'?); accepted keys: ...
>>> plugin_env_module("my_pkg.envs:Maze-v0"), plugin_env_module("FrozenLake-v1")
('my_pkg.envs', None)
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from spawn import limits
from spawn.config.checks import check_work, names_deferred
from spawn.config.data import MAX_NESTING, check_data, shown
from spawn.config.model import SimConfig
from spawn.config.sections import (
    AgentConfig,
    ArchiveConfig,
    AttributionConfig,
    BaselineConfig,
    CapsConfig,
    EnvConfig,
    EvalConfig,
    FaultsConfig,
    GateConfig,
    GoalDriftConfig,
    MutationConfig,
    OutputConfig,
    SpawnConfig,
    ToolsConfig,
    TrackingConfig,
)
from spawn.errors import ConfigError, did_you_mean
from spawn.plugins import import_plugin_module

__all__ = ["import_plugins", "load_config", "load_plugins", "one_line", "parse_config", "plugin_env_module"]

_ROOT_TYPES: dict[str, type[BaseModel]] = {
    "": SimConfig,
    "agent": AgentConfig,
    "spawn": SpawnConfig,
    "mutation": MutationConfig,
    "goal_drift": GoalDriftConfig,
    "tools": ToolsConfig,
    "caps": CapsConfig,
    "gate": GateConfig,
    "eval": EvalConfig,
    "faults": FaultsConfig,
    "archive": ArchiveConfig,
    "attribution": AttributionConfig,
    "baseline": BaselineConfig,
    "envs": EnvConfig,
    "output": OutputConfig,
    "tracking": TrackingConfig,
}


def _accepted_keys(loc: tuple[Any, ...]) -> list[str]:
    section = next((str(p) for p in loc[:-1] if isinstance(p, str)), "")
    model = _ROOT_TYPES.get(section, SimConfig)
    keys = []
    for name, field in model.model_fields.items():
        keys.append(field.alias or name)
    return keys


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_UNION_TAGS = ("str", "int", "float", "bool")


def _tag(part: Any) -> bool:
    """A part of an error location that names a member of a union or a validator, not a key."""
    return isinstance(part, str) and (
        part.startswith(("function-", "list[", "tuple[", "union[")) or part in _UNION_TAGS
    )


def one_line(source: str, exc: ValidationError) -> ConfigError:
    """The first error of ``exc`` as one :class:`ConfigError` line: ``source``, key, bad value, what is accepted."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not _tag(p))
    where = _where(loc)
    if err["type"] == "extra_forbidden":
        key = str(loc[-1])
        accepted = _accepted_keys(loc)
        hint = did_you_mean(key, accepted)
        prefix = _where(loc[:-1])
        full = (prefix + "." if prefix else "") + key
        return ConfigError(f"{source}: unknown key {full!r}{hint}; accepted keys: {', '.join(accepted)}")
    if err["type"] == "missing":
        return ConfigError(f"{source}: missing required key {where!r}")
    if err["type"] == "agent_key":  # AgentConfig's own message names the key
        return ConfigError(f"{source}: {err['msg']}")
    msg = str(err["msg"]).removeprefix("Value error, ")
    bad = err.get("input")
    if err["type"] != "value_error" and isinstance(bad, str | int | float | bool):
        msg = msg[0].lower() + msg[1:]
        return ConfigError(f"{source}: {where} = {shown(bad)} is not accepted: {msg}")
    return ConfigError(f"{source}: {where}: {msg}" if where else f"{source}: {msg}")


def plugin_env_module(env_id: str) -> str | None:
    """The module of a ``"module:EnvId"`` environment id, else ``None``."""
    return env_id.split(":", 1)[0] if ":" in env_id else None


def import_plugins(cfg: SimConfig) -> None:
    """Import the plugin modules a config names: run only once everything else in the config is valid.

    Importing runs the plugin's code, as installing a package does. ``module:EnvId`` modules are
    imported and the id then looked up in gymnasium's registry; a ``module:Class`` agent is loaded and
    checked for the methods of the :class:`~spawn.agents.Agent` protocol.
    """

    import gymnasium as gym

    from spawn.agents import agent_class

    for i, env in enumerate(cfg.envs):
        module = plugin_env_module(env.id)
        if module is None:
            continue
        import_plugin_module(module, f"envs[{i}].id = {shown(env.id)}")
        name = env.id.split(":", 1)[1]
        if name not in gym.registry:
            raise ConfigError(
                f"envs[{i}].id = {shown(env.id)}: importing {module!r} registered no environment {name!r}"
            )
    if ":" in cfg.agent.kind:
        problem = cfg.agent.refusal(agent_class(cfg.agent.kind))  # its [agent] keys, against its declarations
        if problem:
            raise ConfigError(problem)


@functools.lru_cache(maxsize=64)
def load_plugins(modules: tuple[str, ...]) -> None:
    """Import a config's ``plugins`` (once per process), so that their registrations are visible.

    The driver imports them while it checks the config (:func:`parse_config`); every worker (a local
    process, a Ray actor or shard) imports them before its first agent runs (:class:`spawn.life.job.Life`).
    """
    import importlib

    for i, module in enumerate(modules):
        try:
            importlib.import_module(module)
        except Exception as exc:  # a plugin's own failure, reported as a config error
            raise ConfigError(
                f"plugins[{i}] = {module!r}: module cannot be imported ({type(exc).__name__}: {shown(str(exc), 120)})"
            ) from None


def parse_config(data: Mapping[str, Any], source: str = "<config>") -> SimConfig:
    """Validate a config mapping (e.g. parsed TOML) into a :class:`SimConfig`.

    In this order: the config's form (every check that needs no registry, every ``[sweep]`` arm
    too), then the ``plugins`` it names are imported (:func:`load_plugins`), then the names it uses
    (operators, triggers, objectives, agents, selectors) are checked against the registries, which
    now hold the plugins' registrations. So a config wrong in its form imports nothing. Other plugin
    modules (``module:Class`` agents, ``module:EnvId`` environments) are imported by
    :func:`import_plugins`, which the run's suite calls once the config is valid.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: a config is a table of keys, got {type(data).__name__}")
    check_data(data, source)
    with names_deferred():
        cfg = _validate(data, source)
    try:
        load_plugins(cfg.plugins)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return _validate(data, source)


def _validate(data: Mapping[str, Any], source: str) -> SimConfig:
    try:
        cfg = SimConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise one_line(source, exc) from None
    try:
        check_work(cfg)
        if cfg.sweep:  # every arm checked as a whole config, before any plugin is imported
            from spawn.config.arms import arms

            for arm in arms(cfg):
                try:
                    check_work(arm.config)
                except ConfigError as exc:
                    raise type(exc)(f"sweep arm {arm.name!r}: {exc}") from None
    except ConfigError as exc:
        raise type(exc)(f"{source}: {exc}") from None  # a LimitError stays one
    return cfg


def load_config(path: str | Path, seed: int | None = None) -> SimConfig:
    """Read and validate a TOML config; ``seed`` overrides the file's ``seed``."""
    from lineage import LineageFileError, read_text

    p = Path(path)
    if not p.exists() and not p.is_symlink():
        raise ConfigError(f"{path}: no such config file")
    try:
        text = read_text(p, limit=limits.get("config_bytes"), what="a TOML config", hint=limits.hint("config_bytes"))
    except LineageFileError as exc:
        raise ConfigError(str(exc)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: is not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(
            f"{path}: is nested too deep to read; accepted: tables and arrays at most {MAX_NESTING} levels deep"
        ) from None
    except ValueError as exc:  # e.g. a whole number of thousands of digits
        raise ConfigError(f"{path}: is not a config this project reads ({shown(str(exc), 100)})") from None
    if seed is not None:
        data["seed"] = seed
    return parse_config(data, source=str(path))
