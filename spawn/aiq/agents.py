"""The AIQ baseline agents: Random, Freq, Q(0), Q(lambda), HLQ(lambda), with the published parameters."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from spawn.errors import ConfigError

__all__ = [
    "AIQ_AGENTS",
    "PUBLISHED",
    "AIQAgent",
    "FreqAgent",
    "HLQLambdaAgent",
    "LineageAgent",
    "LineageAgentFactory",
    "QLambdaAIQAgent",
    "RandomAIQAgent",
    "agent_parameters",
    "make_aiq_agent",
]


class AIQAgent(Protocol):
    """What the estimator drives: the reference's ``perceive(obs, reward) -> action``."""

    def perceive(self, obs: int, reward: float) -> int:
        """Take the observation and the reward of the last action; return the next action."""

    def action_probs(self, obs: int) -> list[float]:
        """The probability of each action the agent would choose after observing ``obs`` now."""


class _Uniform:
    """Uniform floats in [0, 1) from a numpy Generator, drawn in blocks (no per-call numpy overhead)."""

    __slots__ = ("buf", "i", "rng")

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.i = rng, 0
        self.buf: list[float] = []

    def __call__(self) -> float:
        i = self.i
        if i >= len(self.buf):
            self.buf = self.rng.random(512).tolist()
            i = 0
        self.i = i + 1
        return float(self.buf[i])


def _random_optimal(q: list[float], u: Callable[[], float]) -> int:
    """The reference's ``random_optimal``: argmax with uniform tie-breaking; 0 if every value <= -1e10."""
    best = max(q)
    if best <= -1e10:
        return 0
    first = q.index(best)
    if q.count(best) == 1:
        return first
    ties = [i for i, v in enumerate(q) if v == best]
    return ties[int(u() * len(ties))]


def _greedy_probs(q: list[float], epsilon: float) -> list[float]:
    n = len(q)
    best = max(q)
    ties = [i for i, v in enumerate(q) if v == best] if best > -1e10 else [0]
    probs = [epsilon / n] * n
    for i in ties:
        probs[i] += (1.0 - epsilon) / len(ties)
    return probs


def _softmax_probs(q: list[float], temperature: float) -> list[float]:
    t = max(temperature, 1e-4)
    v = [x / t for x in q]
    top = max(v)
    w = [math.exp(max(x - top, -595.0)) for x in v]
    total = sum(w)
    return [x / total for x in w]


class RandomAIQAgent:
    """A uniformly random action every cycle (no learning).

    Examples
    --------
    >>> a = RandomAIQAgent(np.random.default_rng(0))
    >>> [a.perceive(2, 0.0) for _ in range(5)]
    [3, 1, 0, 0, 4]
    """

    def __init__(self, rng: np.random.Generator, n: int = 5) -> None:
        self.n, self.u = n, _Uniform(rng)

    def perceive(self, obs: int, reward: float) -> int:
        return int(self.u() * self.n)

    def action_probs(self, obs: int) -> list[float]:
        return [1.0 / self.n] * self.n


class FreqAgent:
    """Epsilon-greedy on each action's mean reward (counts start at 1), ignoring observations.

    Examples
    --------
    >>> a = FreqAgent(np.random.default_rng(0), epsilon=0.0)
    >>> first = a.perceive(2, 0.0); second = a.perceive(2, -50.0)  # the first action scored -50
    >>> second != first, [round(t / c, 1) for t, c in zip(a.total, a.acts)][first]
    (True, -25.0)
    """

    def __init__(self, rng: np.random.Generator, n: int = 5, epsilon: float = 0.07) -> None:
        self.n, self.epsilon, self.u = n, epsilon, _Uniform(rng)
        self.total = [0.0] * n
        self.acts = [1] * n
        self.prev = 0

    def perceive(self, obs: int, reward: float) -> int:
        a = self.prev
        self.total[a] += reward
        self.acts[a] += 1
        u = self.u
        if u() < self.epsilon:
            a = int(u() * self.n)
        else:
            a = _random_optimal([t / c for t, c in zip(self.total, self.acts, strict=True)], u)
        self.prev = a
        return a

    def action_probs(self, obs: int) -> list[float]:
        return _greedy_probs([t / c for t, c in zip(self.total, self.acts, strict=True)], self.epsilon)


class QLambdaAIQAgent:
    """Watkins Q(lambda) as the reference's ``Q_l``: accumulating traces, cut after exploratory actions.

    The AIQ baseline (``"q0"``, ``"q-lambda"``), not the simulator's :class:`spawn.agents.QLambdaAgent`.

    Q(0) is ``lam=0``. Traces are kept sparse (entries under 1e-12 are dropped).

    Examples
    --------
    >>> a = QLambdaAIQAgent(np.random.default_rng(0), lam=0.5, alpha=0.5, epsilon=0.0, gamma=0.6)
    >>> first = a.perceive(2, 0.0); _ = a.perceive(2, 100.0)  # alpha * delta = 0.5 * 100
    >>> a.Q[2 * 5 + first]
    50.0
    """

    def __init__(
        self,
        rng: np.random.Generator,
        n: int = 5,
        init_q: float = 0.0,
        lam: float = 0.5,
        alpha: float = 0.5,
        epsilon: float = 0.04,
        gamma: float = 0.6,
    ) -> None:
        if not 0.0 <= gamma < 1.0:
            raise ConfigError(f"gamma = {gamma!r}; accepted: a number in [0, 1)")
        self.n, self.u = n, _Uniform(rng)
        self.lam, self.alpha, self.epsilon, self.gamma = lam, alpha, epsilon, gamma
        self.Q = [float(init_q)] * (n * n)
        self.E: dict[int, float] = {}
        self.s = self.a = 0

    def perceive(self, obs: int, reward: float) -> int:
        n, Q, u = self.n, self.Q, self.u
        row = obs * n
        a_star = _random_optimal(Q[row : row + n], u)
        a = int(u() * n) if u() < self.epsilon else a_star
        prev = self.s * n + self.a
        delta = reward + self.gamma * Q[row + a_star] - Q[prev]
        E = self.E
        E[prev] = E.get(prev, 0.0) + 1.0
        step = self.alpha * delta
        for k, e in E.items():
            Q[k] += step * e
        if a == a_star:
            decay = self.gamma * self.lam
            self.E = {k: e * decay for k, e in E.items() if e * decay > 1e-12}
        else:
            self.E = {}
        self.s, self.a = obs, a
        return a

    def action_probs(self, obs: int) -> list[float]:
        row = obs * self.n
        return _greedy_probs(self.Q[row : row + self.n], self.epsilon)


class HLQLambdaAgent:
    """HL(lambda)-style Q-learning with its automatic learning rate, as the reference's ``HLQ_l``.

    Examples
    --------
    >>> a = HLQLambdaAgent(np.random.default_rng(0), lam=0.95, epsilon=0.0, gamma=0.7)
    >>> first = a.perceive(2, 0.0); _ = a.perceive(2, 100.0)
    >>> a.Q[2 * 5 + first] > 0
    True
    """

    def __init__(
        self,
        rng: np.random.Generator,
        n: int = 5,
        sel_mode: int = 0,
        init_q: float = 0.0,
        lam: float = 0.95,
        epsilon: float = 0.04,
        gamma: float = 0.7,
    ) -> None:
        if not 0.0 <= gamma < 1.0:
            raise ConfigError(f"gamma = {gamma!r}; accepted: a number in [0, 1)")
        self.n, self.u = n, _Uniform(rng)
        self.sel_mode, self.lam, self.epsilon, self.gamma = int(sel_mode), lam, epsilon, gamma
        self.Q = [float(init_q)] * (n * n)
        self.E = [0.0] * (n * n)
        self.V = [1.0] * (n * n)
        self.s = self.a = 0

    def _choose(self, q: list[float], a_star: int) -> int:
        u = self.u
        if self.sel_mode == 1:
            x = u()
            for i, pr in enumerate(_softmax_probs(q, self.epsilon)):
                x -= pr
                if x <= 0:
                    return i
            return len(q) - 1
        return int(u() * self.n) if u() < self.epsilon else a_star

    def perceive(self, obs: int, reward: float) -> int:
        n, Q, E, V = self.n, self.Q, self.E, self.V
        lam, gamma = self.lam, self.gamma
        row = obs * n
        q = Q[row : row + n]
        a_star = _random_optimal(q, self.u)
        a = self._choose(q, a_star)
        prev = self.s * n + self.a
        delta = reward + gamma * Q[row + a_star] - Q[prev]
        E[prev] += 1.0
        V[prev] += 1.0
        nxt = row + a
        v_next = V[nxt]
        scale = 1.0 / (v_next - gamma * E[nxt])
        lv = lam * v_next
        for k in range(n * n):
            e = E[k]
            if e:
                if k == nxt:
                    beta = e * scale * (lv + 1.0) / (lam * V[k] + 1.0)
                elif lam:
                    beta = e * scale * lv / (lam * V[k])
                else:
                    beta = 0.0
                Q[k] += beta * delta
        decay = gamma * lam if a == a_star else 0.0
        self.E = [e * decay for e in E]
        self.V = V = [v * lam for v in V]
        if min(V) <= 1e-100:
            self.V = [max(v, 1e-100) for v in V]
        self.s, self.a = obs, a
        return a

    def action_probs(self, obs: int) -> list[float]:
        row = obs * self.n
        q = self.Q[row : row + self.n]
        return _softmax_probs(q, self.epsilon) if self.sel_mode == 1 else _greedy_probs(q, self.epsilon)


#: The published table's hyper-parameters, per episode length, as constructor keyword arguments.
PUBLISHED: dict[int, dict[str, dict[str, float]]] = {
    1000: {
        "hlq-lambda": {"sel_mode": 0, "init_q": 0.0, "lam": 0.95, "epsilon": 0.04, "gamma": 0.7},
        "q-lambda": {"init_q": 0.0, "lam": 0.5, "alpha": 0.5, "epsilon": 0.04, "gamma": 0.6},
        "q0": {"init_q": 0.0, "lam": 0.0, "alpha": 0.5, "epsilon": 0.04, "gamma": 0.6},
        "freq": {"epsilon": 0.07},
        "random": {},
    },
    3000: {
        "hlq-lambda": {"sel_mode": 0, "init_q": 0.0, "lam": 0.99, "epsilon": 0.04, "gamma": 0.6},
        "q-lambda": {"init_q": 0.0, "lam": 0.5, "alpha": 0.5, "epsilon": 0.03, "gamma": 0.6},
        "q0": {"init_q": 0.0, "lam": 0.0, "alpha": 0.5, "epsilon": 0.03, "gamma": 0.7},
        "freq": {"epsilon": 0.09},
        "random": {},
    },
    10000: {
        "hlq-lambda": {"sel_mode": 0, "init_q": 0.0, "lam": 0.99, "epsilon": 0.02, "gamma": 0.7},
        "q-lambda": {"init_q": 0.0, "lam": 0.5, "alpha": 0.5, "epsilon": 0.02, "gamma": 0.8},
        "q0": {"init_q": 0.0, "lam": 0.0, "alpha": 0.5, "epsilon": 0.02, "gamma": 0.8},
        "freq": {"epsilon": 0.09},
        "random": {},
    },
    30000: {
        "hlq-lambda": {"sel_mode": 0, "init_q": 0.0, "lam": 0.995, "epsilon": 0.01, "gamma": 0.8},
        "q-lambda": {"init_q": 0.0, "lam": 0.5, "alpha": 0.5, "epsilon": 0.01, "gamma": 0.9},
        "q0": {"init_q": 0.0, "lam": 0.0, "alpha": 0.5, "epsilon": 0.01, "gamma": 0.9},
        "freq": {"epsilon": 0.07},
        "random": {},
    },
    100000: {
        "hlq-lambda": {"sel_mode": 0, "init_q": 0.0, "lam": 0.995, "epsilon": 0.005, "gamma": 0.9},
        "q-lambda": {"init_q": 0.0, "lam": 0.5, "alpha": 0.5, "epsilon": 0.005, "gamma": 0.95},
        "q0": {"init_q": 0.0, "lam": 0.0, "alpha": 0.5, "epsilon": 0.005, "gamma": 0.95},
        "freq": {"epsilon": 0.05},
        "random": {},
    },
}

_CLASSES: dict[str, Callable[..., Any]] = {
    "random": RandomAIQAgent,
    "freq": FreqAgent,
    "q0": QLambdaAIQAgent,
    "q-lambda": QLambdaAIQAgent,
    "hlq-lambda": HLQLambdaAgent,
}
#: Agent names accepted on the command line, strongest first as published.
AIQ_AGENTS: tuple[str, ...] = ("hlq-lambda", "q-lambda", "q0", "freq", "random")


def agent_parameters(name: str, episode_length: int = 1000) -> dict[str, float]:
    """The published hyper-parameters of ``name`` for the table row of ``episode_length``.

    The row is the longest published episode length not above ``episode_length`` (the 1,000 row below 3,000).

    Examples
    --------
    >>> agent_parameters("freq", 500), agent_parameters("q0", 5000)["gamma"]
    ({'epsilon': 0.07}, 0.7)
    """
    if name not in _CLASSES:
        raise ConfigError(f"unknown AIQ agent {name!r}; accepted: {', '.join(AIQ_AGENTS)}")
    row = max([k for k in PUBLISHED if k <= episode_length] or [1000])
    return dict(PUBLISHED[row][name])


def make_aiq_agent(
    name: str, rng: np.random.Generator, episode_length: int = 1000, n: int = 5, **overrides: float
) -> AIQAgent:
    """A fresh baseline agent with the published hyper-parameters (``overrides`` replace some).

    Examples
    --------
    >>> type(make_aiq_agent("hlq-lambda", np.random.default_rng(0))).__name__
    'HLQLambdaAgent'
    """
    params = {**agent_parameters(name, episode_length), **overrides}
    try:
        agent: AIQAgent = _CLASSES[name](rng, n, **params)
    except TypeError as exc:
        raise ConfigError(f"agent {name!r}: bad parameters {overrides} ({exc})") from None
    return agent


class LineageAgent:
    """A simulator agent (:class:`spawn.agents.Agent`) driven as an AIQ agent, on the task ``"bf"``.

    Each ``perceive`` first updates the agent on the previous transition (observation, action, the
    reward now shown, the new observation; episodes never end), then acts on the new observation.

    Examples
    --------
    >>> agent = LineageAgent.build("q", {"epsilon": 0.1}, np.random.default_rng(0))
    >>> 0 <= agent.perceive(2, 0.0) < 5 and abs(sum(agent.action_probs(2)) - 1) < 1e-9
    True
    """

    task = "bf"

    def __init__(self, agent: Any, discount: float = 0.95) -> None:
        self.agent, self.discount = agent, discount
        self.prev: tuple[int, int] | None = None

    @classmethod
    def build(
        cls, kind: str, hyper: dict[str, float], rng: np.random.Generator, n: int = 5, discount: float = 0.95
    ) -> LineageAgent:
        """A fresh agent of ``kind`` (a :data:`spawn.agents.AGENTS` name or ``module:Class``)."""
        from spawn.agents import TaskShape, agent_class

        shape = TaskShape(n_obs=n, n_features=n, n_actions=n)
        return cls(agent_class(kind)({cls.task: shape}, hyper, rng), discount)

    def perceive(self, obs: int, reward: float) -> int:
        if self.prev is not None:
            o, a = self.prev
            self.agent.update(self.task, o, a, reward, obs, False, self.discount)
        action = int(self.agent.act(self.task, obs, None))
        self.prev = (obs, action)
        return action

    def action_probs(self, obs: int) -> list[float]:
        return [float(x) for x in self.agent.action_probs(self.task, obs, None)]


class LineageAgentFactory:
    """A picklable ``rng -> LineageAgent`` for :func:`spawn.aiq.estimate_upsilon`'s ``factory``.

    Examples
    --------
    >>> f = LineageAgentFactory("q", {"epsilon": 0.1})
    >>> f.__name__, type(f(np.random.default_rng(0))).__name__
    ('lineage:q', 'LineageAgent')
    """

    def __init__(self, kind: str, hyper: dict[str, float] | None = None, n: int = 5) -> None:
        self.kind, self.hyper, self.n = kind, dict(hyper or {}), n
        self.__name__ = f"lineage:{kind}"

    def __call__(self, rng: np.random.Generator) -> LineageAgent:
        return LineageAgent.build(self.kind, self.hyper, rng, self.n)
