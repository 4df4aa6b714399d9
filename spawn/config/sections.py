"""The sections of a config: one strict pydantic model per table (``[[envs]]``, ``[agent]``, ``[spawn]``,
``[mutation]``, ``[goal_drift]``, ``[tools]``, ``[caps]``, ``[gate]``, ``[eval]``, ``[faults]``, ``[archive]``,
``[attribution]``, ``[baseline]``, ``[output]``, ``[tracking]``); :class:`~spawn.config.model.SimConfig` holds them.

Every section refuses keys it does not know, a bool for a number, a float for a whole number and a
string for either. Names a plugin may register are checked with :func:`~spawn.config.checks.registered`.

Examples
--------
>>> SpawnConfig().triggers, CapsConfig(max_depth=3).max_agents
(('schedule', 'drift'), 200)
>>> EnvConfig(id="lineage_sim/Hiring-v0").slug
'Hiring-v0'
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator, model_serializer, model_validator
from pydantic_core import PydanticCustomError

from spawn.agents import AGENT_REGISTRY, CLASSIC_HYPER, RESERVED_KEYS, hyper_params
from spawn.config.checks import DETECTORS, check_detector, one_of, registered
from spawn.config.data import shown
from spawn.errors import did_you_mean
from spawn.plugins import PLUGIN, PLUGIN_ENV, stdlib_refusal
from spawn.registry import OBJECTIVES, TRIGGERS

__all__ = [
    "AGENT_KINDS",
    "HARD_MAX_AGENTS",
    "HARD_MAX_DEPTH",
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
    "SpawnConfig",
    "StrictModel",
    "ToolsConfig",
    "TrackingConfig",
]

AGENT_KINDS = AGENT_REGISTRY.names()  # the built-in kinds (plugins register more: AGENT_REGISTRY)

#: Caps that hold whatever a config asks for.
HARD_MAX_DEPTH = 64
HARD_MAX_AGENTS = 1_000_000

Scalar = str | int | float | bool
SFloat = Annotated[float, Strict()]
SStr = Annotated[str, Strict()]


class StrictModel(BaseModel):
    """A section: unknown keys refused, frozen, strict."""

    # strict: no bool for a number, no float for a whole number, no string for either; no inf or nan.
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, populate_by_name=True, allow_inf_nan=False
    )


class EnvConfig(StrictModel):
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
    success_threshold: SFloat | None = Field(
        None,
        description=(
            "episode return at or above which an evaluation episode is a success; default: the "
            "environment's info['success'] where it reports one, else the top of its return range"
        ),
    )
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
                    f"environment {shown(v)} is not 'module:EnvId' (a dotted module name, ':', a gymnasium id)"
                )
            refusal = stdlib_refusal(v, "environment")
            if refusal:
                raise ValueError(refusal)
            return v
        if v not in gym.registry:
            one_of(v, tuple(sorted(gym.registry)), "environment")
        return v


class AgentConfig(StrictModel):
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
            return registered(v, AGENT_REGISTRY, "agent kind")
        if not PLUGIN.fullmatch(v):
            raise ValueError(
                f"agent kind {shown(v)} is not 'module:Class' (a dotted module name, ':', a class name); "
                f"accepted: {', '.join(kinds)} or 'module:Class'"
            )
        refusal = stdlib_refusal(v, "agent kind")
        if refusal:
            raise ValueError(refusal)
        return v  # imported once the whole config is valid (import_plugins)

    @field_validator("objective")
    @classmethod
    def _objective(cls, v: str) -> str:
        return registered(v, OBJECTIVES, "objective")

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
                        f"agent.{h.name} = {shown(value)} is not accepted for agent kind {self.kind!r}; "
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


class SpawnConfig(StrictModel):
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
                    registered(t, TRIGGERS, "trigger")
        return v

    @field_validator("detector")
    @classmethod
    def _detector(cls, v: str) -> str:
        return one_of(v, DETECTORS, "drift detector")

    @model_validator(mode="after")
    def _detector_params(self) -> SpawnConfig:
        check_detector(self.detector, self.detector_params, self.drift_direction, self.drift_window)
        return self


class MutationConfig(StrictModel):
    """What ``mutate`` does (``[mutation]``)."""

    sigma: float = Field(0.3, ge=0, le=5, description="log-normal scale of hyper-parameter perturbations")
    switch_probability: float = Field(0.3, ge=0, le=1, description="probability of switching architecture")


class GoalDriftConfig(StrictModel):
    """What ``change-objective`` changes (``[goal_drift]``): the weights of its kinds of change and the
    log-normal scale of a penalty-weight change. Written to ``config.toml`` only when given or changed."""

    objective: float = Field(1.0, ge=0, description="weight of a change to another registered objective")
    penalty_weight: float = Field(1.0, ge=0, description="weight of a log-normal change of the penalty weight")
    penalty_sigma: float = Field(
        0.5, gt=0, le=5, description="log-normal scale of a penalty-weight change (a weight of 0 drifts from 1)"
    )
    rules: float = Field(
        0.0,
        ge=0,
        description=(
            "weight of dropping one constitution rule the child trains under, or taking a dropped one "
            "back (forbidden actions and states; evaluation keeps the whole constitution)"
        ),
    )

    @model_validator(mode="after")
    def _some_change(self) -> GoalDriftConfig:
        if not (self.objective > 0 or self.penalty_weight > 0 or self.rules > 0):
            raise ValueError(
                "every [goal_drift] weight is 0; accepted: objective, penalty_weight or rules > 0"
            )
        return self


class ToolsConfig(StrictModel):
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


class CapsConfig(StrictModel):
    """Hard limits on the lineage (``[caps]``)."""

    max_depth: int = Field(8, ge=0, le=HARD_MAX_DEPTH)
    max_agents: int = Field(200, ge=1, le=HARD_MAX_AGENTS)


class GateConfig(StrictModel):
    """The liability gate (``[gate]``): no spawning once the ancestor chain's penalties pass it."""

    max_liability: float | None = Field(
        None, ge=0, description="violations + cost along the chain; none = no gate"
    )


class EvalConfig(StrictModel):
    """Evaluation, fixed per agent and reported apart from the budget (``[eval]``)."""

    episodes: int = Field(5, ge=1, le=10_000)
    max_steps: int = Field(200, ge=1, le=1_000_000, description="steps per evaluation episode at most")


class FaultsConfig(StrictModel):
    """What an exception from user code does (``[faults]``)."""

    on_error: Literal["stop-clade", "continue-clade", "fail"] = Field(
        "stop-clade", description="record the error and drop the agent's children, keep them, or stop the run"
    )


class ArchiveConfig(StrictModel):
    """The archive regime (``[archive]``): a driver picks parents from the archive, batch by batch."""

    batch_size: int = Field(4, ge=1, le=10_000, description="parents picked per batch (with replacement)")
    root_budget: int | None = Field(None, ge=1, description="training steps of the root (default: child_budget)")
    child_budget: int = Field(500, ge=1, description="training steps of every child")
    keep: Literal["all", "margin"] = Field("all", description="which children may become parents")
    margin: float = Field(0.1, ge=0, le=1, description="with keep = margin: value at least root value - margin")
    dgm_lambda: float = Field(10.0, gt=0, description="dgm: sigmoid steepness")
    hgm_tau: float = Field(1.0, gt=0, description="hgm: Thompson-sampling temperature tau")
    temperature: float = Field(0.1, gt=0, description="rule:<spec> selectors: softmax temperature over credit")
    expand: Literal["batch", "ucb-air"] = Field(
        "batch",
        description=(
            "batch: every child gets its fixed evaluation and the budget counts training steps; ucb-air: "
            "HGM's loop, expand when N^alpha >= |archive| (N evaluation episodes so far), else one more "
            "evaluation episode of an agent drawn by Thompson sampling on its own counts; the budget "
            "counts training and evaluation steps"
        ),
    )
    alpha: float = Field(0.6, gt=0, le=1, description="ucb-air: expand when N^alpha >= |archive|")
    hgm_cooldown: float = Field(
        0.0,
        ge=0,
        le=10,
        description=(
            "ucb-air: HGM's cool-down exponent beta, the Thompson draws' tau times "
            "(budget / (budget - spent))^beta (0: off)"
        ),
    )
    final_trials: int | None = Field(
        None,
        ge=1,
        description=(
            "ucb-air: evaluation episodes an agent needs to be the archive's best (HGM's final agent: the "
            "highest posterior mean); default: a whole first evaluation, [eval] episodes x environments"
        ),
    )
    test_episodes: int = Field(
        0,
        ge=0,
        le=100_000,
        description=(
            "after the run, evaluate the archive's best agent on this many held-out episodes per "
            "environment (seeds of their own, outside the budget): summary.json 'archive_best' (0: none)"
        ),
    )

    @model_validator(mode="after")
    def _loop_keys(self) -> ArchiveConfig:
        if self.expand == "batch":
            for key, default in (("alpha", 0.6), ("hgm_cooldown", 0.0), ("final_trials", None)):
                if getattr(self, key) != default:
                    raise ValueError(
                        f"archive.{key} = {getattr(self, key)} applies only to HGM's loop; "
                        'accepted: set expand = "ucb-air" too, or leave it out'
                    )
        return self


class AttributionConfig(StrictModel):
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


class BaselineConfig(StrictModel):
    """Counterfactuals to run beside the lineage (``[baseline]``). Written to ``config.toml`` only
    when one is asked for, so that a config without them writes the text it wrote before."""

    solo: bool = Field(
        False,
        description=(
            "also train the root alone (the whole budget, no spawning, the same seed and evaluation "
            "episodes): summary.json 'solo', and compare's gain = root credit - solo value"
        ),
    )


class OutputConfig(StrictModel):
    """The files a finished run writes its lineage to (``[output]``). Written to ``config.toml`` only
    when not the default, so that a config without it writes the text it wrote before."""

    format: Literal["json", "parquet", "both"] = Field(
        "json",
        description=(
            "json: lineage.json and agents.csv; parquet: lineage.parquet and agents.parquet instead (columnar, "
            "for large runs); both: all four. phylogeny.csv and curves.csv are written either way"
        ),
    )


def _tracking_dir(value: str | None) -> str | None:
    if value is None:
        return value
    if not value.strip() or any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError(f"{shown(value)} is not a directory path; accepted: a path, not empty, no control characters")
    return value


class TrackingConfig(StrictModel):
    """Experiment tracking beside the run (``[tracking]``): TensorBoard event files, an MLflow file
    store. Never written to ``config.toml`` and not in the checkpoint's digest: tracking changes no
    byte of the run, and a run resumes with or without it (``lineage-sim resume --tensorboard DIR``)."""

    tensorboard: str | None = Field(
        None,
        description="write TensorBoard event files into this directory as the run goes (see the README, Tracking)",
    )
    mlflow: str | None = Field(
        None,
        description="log the same scalars to a local MLflow file store in this directory (the 'mlflow' extra)",
    )
    agent_runs: int = Field(
        100,
        ge=0,
        le=10_000,
        description="the first this many agents (in the lineage's order) get a TensorBoard run of their own",
    )

    @field_validator("tensorboard", "mlflow")
    @classmethod
    def _dirs(cls, v: str | None) -> str | None:
        return _tracking_dir(v)
