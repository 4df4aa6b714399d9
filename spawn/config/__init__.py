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

import contextvars
import functools
import math
import tomllib
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from spawn import limits
from spawn.agents import AGENT_REGISTRY, CLASSIC_HYPER, RESERVED_KEYS, hyper_params
from spawn.errors import ConfigError, did_you_mean
from spawn.plugins import MODULE, PLUGIN, PLUGIN_ENV, import_plugin_module, stdlib_refusal
from spawn.registry import OBJECTIVES, OPERATORS, SELECTORS, TRIGGERS

__all__ = [
    "AGENT_KINDS",
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
    "check_rule",
    "config_to_toml",
    "import_plugins",
    "load_config",
    "names_checked",
    "parse_config",
]

AGENT_KINDS = AGENT_REGISTRY.names()  # the built-in kinds (plugins register more: AGENT_REGISTRY)
DETECTORS = ("adwin", "page-hinkley")

#: Caps that hold whatever a config asks for.
HARD_MAX_DEPTH = 64
HARD_MAX_AGENTS = 1_000_000

Scalar = str | int | float | bool
SFloat = Annotated[float, Strict()]
SStr = Annotated[str, Strict()]

#: How deep a config's tables and arrays may nest (a real config nests 4 deep at most).
MAX_NESTING = 16
#: Largest magnitude of a whole number anywhere in a config.
MAX_INT = 2**64


class _Strict(BaseModel):
    # strict: no bool for a number, no float for a whole number, no string for either; no inf or nan.
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, populate_by_name=True, allow_inf_nan=False
    )


def _shown(value: Any, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters (a value can be a megabyte, or 4000 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**width:
        return f"<a whole number of {len(str(abs(value))) if abs(value) < 10**4000 else 'over 4000'} digits>"
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _control(text: str) -> str | None:
    for ch in text:
        if unicodedata.category(ch) == "Cc":
            return f"U+{ord(ch):04X}"
    return None


def _check_data(data: Any, source: str) -> None:
    """Refuse, before validation, what no config holds: deep nesting, huge numbers, inf/nan, control characters.

    Iterative, so a value nested 10^5 deep is one line, never a ``RecursionError``.
    """
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        at = where or "<top>"
        if depth > MAX_NESTING:
            raise ConfigError(
                f"{source}: {at}: nested more than {MAX_NESTING} levels deep; accepted: at most {MAX_NESTING}"
            )
        if isinstance(value, Mapping):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise ConfigError(f"{source}: {at}: key {_shown(k)} is not text")
                bad = _control(k)
                if bad:
                    raise ConfigError(
                        f"{source}: {at}: key {_shown(k)} holds control character {bad}; accepted: printable text"
                    )
                stack.append((v, f"{where}.{k}" if where else k, depth + 1))
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                stack.append((v, f"{where}[{i}]", depth + 1))
        elif isinstance(value, str):
            bad = _control(value)
            if bad:
                raise ConfigError(
                    f"{source}: {at} = {_shown(value)} holds control character {bad}; accepted: printable text"
                )
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_INT:
            raise ConfigError(f"{source}: {at} = {_shown(value)} is not accepted: whole numbers are below 2^64")
        elif isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{source}: {at} = {value!r} is not accepted: give a finite number")


def _one_of(value: str, accepted: tuple[str, ...], what: str) -> str:
    if value in accepted:
        return value
    hint = did_you_mean(value, accepted)
    raise ValueError(f"unknown {what} {_shown(value)}{hint}; accepted: {', '.join(accepted)}")


#: False while :func:`parse_config` checks a config's form, before its ``plugins`` are imported:
#: names that a plugin may register (operators, triggers, objectives, agents, selectors) wait.
_NAMES_CHECKED: contextvars.ContextVar[bool] = contextvars.ContextVar("names_checked", default=True)


def names_checked() -> bool:
    """Whether validation checks names against the registries now (see :func:`parse_config`)."""
    return _NAMES_CHECKED.get()


def _registered(value: str, registry: Any, what: str) -> str:
    """``value`` if ``registry`` holds it (or names are not checked yet); else the did-you-mean error."""
    if not names_checked():
        return value
    return _one_of(value, registry.names(), what)


def _operators() -> Any:
    return OPERATORS


def _triggers() -> Any:
    return TRIGGERS


def _objectives() -> Any:
    return OBJECTIVES


def check_selector(selector: str) -> str:
    """Refuse an unknown selector or a bad family argument (:class:`ConfigError`, one line); else ``selector``."""
    cls, arg = SELECTORS.lookup(selector)  # a registered selector, or a registered family's 'family:<argument>'
    check = getattr(cls, "check", None)
    if callable(check):
        try:
            check(arg)
        except (ValueError, ConfigError) as exc:
            raise ConfigError(f"selector {selector!r}: {exc}") from None
    return selector


def _builtin_operator_weights() -> dict[str, float]:
    """The default ``[operators]``: every built-in operator, weight 1."""
    return {e.name: 1.0 for e in _operators().entries() if e.origin == "spawn.life.operators"}


class EnvConfig(_Strict):
    """One environment of the suite (a ``[[envs]]`` table)."""

    id: str = Field(
        description="any registered gymnasium id, e.g. 'FrozenLake-v1' or 'lineage_sim/Hiring-v0'"
    )
    name: str | None = Field(
        None, description="attribute prefix for this environment (default: the id without module and namespace)"
    )
    kwargs: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="keyword arguments for gymnasium.make"
    )
    return_range: tuple[SFloat, SFloat] | None = Field(
        None, strict=False, description="episode return range, for stock environments"
    )
    constitution: str | None = Field(None, description="'default' or a registered constitution name")
    train: bool = Field(
        True, description="whether the root agent trains on it (others are for evaluation and new-task)"
    )

    @property
    def slug(self) -> str:
        return self.name or self.id.split(":")[-1].split("/")[-1]

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

        if ":" in v:  # a plugin's environment: its module is imported once the whole config is valid
            if not PLUGIN_ENV.fullmatch(v):
                raise ValueError(
                    f"environment {_shown(v)} is not 'module:EnvId' (a dotted module name, ':', a gymnasium id)"
                )
            refusal = stdlib_refusal(v, "environment")
            if refusal:
                raise ValueError(refusal)
            return v
        if v not in gym.registry:
            _one_of(v, tuple(sorted(gym.registry)), "environment")
        return v


class AgentConfig(_Strict):
    """The root agent: its kind, hyper-parameters and training objective (``[agent]``).

    Besides the objective keys, ``[agent]`` accepts exactly the hyper-parameters the kind declares
    (:func:`spawn.agents.hyper_params`): the six fields below for every built-in kind, a plugin's
    own for a registered plugin. A ``module:Class`` kind is checked once its module is imported
    (:func:`import_plugins`) and accepts the six as well as what it declares.
    """

    # extra keys: a plugin agent's own hyper-parameters, checked against its declarations (_hyper_keys)
    model_config = ConfigDict(
        extra="allow", frozen=True, strict=True, populate_by_name=True, allow_inf_nan=False
    )

    kind: str = Field("q", description="q | q-lambda | linear | random, a registered plugin, or 'module:Class'")
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
        kinds = AGENT_REGISTRY.names()
        if ":" not in v:
            return _registered(v, AGENT_REGISTRY, "agent kind")
        if not PLUGIN.fullmatch(v):
            raise ValueError(
                f"agent kind {_shown(v)} is not 'module:Class' (a dotted module name, ':', a class name); "
                f"accepted: {', '.join(kinds)} or 'module:Class'"
            )
        refusal = stdlib_refusal(v, "agent kind")
        if refusal:
            raise ValueError(refusal)
        return v  # imported once the whole config is valid (import_plugins)

    @field_validator("objective")
    @classmethod
    def _objective(cls, v: str) -> str:
        return _registered(v, _objectives(), "objective")

    @model_validator(mode="after")
    def _hyper_keys(self) -> AgentConfig:
        if self.kind in AGENT_REGISTRY:  # a module:Class kind is checked once imported (import_plugins)
            problem = self.refusal(AGENT_REGISTRY.get(self.kind))
            if problem:
                raise PydanticCustomError("agent_key", problem)
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.kind not in AGENT_REGISTRY or hyper_params(AGENT_REGISTRY.get(self.kind)) == CLASSIC_HYPER:
            return data
        # a registered plugin kind: what it declares, every default filled in, and nothing else
        cls = AGENT_REGISTRY.get(self.kind)
        hyper = self.hyper(cls)
        out = {k: v for k, v in data.items() if k in RESERVED_KEYS or ("lambda" if k == "lam" else k) in hyper}
        named = {"lambda" if k == "lam" else k for k in out}
        out.update({k: v for k, v in hyper.items() if k not in named})
        return out

    @staticmethod
    def _field(name: str) -> str:
        return "lam" if name == "lambda" else name

    def accepted_keys(self, cls: type) -> list[str]:
        """The keys ``[agent]`` accepts for kind class ``cls``, in the order config.toml writes them."""
        names = [h.name for h in hyper_params(cls)]
        if ":" in self.kind:  # a module:Class kind keeps the six it always accepted
            names = [*(h.name for h in CLASSIC_HYPER), *(n for n in names if n not in {h.name for h in CLASSIC_HYPER})]
        head, tail = RESERVED_KEYS[:4], RESERVED_KEYS[4:]
        return [*head, *names, *tail]

    def refusal(self, cls: type) -> str | None:
        """Why these keys and values do not suit kind class ``cls`` (one line), or ``None``."""
        accepted = self.accepted_keys(cls)
        fields = type(self).model_fields
        given = [self._alias(n) for n in self.model_fields_set if n in fields] + list(self.model_extra or {})
        for key in given:
            if key not in accepted:
                hint = did_you_mean(key, accepted)
                return f"unknown key {'agent.' + key!r}{hint}; accepted keys: {', '.join(accepted)}"
        classic = {h.name: h for h in CLASSIC_HYPER}
        for h in hyper_params(cls):
            if h.name in given and classic.get(h.name) != h:
                value = self.value(h.name)
                why = h.refusal(value)
                if why:
                    return (
                        f"agent.{h.name} = {_shown(value)} is not accepted for agent kind {self.kind!r}; "
                        f"accepted: {why}"
                    )
        return None

    @classmethod
    def _alias(cls, field: str) -> str:
        return cls.model_fields[field].alias or field

    def value(self, name: str) -> Any:
        """The value given for hyper-parameter ``name`` (a field or a plugin's own key), or ``None``."""
        field = self._field(name)
        if field in type(self).model_fields:
            return getattr(self, field) if field in self.model_fields_set else None
        return (self.model_extra or {}).get(name)

    def hyper(self, cls: type) -> dict[str, float]:
        """Kind class ``cls``'s hyper-parameters as configured, defaults filled in, in declaration order."""
        out = {}
        for h in hyper_params(cls):
            v = self.value(h.name)
            out[h.name] = float(v if v is not None else h.default)
        return out


#: Parameters of the river drift detectors: name -> (whole number?, low, low inclusive?, high or None).
_DETECTOR_PARAMS: dict[str, dict[str, tuple[bool, float, bool, float | None]]] = {
    "adwin": {
        "delta": (False, 0.0, False, 1.0),
        "clock": (True, 1, True, None),
        "max_buckets": (True, 1, True, None),
        "min_window_length": (True, 1, True, None),
        "grace_period": (True, 1, True, None),
    },
    "page-hinkley": {
        "min_instances": (True, 1, True, None),
        "delta": (False, 0.0, True, None),
        "threshold": (False, 0.0, False, None),
        "alpha": (False, 0.0, False, 1.0),
    },
}


def check_detector(detector: str, params: Mapping[str, Any], direction: str = "down", window: int = 1) -> None:
    """Refuse detector parameters the detector rejects or would misuse (``ValueError``, one line); then build it."""
    accepted = _DETECTOR_PARAMS[detector]
    for name, value in params.items():
        if name not in accepted:
            _one_of(name, tuple(accepted), f"parameter of drift detector {detector!r}:")
        whole, low, closed, high = accepted[name]
        if whole and not (isinstance(value, int) and not isinstance(value, bool)):
            raise ValueError(f"detector_params.{name} = {_shown(value)}; accepted: a whole number >= {low:g}")
        above = value >= low if closed else value > low
        if not above or (high is not None and value > high):
            bounds = f"{'>=' if closed else '>'} {low:g}" + (f" and <= {high:g}" if high is not None else "")
            raise ValueError(f"detector_params.{name} = {_shown(value)} for {detector}; accepted: a number {bounds}")
    if params:
        from spawn.life.triggers import DriftWatch

        DriftWatch(detector, dict(params), direction, window)  # what the run will build, built once now


class SpawnConfig(_Strict):
    """When and how an agent creates children (``[spawn]``)."""

    round_steps: int = Field(250, ge=1, description="training steps between two decisions")
    triggers: tuple[SStr, ...] = Field(
        ("schedule", "drift"), strict=False, description="schedule | drift | plateau"
    )
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
                    _registered(t, _triggers(), "trigger")
        return v

    @field_validator("detector")
    @classmethod
    def _detector(cls, v: str) -> str:
        return _one_of(v, DETECTORS, "drift detector")

    @model_validator(mode="after")
    def _detector_params(self) -> SpawnConfig:
        check_detector(self.detector, self.detector_params, self.drift_direction, self.drift_window)
        return self


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

    rules: tuple[SStr, ...] = Field(
        (), strict=False, description="rule specs, e.g. 'discounted:gamma=0.7' or 'cmp'"
    )

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
    plugins: tuple[SStr, ...] = Field(
        (),
        strict=False,
        description="modules to import (in the driver and every worker) before names are checked: their "
        "register_operator, register_trigger, ... registrations",
    )
    envs: tuple[EnvConfig, ...] = Field(min_length=1, strict=False)
    agent: AgentConfig = AgentConfig()
    spawn: SpawnConfig = SpawnConfig()
    operators: dict[str, float] = Field(
        default_factory=_builtin_operator_weights, description="operator weights"
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
    limits: dict[str, int] = Field(
        default_factory=dict, description="limits on work and input for this run (see 'lineage-sim limits')"
    )

    @field_validator("limits")
    @classmethod
    def _limits(cls, v: dict[str, int]) -> dict[str, int]:
        for name, value in v.items():
            _one_of(name, tuple(limits.LIMITS), "limit")
            if value < 1:
                raise ValueError(f"limit {name} = {value}; accepted: a whole number >= 1")
        return v

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
                hint = did_you_mean(head, accepted)
                raise ValueError(
                    f"sweep key {key!r} names no config field{hint}; use 'seeds', a top-level key or 'section.key'"
                )
            sub = fields[head].annotation
            if tail:
                model_fields = getattr(sub, "model_fields", None)
                names = {f.alias or n for n, f in (model_fields or {}).items()}
                if model_fields is not None and tail not in names:
                    hint = did_you_mean(tail, sorted(names), functools.partial("'{}.{}'".format, head))
                    raise ValueError(f"sweep key {key!r} names no config field{hint}")
        return v

    @field_validator("selector")
    @classmethod
    def _selector(cls, v: str) -> str:
        if not names_checked():  # a plugin may register it
            return v
        try:
            return check_selector(v)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("operators")
    @classmethod
    def _operators(cls, v: dict[str, float]) -> dict[str, float]:
        for name, w in v.items():
            _registered(name, _operators(), "operator")
            if not w >= 0:
                raise ValueError(f"operator weight {name} = {w} must be >= 0")
        if v and not any(w > 0 for w in v.values()):
            raise ValueError("every operator weight is 0; accepted: at least one weight > 0")
        if not names_checked():
            return {k: float(w) for k, w in v.items()}
        return {k: float(v[k]) for k in _operators().names() if k in v}  # in the order of the draw

    @field_validator("plugins")
    @classmethod
    def _plugins(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for i, name in enumerate(v):
            if not MODULE.fullmatch(name):
                raise ValueError(
                    f"plugin {_shown(name)} is not a dotted module name; accepted: e.g. 'mypackage.operators'"
                )
            refusal = stdlib_refusal(name, "plugin")
            if refusal:
                raise ValueError(refusal)
            if name in v[:i]:
                raise ValueError(f"plugin {_shown(name)} is named twice; name each module once")
        return v

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


_UNION_TAGS = ("str", "int", "float", "bool")


def _tag(part: Any) -> bool:
    """A part of an error location that names a member of a union or a validator, not a key."""
    return isinstance(part, str) and (
        part.startswith(("function-", "list[", "tuple[", "union[")) or part in _UNION_TAGS
    )


def _one_line(source: str, exc: ValidationError) -> ConfigError:
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
        return ConfigError(f"{source}: {where} = {_shown(bad)} is not accepted: {msg}")
    return ConfigError(f"{source}: {where}: {msg}" if where else f"{source}: {msg}")


def check_rule(spec: str, config_limits: Mapping[str, int] | None = None) -> Any:
    """Parse a rule spec (``[attribution] rules``, ``selector = "rule:..."``, ``compare --rule``) within the limits.

    Returns the :class:`attribution.Rule`; raises :class:`ConfigError` (one line) for a bad spec or a
    rule over a limit (``shapley:samples=...`` against ``shapley_samples``).
    """
    from attribution import AttributionError, parse_rule

    try:
        rule = parse_rule(spec)
    except AttributionError as exc:
        raise ConfigError(str(exc)) from None
    samples = getattr(rule, "samples", None)
    if isinstance(samples, int):
        limits.check("shapley_samples", samples, f"rule {_shown(spec)}", config_limits)
    return rule


def _text_chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(len(x) for x in value if isinstance(x, str))
    return 0


def check_work(cfg: SimConfig) -> None:
    """Refuse work no machine can finish (:mod:`spawn.limits`), before anything runs."""
    lim = cfg.limits
    per_agent = cfg.eval.episodes * cfg.eval.max_steps * len(cfg.envs)
    limits.check(
        "eval_steps",
        per_agent,
        f"evaluation of every agent (episodes {cfg.eval.episodes} x max_steps {cfg.eval.max_steps} "
        f"x {len(cfg.envs)} environments)",
        lim,
    )
    for i, env in enumerate(cfg.envs):
        if "desc" in env.kwargs:
            limits.check("map_cells", _text_chars(env.kwargs["desc"]), f"envs[{i}] ({env.id}) map 'desc'", lim)
        if "program" in env.kwargs:
            limits.check(
                "bf_program_chars", _text_chars(env.kwargs["program"]), f"envs[{i}] ({env.id}) 'program'", lim
            )
    for spec in cfg.attribution.rules:
        check_rule(spec, lim)
    if cfg.selector.startswith("rule:"):
        check_rule(cfg.selector.removeprefix("rule:"), lim)
    if cfg.sweep:
        runs = math.prod(len(v) for v in cfg.sweep.values())
        keys = " x ".join(f"{len(v)} {k}" for k, v in cfg.sweep.items())
        limits.check("sweep_runs", runs, f"[sweep] of {keys}", lim)


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
        import_plugin_module(module, f"envs[{i}].id = {_shown(env.id)}")
        name = env.id.split(":", 1)[1]
        if name not in gym.registry:
            raise ConfigError(
                f"envs[{i}].id = {_shown(env.id)}: importing {module!r} registered no environment {name!r}"
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
                f"plugins[{i}] = {module!r}: module cannot be imported ({type(exc).__name__}: {_shown(str(exc), 120)})"
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
    _check_data(data, source)
    token = _NAMES_CHECKED.set(False)
    try:
        cfg = _validate(data, source)
    finally:
        _NAMES_CHECKED.reset(token)
    try:
        load_plugins(cfg.plugins)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return _validate(data, source)


def _validate(data: Mapping[str, Any], source: str) -> SimConfig:
    try:
        cfg = SimConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise _one_line(source, exc) from None
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
        raise ConfigError(f"{path}: is not a config this project reads ({_shown(str(exc), 100)})") from None
    if seed is not None:
        data["seed"] = seed
    return parse_config(data, source=str(path))


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
    lines = [f"{k} = {_toml_value(data[k])}" for k in ("seed", "budget", "regime", "selector")]
    plugins = data.pop("plugins", ())
    if plugins:  # a run without plugins writes the config it always wrote
        lines.append(f"plugins = {_toml_value(list(plugins))}")
    for env in data["envs"]:
        lines += ["", "[[envs]]", *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in env.items())]
    # Every table, in the order SimConfig declares them.
    if not data.get("limits"):
        data.pop("limits", None)  # a run without its own limits writes the config it always wrote
    for section in [k for k in data if isinstance(data[k], dict)]:
        lines += [
            "",
            f"[{section}]",
            *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data[section].items()),
        ]
    if sweep:
        lines += ["", "[sweep]", *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sweep.items())]
    return "\n".join(lines) + "\n"
