"""A whole run's config: :class:`SimConfig`, its top-level keys and the sections it holds.

Besides the sections (:mod:`spawn.config.sections`), its own keys are checked here: ``[limits]``
names, ``[sweep]`` keys (each a config field), the selector, the ``[operators]`` weights and the
``plugins`` modules; then, as a whole, that the suite's ``[[envs]]`` are distinct and one trains.

Examples
--------
>>> cfg = SimConfig(seed=1, budget=100, envs=[EnvConfig(id="FrozenLake-v1")])
>>> cfg.train_envs, cfg.operators["finetune"], cfg.spawn.round_steps
(('FrozenLake-v1',), 1.0, 250)
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from spawn import limits
from spawn.config.checks import check_selector, names_checked, one_of, registered
from spawn.config.data import shown
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
    Scalar,
    SpawnConfig,
    SStr,
    StrictModel,
    ToolsConfig,
    TrackingConfig,
)
from spawn.errors import ConfigError, did_you_mean
from spawn.plugins import MODULE, stdlib_refusal
from spawn.registry import OPERATORS

__all__ = ["SimConfig"]

#: A sweep key that sets one environment's keyword argument: ``envs.<index>.kwargs.<name>``.
_ENV_SWEEP_KEY = re.compile(r"envs\.(0|[1-9][0-9]{0,3})\.kwargs\.([A-Za-z_][A-Za-z0-9_]*)")


def _builtin_operator_weights() -> dict[str, float]:
    """The default ``[operators]``: every built-in operator at its default weight (1; left out when 0,
    as ``change-objective`` is, so that its addition changed no existing run)."""
    return {
        e.name: float(e.meta.get("default_weight", 1.0))
        for e in OPERATORS.entries()
        if e.origin == "spawn.life.operators" and e.meta.get("default_weight", 1.0) > 0
    }


class SimConfig(StrictModel):
    """A whole run. Pinned top-level keys: ``seed``, ``budget``, ``regime``, ``[[envs]]``."""

    seed: int = Field(ge=0, lt=2**63)
    budget: int = Field(ge=1, le=10**12, description="training environment steps for the whole lineage")
    regime: Literal["recursive", "archive"] = "recursive"
    engine: Literal["per-agent", "cohort"] = Field(
        "per-agent",
        description="per-agent: each life alone; cohort: the lives of a batch stepped together where a kernel "
        "can (the same bytes; see spawn.life.cohort)",
    )
    selector: str = Field("dgm", description="archive regime: uniform | greedy | dgm | hgm | rule:<rule spec>")
    plugins: tuple[SStr, ...] = Field(
        (),
        strict=False,
        description="modules to import (in the driver and every worker) before names are checked: their "
        "register_operator, register_trigger, ... registrations",
    )
    envs: tuple[EnvConfig, ...] = Field(min_length=1, strict=False)
    constitutions: bool = Field(
        True,
        description="false: no environment has a constitution (as if no [[envs]] entry named one); the "
        "sweep axis constitutions = [true, false] runs the same environments with and without theirs",
    )
    agent: AgentConfig = AgentConfig()
    spawn: SpawnConfig = SpawnConfig()
    operators: dict[str, float] = Field(
        default_factory=_builtin_operator_weights, description="operator weights"
    )
    mutation: MutationConfig = MutationConfig()
    goal_drift: GoalDriftConfig = GoalDriftConfig()
    tools: ToolsConfig = ToolsConfig()
    caps: CapsConfig = CapsConfig()
    gate: GateConfig = GateConfig()
    eval: EvalConfig = EvalConfig()
    faults: FaultsConfig = FaultsConfig()
    archive: ArchiveConfig = ArchiveConfig()
    attribution: AttributionConfig = AttributionConfig()
    baseline: BaselineConfig = BaselineConfig()
    output: OutputConfig = OutputConfig()
    tracking: TrackingConfig = TrackingConfig()
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
            one_of(name, tuple(limits.LIMITS), "limit")
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
            if head == "envs":
                if not _ENV_SWEEP_KEY.fullmatch(key):
                    raise ValueError(
                        f"sweep key {key!r} is not accepted; an environment's setting is swept as "
                        "'envs.<index>.kwargs.<name>' (e.g. 'envs.0.kwargs.bias'), index counting [[envs]] from 0"
                    )
                continue
            if head == "tracking":
                raise ValueError(
                    f"sweep key {key!r} is not accepted; tracking is not a setting of the run: every arm and "
                    "seed is tracked in its own subdirectory of [tracking] tensorboard"
                )
            if head == "sweep" or head not in fields:
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
            registered(name, OPERATORS, "operator")
            if not w >= 0:
                raise ValueError(f"operator weight {name} = {w} must be >= 0")
        if v and not any(w > 0 for w in v.values()):
            raise ValueError("every operator weight is 0; accepted: at least one weight > 0")
        if not names_checked():
            return {k: float(w) for k, w in v.items()}
        return {k: float(v[k]) for k in OPERATORS.names() if k in v}  # in the order of the draw

    @field_validator("plugins")
    @classmethod
    def _plugins(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for i, name in enumerate(v):
            if not MODULE.fullmatch(name):
                raise ValueError(
                    f"plugin {shown(name)} is not a dotted module name; accepted: e.g. 'mypackage.operators'"
                )
            refusal = stdlib_refusal(name, "plugin")
            if refusal:
                raise ValueError(refusal)
            if name in v[:i]:
                raise ValueError(f"plugin {shown(name)} is named twice; name each module once")
        return v

    @model_validator(mode="after")
    def _suite(self) -> SimConfig:
        for key in self.sweep:
            m = _ENV_SWEEP_KEY.fullmatch(key)
            if m and int(m.group(1)) >= len(self.envs):
                raise ValueError(
                    f"sweep key {key!r} names [[envs]] entry {int(m.group(1))}; accepted: 0 to {len(self.envs) - 1}"
                )
        if not self.constitutions and any(e.constitution is not None for e in self.envs):
            # the one place: every part of a run reads an environment's constitution from its entry
            unconstrained = tuple(e.model_copy(update={"constitution": None}) for e in self.envs)
            object.__setattr__(self, "envs", unconstrained)
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
