"""Run configuration: the TOML schema, strict validation, and one-line errors with "did you mean".

A config is checked completely before anything runs. Every mistake (an unknown key, a wrong type,
a value out of range, an unknown environment, agent, operator, objective or trigger, a file that is
not TOML) raises :class:`~spawn.errors.ConfigError` whose message is one line naming the key, the
bad value and what is accepted.

The package, one concern a module:

- :mod:`spawn.config.data`: the raw data (parsed TOML) checked before validation, and how a value is shown;
- :mod:`spawn.config.checks`: names against the registries, detector parameters, rule specs, work limits;
- :mod:`spawn.config.sections`: one model per table (``[[envs]]``, ``[agent]``, ``[spawn]``, ...);
- :mod:`spawn.config.model`: :class:`SimConfig`, a whole run;
- :mod:`spawn.config.load`: :func:`load_config`, :func:`parse_config`, plugin imports, one-line errors;
- :mod:`spawn.config.dump`: :func:`config_to_toml`, the config as run;
- :mod:`spawn.config.arms`: a sweep's arms.

Examples
--------
>>> cfg = parse_config({"seed": 1, "budget": 1000, "envs": [{"id": "FrozenLake-v1"}]})
>>> cfg.regime, cfg.agent.kind, cfg.caps.max_agents
('recursive', 'q', 200)
>>> parse_config({"seed": 1, "budget": 1000, "envs": [{"id": "FrozenLake-v1"}], "buget": 3})
Traceback (most recent call last):
...
spawn.errors.ConfigError: <config>: unknown key 'buget' (did you mean 'budget'?); accepted keys: ...
"""

from spawn.config.checks import (
    DETECTORS,
    check_detector,
    check_rule,
    check_selector,
    check_work,
    names_checked,
)
from spawn.config.data import MAX_INT, MAX_NESTING
from spawn.config.dump import config_to_toml
from spawn.config.load import (
    import_plugins,
    load_config,
    load_plugins,
    one_line,
    parse_config,
    plugin_env_module,
)
from spawn.config.model import SimConfig
from spawn.config.sections import (
    AGENT_KINDS,
    HARD_MAX_AGENTS,
    HARD_MAX_DEPTH,
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
    Scalar,
    SFloat,
    SpawnConfig,
    SStr,
    ToolsConfig,
    TrackingConfig,
)

__all__ = [
    "AGENT_KINDS",
    "DETECTORS",
    "HARD_MAX_AGENTS",
    "HARD_MAX_DEPTH",
    "MAX_INT",
    "MAX_NESTING",
    "AgentConfig",
    "ArchiveConfig",
    "AttributionConfig",
    "BaselineConfig",
    "CapsConfig",
    "EnvConfig",
    "EvalConfig",
    "FaultsConfig",
    "GateConfig",
    "GoalDriftConfig",
    "MutationConfig",
    "OutputConfig",
    "SFloat",
    "SStr",
    "Scalar",
    "SimConfig",
    "SpawnConfig",
    "ToolsConfig",
    "TrackingConfig",
    "check_detector",
    "check_rule",
    "check_selector",
    "check_work",
    "config_to_toml",
    "import_plugins",
    "load_config",
    "load_plugins",
    "names_checked",
    "one_line",
    "parse_config",
    "plugin_env_module",
]
