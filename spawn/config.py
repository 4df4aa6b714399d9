"""Run configuration: the TOML schema, strict validation, and one-line errors with "did you mean".

A config is checked completely before anything runs. Every mistake (an unknown key, a wrong type,
a value out of range, an unknown environment, agent, operator, objective or trigger, a file that is
not TOML) raises :class:`~spawn.errors.ConfigError` whose message is one line naming the key, the
bad value and what is accepted.

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

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spawn.errors import ConfigError

__all__ = [
    "AGENT_KINDS",
    "OBJECTIVES",
    "OPERATORS",
    "SELECTORS",
    "TRIGGERS",
    "AgentConfig",
    "ArchiveConfig",
    "AttributionConfig",
    "CapsConfig",
    "EnvConfig",
    "EvalConfig",
    "FaultsConfig",
    "GateConfig",
    "MutationConfig",
    "SimConfig",
    "SpawnConfig",
    "ToolsConfig",
    "config_to_toml",
    "load_config",
    "parse_config",
]

AGENT_KINDS = ("q", "q-lambda", "linear", "random")
OBJECTIVES = ("raw", "shielded", "penalised", "lagrangian")
OPERATORS = ("finetune", "retrain-on-drift", "mutate", "add-tool", "new-task")
OPERATOR_KIND = {
    "finetune": "narrow",
    "retrain-on-drift": "narrow",
    "mutate": "broad",
    "add-tool": "broad",
    "new-task": "broad",
}
TRIGGERS = ("schedule", "drift", "plateau")
DETECTORS = ("adwin", "page-hinkley")

#: Caps that hold whatever a config asks for.
HARD_MAX_DEPTH = 64
HARD_MAX_AGENTS = 1_000_000

Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, populate_by_name=True)


def _one_of(value: str, accepted: tuple[str, ...], what: str) -> str:
    if value in accepted:
        return value
    close = difflib.get_close_matches(value, accepted, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"unknown {what} {value!r}{hint}; accepted: {', '.join(accepted)}")


class EnvConfig(_Strict):
    """One environment of the suite (a ``[[envs]]`` table)."""

    id: str = Field(
        description="any registered gymnasium id, e.g. 'FrozenLake-v1' or 'lineage_sim/Hiring-v0'"
    )
    name: str | None = Field(
        None, description="attribute prefix for this environment (default: the id without namespace)"
    )
    kwargs: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="keyword arguments for gymnasium.make"
    )
    return_range: tuple[float, float] | None = Field(
        None, description="episode return range, for stock environments"
    )
    constitution: str | None = Field(None, description="'default' or a registered constitution name")
    train: bool = Field(
        True, description="whether the root agent trains on it (others are for evaluation and new-task)"
    )

    @property
    def slug(self) -> str:
        return self.name or self.id.split("/")[-1]

    @field_validator("return_range")
    @classmethod
    def _range(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not v[0] < v[1]:
            raise ValueError(f"return_range must be [low, high] with low < high, got {list(v)}")
        return v

    @field_validator("id")
    @classmethod
    def _known_env(cls, v: str) -> str:
        import gymnasium as gym

        import envs  # noqa: F401  (registers lineage_sim/ environments)

        if v not in gym.registry:
            _one_of(v, tuple(sorted(gym.registry)), "environment")
        return v


class AgentConfig(_Strict):
    """The root agent: its kind, hyper-parameters and training objective (``[agent]``)."""

    kind: str = Field("q", description="q | q-lambda | linear | random, or 'module:Class' for a plugin")
    objective: str = Field("raw", description="raw | shielded | penalised | lagrangian")
    selection: Literal["epsilon-greedy", "softmax"] = "epsilon-greedy"
    step_size: Literal["constant", "visits"] = Field(
        "constant", description="q: alpha, or max(alpha, 1/visits) (a sample average that hardens with experience)"
    )
    alpha: float = Field(0.1, gt=0, le=1, description="learning rate (tabular)")
    gamma: float = Field(0.95, ge=0, le=1, description="discount")
    epsilon: float = Field(0.1, ge=0, le=1, description="exploration (epsilon-greedy)")
    temperature: float = Field(0.5, gt=0, description="softmax temperature")
    lam: float = Field(0.8, ge=0, le=1, alias="lambda", description="trace decay (q-lambda)")
    lr: float = Field(0.05, gt=0, le=10, description="learning rate (linear REINFORCE)")
    penalty_weight: float = Field(1.0, ge=0, description="weight of violations and cost (penalised)")
    lagrange_lr: float = Field(0.05, ge=0, description="eta of the lambda update (lagrangian)")
    cost_limit: float = Field(0.0, ge=0, description="episode cost limit d (lagrangian)")

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        return v if ":" in v else _one_of(v, AGENT_KINDS, "agent kind")

    @field_validator("objective")
    @classmethod
    def _objective(cls, v: str) -> str:
        return _one_of(v, OBJECTIVES, "objective")


class SpawnConfig(_Strict):
    """When and how an agent creates children (``[spawn]``)."""

    round_steps: int = Field(250, ge=1, description="training steps between two decisions")
    triggers: tuple[str, ...] = Field(("schedule", "drift"), description="schedule | drift | plateau")
    every: int = Field(2, ge=1, description="schedule trigger: spawn every this many rounds")
    detector: str = Field("adwin", description="drift detector: adwin | page-hinkley (river)")
    detector_params: dict[str, float | int] = Field(
        default_factory=dict, description="keyword arguments of the river detector"
    )
    drift_direction: Literal["down", "both"] = Field(
        "down", description="which changes of the reward raise a drift alarm: drops only, or any"
    )
    drift_window: int = Field(
        1, ge=1, le=100_000, description="the detector sees the mean reward of each block of this many steps"
    )
    plateau_patience: int = Field(3, ge=1, description="rounds without improvement before a plateau fires")
    plateau_tolerance: float = Field(
        0.01, ge=0, description="improvement smaller than this is no improvement"
    )
    child_share: float = Field(
        0.5, gt=0, lt=1, description="share of the remaining budget (and agent quota) a child gets"
    )
    min_child_budget: int = Field(100, ge=1, description="no child gets fewer training steps than this")
    max_children: int = Field(3, ge=0, le=1000, description="children per agent at most")

    @field_validator("triggers", mode="before")
    @classmethod
    def _triggers(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list | tuple):
            for t in v:
                if isinstance(t, str):
                    _one_of(t, TRIGGERS, "trigger")
        return v

    @field_validator("detector")
    @classmethod
    def _detector(cls, v: str) -> str:
        return _one_of(v, DETECTORS, "drift detector")


class MutationConfig(_Strict):
    """What ``mutate`` does (``[mutation]``)."""

    sigma: float = Field(0.3, ge=0, le=5, description="log-normal scale of hyper-parameter perturbations")
    switch_probability: float = Field(0.3, ge=0, le=1, description="probability of switching architecture")


class ToolsConfig(_Strict):
    """What ``add-tool`` mines (``[tools]``)."""

    min_length: int = Field(2, ge=2, le=16)
    max_length: int = Field(3, ge=2, le=16)
    max_tools: int = Field(4, ge=1, le=64, description="tools per environment at most")
    best_fraction: float = Field(0.5, gt=0, le=1, description="mine the best fraction of training episodes")

    @model_validator(mode="after")
    def _lengths(self) -> ToolsConfig:
        if self.min_length > self.max_length:
            raise ValueError(f"min_length {self.min_length} is greater than max_length {self.max_length}")
        return self


class CapsConfig(_Strict):
    """Hard limits on the lineage (``[caps]``)."""

    max_depth: int = Field(8, ge=0, le=HARD_MAX_DEPTH)
    max_agents: int = Field(200, ge=1, le=HARD_MAX_AGENTS)


class GateConfig(_Strict):
    """The liability gate (``[gate]``): no spawning once the ancestor chain's penalties pass it."""

    max_liability: float | None = Field(
        None, ge=0, description="violations + cost along the chain; none = no gate"
    )


class EvalConfig(_Strict):
    """Evaluation, fixed per agent and reported apart from the budget (``[eval]``)."""

    episodes: int = Field(5, ge=1, le=10_000)
    max_steps: int = Field(200, ge=1, le=1_000_000, description="steps per evaluation episode at most")


class FaultsConfig(_Strict):
    """What an exception from user code does (``[faults]``)."""

    on_error: Literal["stop-clade", "continue-clade", "fail"] = Field(
        "stop-clade", description="record the error and drop the agent's children, keep them, or stop the run"
    )


SELECTORS = ("uniform", "greedy", "dgm", "hgm", "rule:<rule spec>")


class ArchiveConfig(_Strict):
    """The archive regime (``[archive]``): a driver picks parents from the archive, batch by batch."""

    batch_size: int = Field(4, ge=1, le=10_000, description="parents picked per batch (with replacement)")
    root_budget: int | None = Field(None, ge=1, description="training steps of the root (default: child_budget)")
    child_budget: int = Field(500, ge=1, description="training steps of every child")
    keep: Literal["all", "margin"] = Field("all", description="which children may become parents")
    margin: float = Field(0.1, ge=0, le=1, description="with keep = margin: value at least root value - margin")
    dgm_lambda: float = Field(10.0, gt=0, description="dgm: sigmoid steepness")
    hgm_tau: float = Field(1.0, gt=0, description="hgm: Thompson-sampling temperature tau")
    temperature: float = Field(0.1, gt=0, description="rule:<spec> selectors: softmax temperature over credit")


class AttributionConfig(_Strict):
    """Attribution rules to tabulate into ``attribution.csv`` (``[attribution]``)."""

    rules: tuple[str, ...] = Field((), description="rule specs, e.g. 'discounted:gamma=0.7' or 'cmp'")

    @field_validator("rules")
    @classmethod
    def _rules(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        from attribution import AttributionError, parse_rule

        for spec in v:
            try:
                parse_rule(spec)
            except AttributionError as exc:
                raise ValueError(str(exc)) from None
        return v


class SimConfig(_Strict):
    """A whole run. Pinned top-level keys: ``seed``, ``budget``, ``regime``, ``[[envs]]``."""

    seed: int = Field(ge=0, lt=2**63)
    budget: int = Field(ge=1, le=10**12, description="training environment steps for the whole lineage")
    regime: Literal["recursive", "archive"] = "recursive"
    selector: str = Field("dgm", description="archive regime: uniform | greedy | dgm | hgm | rule:<rule spec>")
    envs: tuple[EnvConfig, ...] = Field(min_length=1)
    agent: AgentConfig = AgentConfig()
    spawn: SpawnConfig = SpawnConfig()
    operators: dict[str, float] = Field(
        default_factory=lambda: dict.fromkeys(OPERATORS, 1.0), description="operator weights"
    )
    mutation: MutationConfig = MutationConfig()
    tools: ToolsConfig = ToolsConfig()
    caps: CapsConfig = CapsConfig()
    gate: GateConfig = GateConfig()
    eval: EvalConfig = EvalConfig()
    faults: FaultsConfig = FaultsConfig()
    archive: ArchiveConfig = ArchiveConfig()
    attribution: AttributionConfig = AttributionConfig()
    sweep: dict[str, list[Scalar]] = Field(
        default_factory=dict,
        description="config fields to vary (e.g. 'agent.objective', 'selector') and 'seeds': one run per setting",
    )

    @field_validator("sweep")
    @classmethod
    def _sweep(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in v.items():
            if not values:
                raise ValueError(f"sweep key {key!r} has no settings; give a non-empty list")
            if key == "seeds":
                if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in values):
                    raise ValueError(f"sweep seeds must be whole numbers >= 0, got {values}")
                continue
            head, _, tail = key.partition(".")
            fields = SimConfig.model_fields
            if head in ("envs", "sweep") or head not in fields:
                accepted = sorted(k for k in fields if k not in ("envs", "sweep"))
                close = difflib.get_close_matches(head, accepted, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"sweep key {key!r} names no config field{hint}; use 'seeds', a top-level key or 'section.key'"
                )
            sub = fields[head].annotation
            if tail:
                model_fields = getattr(sub, "model_fields", None)
                names = {f.alias or n for n, f in (model_fields or {}).items()}
                if model_fields is not None and tail not in names:
                    close = difflib.get_close_matches(tail, sorted(names), n=1)
                    hint = f" (did you mean '{head}.{close[0]}'?)" if close else ""
                    raise ValueError(f"sweep key {key!r} names no config field{hint}")
        return v

    @field_validator("selector")
    @classmethod
    def _selector(cls, v: str) -> str:
        if v.startswith("rule:"):
            from attribution import AttributionError, parse_rule

            try:
                parse_rule(v.removeprefix("rule:"))
            except AttributionError as exc:
                raise ValueError(f"selector {v!r}: {exc}") from None
            return v
        return _one_of(v, SELECTORS[:4], "selector")

    @field_validator("operators")
    @classmethod
    def _operators(cls, v: dict[str, float]) -> dict[str, float]:
        for name, w in v.items():
            _one_of(name, OPERATORS, "operator")
            if not w >= 0:
                raise ValueError(f"operator weight {name} = {w} must be >= 0")
        return {k: float(v[k]) for k in OPERATORS if k in v}

    @model_validator(mode="after")
    def _suite(self) -> SimConfig:
        slugs = [e.slug for e in self.envs]
        dup = sorted({s for s in slugs if slugs.count(s) > 1})
        if dup:
            raise ValueError(f"two [[envs]] share the name {dup[0]!r}; give each a distinct 'name'")
        if not any(e.train for e in self.envs):
            raise ValueError("no [[envs]] table has train = true; the root agent needs one to train on")
        return self

    @property
    def train_envs(self) -> tuple[str, ...]:
        return tuple(e.slug for e in self.envs if e.train)


_ROOT_TYPES: dict[str, type[BaseModel]] = {
    "": SimConfig,
    "agent": AgentConfig,
    "spawn": SpawnConfig,
    "mutation": MutationConfig,
    "tools": ToolsConfig,
    "caps": CapsConfig,
    "gate": GateConfig,
    "eval": EvalConfig,
    "faults": FaultsConfig,
    "archive": ArchiveConfig,
    "attribution": AttributionConfig,
    "envs": EnvConfig,
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


def _one_line(source: str, exc: ValidationError) -> ConfigError:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    where = _where(loc)
    if err["type"] == "extra_forbidden":
        key = str(loc[-1])
        accepted = _accepted_keys(loc)
        close = difflib.get_close_matches(key, accepted, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        prefix = _where(loc[:-1])
        full = (prefix + "." if prefix else "") + key
        return ConfigError(f"{source}: unknown key {full!r}{hint}; accepted keys: {', '.join(accepted)}")
    if err["type"] == "missing":
        return ConfigError(f"{source}: missing required key {where!r}")
    msg = str(err["msg"]).removeprefix("Value error, ")
    bad = err.get("input")
    if err["type"] != "value_error" and isinstance(bad, str | int | float | bool):
        msg = msg[0].lower() + msg[1:]
        return ConfigError(f"{source}: {where} = {bad!r} is not accepted: {msg}")
    return ConfigError(f"{source}: {where}: {msg}" if where else f"{source}: {msg}")


def parse_config(data: Mapping[str, Any], source: str = "<config>") -> SimConfig:
    """Validate a config mapping (e.g. parsed TOML) into a :class:`SimConfig`."""
    try:
        return SimConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise _one_line(source, exc) from None


def load_config(path: str | Path, seed: int | None = None) -> SimConfig:
    """Read and validate a TOML config; ``seed`` overrides the file's ``seed``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a TOML config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: is not valid TOML ({exc})") from None
    if seed is not None:
        data["seed"] = seed
    return parse_config(data, source=str(path))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def _toml_key(k: str) -> str:
    return k if k.replace("-", "").replace("_", "").isalnum() else _toml_value(k)


def config_to_toml(cfg: SimConfig) -> str:
    """The config as run, every default filled in, as TOML text (deterministic)."""
    data = cfg.model_dump(by_alias=True, exclude_none=True)
    sweep = data.pop("sweep", {})
    lines = [f"{k} = {_toml_value(data[k])}" for k in ("seed", "budget", "regime", "selector")]
    for env in data["envs"]:
        lines += ["", "[[envs]]", *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in env.items())]
    # Every table, in the order SimConfig declares them.
    for section in [k for k in data if isinstance(data[k], dict)]:
        lines += [
            "",
            f"[{section}]",
            *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data[section].items()),
        ]
    if sweep:
        lines += ["", "[sweep]", *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sweep.items())]
    return "\n".join(lines) + "\n"
