"""Agents: a policy plus a learner, over primitive actions and the agent's own tools (macro-actions).

Every agent works per *task* (one environment of the suite), exposes its action distribution
``action_probs`` (the alignment distances need it), and keeps its whole state in
:meth:`Agent.get_params`, so that a child can start from a copy of it. Plugins implement the
:class:`Agent` protocol and are registered with :func:`register_agent` (then named by that name in
``[agent] kind``), or named in a config as ``"module:Class"``.

An agent class declares its hyper-parameters as ``hyper_params``, a tuple of :class:`Hyper` (name,
default, the values ``[agent]`` accepts, the range ``mutate`` perturbs within). ``[agent]`` accepts
exactly the declared names (besides its objective keys), the root agent's spec carries them, and
``mutate`` reads its ranges from the class. A class that declares nothing gets :data:`CLASSIC_HYPER`,
the six the built-ins declare.

Randomness comes only from the :class:`numpy.random.Generator` an agent is given.
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
    "AGENTS",
    "AGENT_REGISTRY",
    "CLASSIC_HYPER",
    "Agent",
    "Hyper",
    "LinearSoftmaxAgent",
    "QAgent",
    "QLambdaAgent",
    "RandomAgent",
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


#: Key of the visit counts in a tabular agent's parameters (with ``step_size = "visits"``).
_VISITS = "__visits__"


def _zeros(table: list[list[float]]) -> list[list[int]]:
    return [[0] * len(row) for row in table]


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


def _masked_choice(rng: np.random.Generator, n: int, mask: np.ndarray | None) -> int:
    if mask is None:
        return int(rng.integers(n))
    allowed = np.flatnonzero(mask)
    if len(allowed) == 0:
        return int(rng.integers(n))
    return int(allowed[rng.integers(len(allowed))])


class _Base:
    name: ClassVar[str] = "base"
    needs_discrete: ClassVar[bool] = False
    defaults: ClassVar[dict[str, float]] = {}

    def __init__(
        self,
        shapes: Mapping[str, TaskShape],
        hyper: Mapping[str, float],
        rng: np.random.Generator,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.hyper = {k: float(hyper.get(k, v)) for k, v in self.defaults.items()}
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


class RandomAgent(_Base):
    """Uniform over the allowed options; learns nothing. The baseline."""

    name = "random"
    hyper_params = CLASSIC_HYPER

    def action_probs(self, task: str, obs: Any, mask: np.ndarray | None, greedy: bool = False) -> np.ndarray:
        n = self.shapes[task].n_options
        p = np.ones(n) if mask is None or not mask.any() else mask.astype(float)
        return p / p.sum()

    def act(self, task: str, obs: Any, mask: np.ndarray | None) -> int:
        return _masked_choice(self.rng, self.shapes[task].n_options, mask)


class QAgent(_Base):
    """Tabular Q-learning (SMDP update over tools), epsilon-greedy or softmax action selection.

    Q-values live in plain Python lists: on small tables a list lookup is several times faster
    than a numpy scalar access, and the training loop is the hot path.
    """

    name = "q"
    needs_discrete = True
    hyper_params = CLASSIC_HYPER  # the spec carries all six; the instance keeps ``defaults``' keys
    defaults: ClassVar[dict[str, float]] = {
        "alpha": 0.1,
        "gamma": 0.95,
        "epsilon": 0.1,
        "temperature": 0.5,
        "softmax": 0.0,
        "visits": 0.0,
    }

    def _init_params(self, params: Mapping[str, Any] | None) -> None:
        self.q: dict[str, list[list[float]]] = {}
        # With hyper "visits" (step_size = "visits"): the step size is max(alpha, 1 / n(s, o)), a sample
        # average that hardens with experience; the counts are part of what a child inherits.
        self.n: dict[str, list[list[int]]] = {}
        counts = (params or {}).get(_VISITS, {})
        for task, shape in self.shapes.items():
            if params is not None and task in params:
                self.q[task] = [list(map(float, row)) for row in params[task]]
            else:
                assert shape.n_obs is not None
                self.q[task] = [[0.0] * shape.n_options for _ in range(shape.n_obs)]
            table = self.q[task]
            self.n[task] = [list(map(int, row)) for row in counts[task]] if task in counts else _zeros(table)
        # Random numbers are drawn in blocks: one Generator call per step would cost more than the update.
        self._u = self.rng.random(4096).tolist()
        self._ui = 0

    def _uniform(self) -> float:
        if self._ui == len(self._u):
            self._u = self.rng.random(4096).tolist()
            self._ui = 0
        u = self._u[self._ui]
        self._ui += 1
        return u

    def add_task(self, task: str, shape: TaskShape) -> None:
        super().add_task(task, shape)
        assert shape.n_obs is not None
        self.q.setdefault(task, [[0.0] * shape.n_options for _ in range(shape.n_obs)])
        self.n.setdefault(task, _zeros(self.q[task]))

    def add_tool(self, task: str, tool: tuple[int, ...]) -> None:
        super().add_tool(task, tool)
        for row in self.q[task]:
            row.append(row[tool[0]])  # a new tool starts as good as its first primitive
        for counts in self.n[task]:
            counts.append(0)

    def action_probs(self, task: str, obs: Any, mask: np.ndarray | None, greedy: bool = False) -> np.ndarray:
        row = np.asarray(self.q[task][obs])
        allowed = np.ones(len(row), bool) if mask is None or not mask.any() else mask
        if self.hyper["softmax"]:
            z = np.where(allowed, row / self.hyper["temperature"], -np.inf)
            z -= z.max()
            p = np.exp(z)
            return p / p.sum()
        best = np.where(allowed, row, -np.inf)
        top = (best == best.max()) & allowed
        p = top / top.sum()
        if greedy:
            return p
        eps = self.hyper["epsilon"]
        return (1 - eps) * p + eps * allowed / allowed.sum()

    def act(self, task: str, obs: Any, mask: np.ndarray | None) -> int:
        row = self.q[task][obs]
        if self.hyper["softmax"] or mask is not None:
            p = self.action_probs(task, obs, mask)
            u = self._uniform()
            return min(int(np.searchsorted(np.cumsum(p), u * p.sum(), side="right")), len(p) - 1)
        if self._uniform() < self.hyper["epsilon"]:
            return int(self._uniform() * len(row))
        best = max(row)
        if row.count(best) == 1:
            return row.index(best)
        ties = [i for i, v in enumerate(row) if v == best]
        return ties[int(self._uniform() * len(ties))]

    def update(
        self, task: str, obs: Any, option: int, reward: float, next_obs: Any, done: bool, discount: float
    ) -> None:
        q = self.q[task]
        target = reward if done else reward + discount * max(q[next_obs])
        row = q[obs]
        alpha = self.hyper["alpha"]
        if self.hyper["visits"]:
            n = self.n[task][obs]
            n[option] += 1
            alpha = max(alpha, 1.0 / n[option])
        row[option] += alpha * (target - row[option])

    def get_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {task: [list(row) for row in table] for task, table in self.q.items()}
        if self.hyper["visits"]:
            params[_VISITS] = {task: [list(row) for row in table] for task, table in self.n.items()}
        return params


class QLambdaAgent(QAgent):
    """Watkins's Q(lambda): accumulating eligibility traces, cut after an exploratory action."""

    name = "q-lambda"
    hyper_params = CLASSIC_HYPER
    defaults: ClassVar[dict[str, float]] = {**QAgent.defaults, "lambda": 0.8}

    def _init_params(self, params: Mapping[str, Any] | None) -> None:
        super()._init_params(params)
        self.traces: dict[str, dict[tuple[int, int], float]] = {t: {} for t in self.shapes}

    def add_task(self, task: str, shape: TaskShape) -> None:
        super().add_task(task, shape)
        self.traces.setdefault(task, {})

    def update(
        self, task: str, obs: Any, option: int, reward: float, next_obs: Any, done: bool, discount: float
    ) -> None:
        q = self.q[task]
        row = q[obs]
        greedy = row[option] == max(row)
        target = reward if done else reward + discount * max(q[next_obs])
        delta = target - row[option]
        tr = self.traces[task]
        tr[(obs, option)] = tr.get((obs, option), 0.0) + 1.0
        alpha = self.hyper["alpha"]
        decay = discount * self.hyper["lambda"]
        keep = greedy and not done
        for (s, a), e in list(tr.items()):
            q[s][a] += alpha * delta * e
            e *= decay
            if not keep or e < 1e-3:
                del tr[(s, a)]
            else:
                tr[(s, a)] = e

    def end_episode(self, task: str) -> None:
        self.traces[task] = {}


class LinearSoftmaxAgent(_Base):
    """A linear softmax policy over features, trained by REINFORCE with a running-mean baseline.

    Works on Box observations and, through one-hot features, on discrete ones.
    """

    name = "linear"
    hyper_params = CLASSIC_HYPER
    defaults: ClassVar[dict[str, float]] = {"lr": 0.05, "gamma": 0.95, "temperature": 1.0}

    def _init_params(self, params: Mapping[str, Any] | None) -> None:
        self.theta: dict[str, np.ndarray] = {}
        self.baseline: dict[str, float] = {}
        for task, shape in self.shapes.items():
            if params is not None and task in params:
                self.theta[task] = np.array(params[task]["theta"], dtype=float)
                self.baseline[task] = float(params[task]["baseline"])
            else:
                self.theta[task] = np.zeros((shape.n_features, shape.n_options))
                self.baseline[task] = 0.0
        self.episode: dict[str, list[tuple[np.ndarray, int, float]]] = {t: [] for t in self.shapes}

    def add_task(self, task: str, shape: TaskShape) -> None:
        super().add_task(task, shape)
        self.theta.setdefault(task, np.zeros((shape.n_features, shape.n_options)))
        self.baseline.setdefault(task, 0.0)
        self.episode.setdefault(task, [])

    def add_tool(self, task: str, tool: tuple[int, ...]) -> None:
        super().add_tool(task, tool)
        th = self.theta[task]
        self.theta[task] = np.concatenate([th, th[:, tool[0] : tool[0] + 1]], axis=1)

    def _features(self, task: str, obs: Any) -> np.ndarray:
        if isinstance(obs, int | np.integer):
            f = np.zeros(self.shapes[task].n_features)
            f[int(obs)] = 1.0
            return f
        return np.asarray(obs, dtype=float)

    def action_probs(self, task: str, obs: Any, mask: np.ndarray | None, greedy: bool = False) -> np.ndarray:
        z = self._features(task, obs) @ self.theta[task] / self.hyper["temperature"]
        if mask is not None and mask.any():
            z = np.where(mask, z, -np.inf)
        z = z - z.max()
        p = np.exp(z)
        return p / p.sum()

    def update(
        self, task: str, obs: Any, option: int, reward: float, next_obs: Any, done: bool, discount: float
    ) -> None:
        self.episode[task].append((self._features(task, obs), option, reward))

    def end_episode(self, task: str) -> None:
        steps = self.episode[task]
        self.episode[task] = []
        if not steps:
            return
        g, returns = 0.0, []
        for _, _, r in reversed(steps):
            g = r + self.hyper["gamma"] * g
            returns.append(g)
        returns.reverse()
        theta = self.theta[task]
        b = self.baseline[task]
        lr = self.hyper["lr"] / len(steps)
        for (f, o, _), g in zip(steps, returns, strict=True):
            p = self.action_probs(task, f, None)
            grad = -np.outer(f, p)
            grad[:, o] += f
            theta += lr * (g - b) * grad / self.hyper["temperature"]
        self.baseline[task] = b + 0.1 * (returns[0] - b)

    def get_params(self) -> dict[str, Any]:
        return {t: {"theta": self.theta[t].tolist(), "baseline": self.baseline[t]} for t in self.theta}


for _cls in (QAgent, QLambdaAgent, LinearSoftmaxAgent, RandomAgent):
    register_agent(_cls.name)(_cls)

#: The built-in agent kinds (plugins registered later are in :data:`AGENT_REGISTRY` only).
AGENTS: dict[str, type[_Base]] = {c.name: c for c in (QAgent, QLambdaAgent, LinearSoftmaxAgent, RandomAgent)}


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
