"""The agent interface: the :class:`Agent` protocol, declared hyper-parameters and the registry of kinds.

An agent class declares its hyper-parameters as ``hyper_params``, a tuple of :class:`Hyper` (name,
default, the values ``[agent]`` accepts, the range ``mutate`` perturbs within). ``[agent]`` accepts
exactly the declared names (besides its objective keys), the root agent's spec carries them, and
``mutate`` reads its ranges from the class. A class that declares nothing gets :data:`CLASSIC_HYPER`,
the six the built-ins declare. :class:`AgentBase` is the plumbing the built-ins share.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np

from spawn.errors import ConfigError
from spawn.plugins import PLUGIN, import_plugin_module, stdlib_refusal
from spawn.registry import Registry

__all__ = [
    "AGENT_REGISTRY",
    "CLASSIC_HYPER",
    "PROTOCOL_METHODS",
    "RESERVED_KEYS",
    "Agent",
    "AgentBase",
    "Hyper",
    "TaskShape",
    "agent_class",
    "hyper_params",
    "mutation_ranges",
    "option_mask",
    "register_agent",
]


@dataclass(frozen=True)
class Hyper:
    """One hyper-parameter an agent class declares.

    ``low``/``high`` bound what ``[agent]`` accepts (``low_open``/``high_open``: the bound itself is
    refused; ``None``: unbounded); ``mutation`` is the range ``mutate`` perturbs the value within
    (log-normal, clipped), ``None`` for a hyper-parameter ``mutate`` leaves alone.

    Examples
    --------
    >>> h = Hyper("beta", 0.5, low=0.0, high=1.0, low_open=True, mutation=(0.1, 0.9))
    >>> h.refusal(0.5) is None, h.refusal(0.0)
    (True, 'a number > 0 and <= 1')
    """

    name: str
    default: float
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    mutation: tuple[float, float] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"a hyper-parameter's name must be an identifier, got {self.name!r}")
        if self.mutation is not None and not (len(self.mutation) == 2 and self.mutation[0] <= self.mutation[1]):
            raise ValueError(f"hyper-parameter {self.name!r}: mutation range must be (low, high), low <= high")
        if self.refusal(self.default) is not None:
            raise ValueError(f"hyper-parameter {self.name!r}: default {self.default!r} is outside its own bounds")

    @property
    def accepted(self) -> str:
        """The values accepted, in words: ``a number >= 0 and <= 1``."""
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        return "a number" + (" " + " and ".join(parts) if parts else "")

    def refusal(self, value: Any) -> str | None:
        """``None`` when ``[agent]`` accepts ``value``, else what is accepted."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return self.accepted
        lo, hi = self.low, self.high
        if lo is not None and (value <= lo if self.low_open else value < lo):
            return self.accepted
        if hi is not None and (value >= hi if self.high_open else value > hi):
            return self.accepted
        return None


#: The hyper-parameters every built-in agent declares (the keys its root spec has always carried: a
#: ``q`` agent carries ``lambda`` and ``lr`` too), in the order the root spec holds them. Also what a
#: plugin class that declares nothing gets.
CLASSIC_HYPER: tuple[Hyper, ...] = (
    Hyper("alpha", 0.1, low=0.0, high=1.0, low_open=True, mutation=(1e-4, 1.0), description="learning rate (tabular)"),
    Hyper("gamma", 0.95, low=0.0, high=1.0, description="discount"),
    Hyper("epsilon", 0.1, low=0.0, high=1.0, mutation=(0.0, 1.0), description="exploration (epsilon-greedy)"),
    Hyper("temperature", 0.5, low=0.0, low_open=True, mutation=(1e-3, 100.0), description="softmax temperature"),
    Hyper("lambda", 0.8, low=0.0, high=1.0, mutation=(0.0, 1.0), description="trace decay (q-lambda)"),
    Hyper("lr", 0.05, low=0.0, high=10.0, low_open=True, mutation=(1e-5, 10.0), description="learning rate (linear)"),
)

#: Every agent kind by name: the built-ins, then plugins registered with :func:`register_agent`.
AGENT_REGISTRY: Registry[type] = Registry("agent")

_T = TypeVar("_T", bound=type)


def hyper_params(cls: type) -> tuple[Hyper, ...]:
    """What ``cls`` declares (its ``hyper_params``), or :data:`CLASSIC_HYPER` when it declares nothing."""
    declared = getattr(cls, "hyper_params", None)
    return CLASSIC_HYPER if declared is None else tuple(declared)


def mutation_ranges(cls: type) -> dict[str, tuple[float, float]]:
    """The ranges ``mutate`` perturbs ``cls``'s hyper-parameters within (those declared with one)."""
    return {h.name: h.mutation for h in hyper_params(cls) if h.mutation is not None}


#: Methods a plugin agent class must have (the :class:`Agent` protocol).
PROTOCOL_METHODS = (
    "act",
    "action_probs",
    "update",
    "end_episode",
    "add_task",
    "add_tool",
    "reset_estimates",
    "get_params",
)


#: ``[agent]`` keys that are not an agent's hyper-parameters (the objective and how the root acts).
RESERVED_KEYS = ("kind", "objective", "selection", "step_size", "penalty_weight", "lagrange_lr", "cost_limit")


def _check_declarations(cls: type, where: str) -> None:
    declared = getattr(cls, "hyper_params", None)
    if declared is None:
        return
    if not isinstance(declared, tuple | list) or not all(isinstance(h, Hyper) for h in declared):
        raise ConfigError(f"{where}: hyper_params must be a tuple of spawn.agents.Hyper")
    names = [h.name for h in declared]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{where}: hyper-parameter {twice[0]!r} is declared twice")
    taken = [n for n in names if n in RESERVED_KEYS or n in ("softmax", "visits")]
    if taken:
        raise ConfigError(
            f"{where}: hyper-parameter {taken[0]!r} is an [agent] key of its own; "
            f"names not accepted: {', '.join((*RESERVED_KEYS, 'softmax', 'visits'))}"
        )


def register_agent(name: str, **meta: Any) -> Callable[[_T], _T]:
    """Class decorator: register an agent kind (a class implementing :class:`Agent`) as ``name``.

    The class may declare ``hyper_params`` (a tuple of :class:`Hyper`); ``[agent] kind = name`` then
    accepts exactly those keys. Registering a second class under a taken name is refused.

    Examples
    --------
    >>> from spawn.agents import QAgent
    >>> AGENT_REGISTRY.get("q") is QAgent, [h.name for h in hyper_params(QAgent)][:2]
    (True, ['alpha', 'gamma'])
    """
    if not isinstance(name, str) or not name or ":" in name:
        raise ValueError(f"an agent kind needs a non-empty name without ':', got {name!r}")
    register = AGENT_REGISTRY.register(name, **meta)

    def deco(cls: _T) -> _T:
        if not isinstance(cls, type):
            raise TypeError(f"register_agent({name!r}) decorates a class, got {type(cls).__name__}")
        missing = [m for m in PROTOCOL_METHODS if not callable(getattr(cls, m, None))]
        if missing:
            raise TypeError(f"agent {name!r} lacks method(s) {', '.join(missing)} of the Agent protocol")
        try:
            _check_declarations(cls, f"agent {name!r}")
        except ConfigError as exc:
            raise TypeError(str(exc)) from None
        register(cls)
        return cls

    return deco


@dataclass(frozen=True)
class TaskShape:
    """What an agent needs to know of one environment: sizes and the tools it owns there."""

    n_obs: int | None  # number of discrete observations, None for Box observations
    n_features: int  # feature length for function approximation (one-hot for discrete)
    n_actions: int
    tools: tuple[tuple[int, ...], ...] = ()

    @property
    def n_options(self) -> int:
        return self.n_actions + len(self.tools)


@runtime_checkable
class Agent(Protocol):
    """What the simulator needs of an agent.

    ``obs`` is the environment's observation encoded for the task: an ``int`` for a discrete
    observation, a float feature vector otherwise. ``mask`` is a boolean array over options (the
    primitive actions, then the tools) or ``None``. Options index primitives first, then tools.
    """

    name: ClassVar[str]
    needs_discrete: ClassVar[bool]
    hyper: dict[str, float]
    shapes: dict[str, TaskShape]

    def act(self, task: str, obs: Any, mask: np.ndarray | None) -> int: ...

    def action_probs(
        self, task: str, obs: Any, mask: np.ndarray | None, greedy: bool = False
    ) -> np.ndarray: ...

    def update(
        self, task: str, obs: Any, option: int, reward: float, next_obs: Any, done: bool, discount: float
    ) -> None: ...

    def end_episode(self, task: str) -> None: ...

    def add_task(self, task: str, shape: TaskShape) -> None: ...

    def add_tool(self, task: str, tool: tuple[int, ...]) -> None: ...

    def reset_estimates(self) -> None: ...

    def get_params(self) -> dict[str, Any]: ...


def option_mask(action_mask: Any, tools: tuple[tuple[int, ...], ...]) -> np.ndarray | None:
    """A mask over options from a mask over primitive actions: a tool is allowed when its first action is.

    Examples
    --------
    >>> option_mask(np.array([1, 0], dtype=np.int8), ((1, 0), (0, 0))).tolist()
    [True, False, False, True]
    """
    if action_mask is None:
        return None
    m = np.asarray(action_mask, dtype=bool)
    if not tools:
        return m
    return np.concatenate([m, np.array([m[t[0]] for t in tools], dtype=bool)])


class AgentBase:
    """The plumbing the built-in agents share (a plugin class may subclass it too).

    It keeps the hyper-parameters named in ``defaults`` (a plugin class may leave it out: then those it
    declares in ``hyper_params``), each the value given in ``hyper`` or else its default, the task
    shapes and the generator, and does the protocol's bookkeeping. A subclass
    implements :meth:`action_probs` and builds its state in ``_init_params`` (from inherited
    ``params``, or afresh when they are ``None``), so that :meth:`reset_estimates` starts it over.
    """

    name: ClassVar[str] = "base"
    needs_discrete: ClassVar[bool] = False
    #: Whether the class builds its own tables from the parameters it is given (so that whoever makes
    #: it need not copy them first); a plugin's may keep them as they are.
    copies_params: ClassVar[bool] = False
    defaults: ClassVar[dict[str, float] | None] = None  # None: those declared in hyper_params

    def __init__(
        self,
        shapes: Mapping[str, TaskShape],
        hyper: Mapping[str, float],
        rng: np.random.Generator,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        kept = self.defaults if self.defaults is not None else {h.name: h.default for h in hyper_params(type(self))}
        self.hyper = {k: float(hyper.get(k, v)) for k, v in kept.items()}
        self.rng = rng
        self.shapes: dict[str, TaskShape] = dict(shapes)
        self._init_params(params)

    def _init_params(self, params: Mapping[str, Any] | None) -> None:
        pass

    def action_probs(self, task: str, obs: Any, mask: np.ndarray | None, greedy: bool = False) -> np.ndarray:
        raise NotImplementedError

    def act(self, task: str, obs: Any, mask: np.ndarray | None) -> int:
        probs = self.action_probs(task, obs, mask)
        return int(self.rng.choice(len(probs), p=probs))

    def update(
        self, task: str, obs: Any, option: int, reward: float, next_obs: Any, done: bool, discount: float
    ) -> None:
        pass

    def end_episode(self, task: str) -> None:
        pass

    def add_task(self, task: str, shape: TaskShape) -> None:
        self.shapes[task] = shape

    def add_tool(self, task: str, tool: tuple[int, ...]) -> None:
        s = self.shapes[task]
        self.shapes[task] = TaskShape(s.n_obs, s.n_features, s.n_actions, (*s.tools, tool))

    def reset_estimates(self) -> None:
        self._init_params(None)

    def get_params(self) -> dict[str, Any]:
        return {}


#: Plugin classes by ``"module:Class"`` name, imported once per process.
_plugins: dict[str, type] = {}


def agent_class(kind: str) -> type:
    """The class for an agent kind: a built-in name, or ``"module:Class"`` for a plugin.

    A plugin's module is imported here (its code runs, as installing a package does); the config
    checks the name's form first and imports it only once everything else is valid.
    """
    if kind in AGENT_REGISTRY:
        return AGENT_REGISTRY.get(kind)
    if ":" in kind:
        if kind not in _plugins:
            module, _, cls = kind.partition(":")
            if not PLUGIN.fullmatch(kind):
                raise ConfigError(
                    f"agent kind {kind!r} is not 'module:Class' (a dotted module name, ':', a class name)"
                )
            refusal = stdlib_refusal(kind, "agent kind")
            if refusal:
                raise ConfigError(refusal)
            mod = import_plugin_module(module, f"agent kind {kind!r} cannot be loaded")
            obj = getattr(mod, cls, None)
            if obj is None:
                raise ConfigError(f"agent kind {kind!r} cannot be loaded: module {module!r} has no {cls!r}")
            if not isinstance(obj, type):
                raise ConfigError(f"agent kind {kind!r} is {type(obj).__name__}, not a class implementing Agent")
            missing = [m for m in PROTOCOL_METHODS if not callable(getattr(obj, m, None))]
            if missing:
                raise ConfigError(
                    f"agent kind {kind!r} lacks method(s) {', '.join(missing)} of the Agent protocol "
                    f"(needed: {', '.join(PROTOCOL_METHODS)})"
                )
            _check_declarations(obj, f"agent kind {kind!r}")
            _plugins[kind] = obj
        return _plugins[kind]
    raise ConfigError(f"unknown agent kind {kind!r}; accepted: {', '.join(AGENT_REGISTRY.names())} or 'module:Class'")
