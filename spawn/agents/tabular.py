"""Tabular learners over discrete observations (Q-learning, Watkins's Q(lambda)) and the uniform baseline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from spawn.agents.base import CLASSIC_HYPER, AgentBase, TaskShape

__all__ = ["QAgent", "QLambdaAgent", "RandomAgent"]

#: Key of the visit counts in a tabular agent's parameters (with ``step_size = "visits"``).
_VISITS = "__visits__"


def _zeros(table: list[list[float]]) -> list[list[int]]:
    return [[0] * len(row) for row in table]


def _masked_choice(rng: np.random.Generator, n: int, mask: np.ndarray | None) -> int:
    if mask is None:
        return int(rng.integers(n))
    allowed = np.flatnonzero(mask)
    if len(allowed) == 0:
        return int(rng.integers(n))
    return int(allowed[rng.integers(len(allowed))])


class RandomAgent(AgentBase):
    """Uniform over the allowed options; learns nothing. The baseline."""

    name = "random"
    hyper_params = CLASSIC_HYPER
    defaults: ClassVar[dict[str, float] | None] = {}  # learns nothing: keeps no hyper-parameter

    def action_probs(self, task: str, obs: Any, mask: np.ndarray | None, greedy: bool = False) -> np.ndarray:
        n = self.shapes[task].n_options
        p = np.ones(n) if mask is None or not mask.any() else mask.astype(float)
        return p / p.sum()

    def act(self, task: str, obs: Any, mask: np.ndarray | None) -> int:
        return _masked_choice(self.rng, self.shapes[task].n_options, mask)


class QAgent(AgentBase):
    """Tabular Q-learning (SMDP update over tools), epsilon-greedy or softmax action selection.

    Q-values live in plain Python lists: on small tables a list lookup is several times faster
    than a numpy scalar access, and the training loop is the hot path.
    """

    name = "q"
    needs_discrete = True
    copies_params = True  # _init_params builds new rows from the parameters
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
        # The first block is drawn at the first use (an agent built only to be copied draws none). The
        # cohort engine may leave the rest of a block as a float array: the same values, read alike.
        self._u: list[float] = []
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
    """Watkins's Q(lambda): accumulating eligibility traces, cut when the next action is exploratory.

    Sutton and Barto (2nd ed., section 12.10), over SMDP steps: after the step from ``(s, a)`` with
    discounted return ``R`` over ``k`` primitive steps (``discount`` is gamma^k),
    delta = R + gamma^k max_b Q(s', b) - Q(s, a); e(s, a) += 1; Q += alpha delta e for every pair;
    e *= gamma^k lambda. The cut is decided by the *next* action: when ``act`` then chooses an
    option in ``s'`` that is not greedy (its value below max_b Q(s', b), the max the targets use,
    whatever a mask allows), every trace of the task is set to 0 before the next update.

    The next action is chosen (and judged greedy) from the table after the step's update, as this
    loop's one-step Q-learning chooses it (Sutton and Barto's box chooses A' just before the update);
    so with lambda = 0 the agent is exactly :class:`QAgent` (at a constant step size: the
    traces use ``alpha`` alone). Traces below 1e-3 are dropped. An agent
    driven by another chooser tells the learner the action it took with :meth:`note_action`.

    Examples
    --------
    >>> from spawn.agents import TaskShape
    >>> agent = QLambdaAgent({"t": TaskShape(3, 3, 2)}, {"alpha": 0.5, "gamma": 1.0, "lambda": 1.0},
    ...                      np.random.default_rng(0))
    >>> agent.q["t"][1] = [-0.5, 0.0]
    >>> agent.update("t", 0, 0, 1.0, 1, False, 1.0)    # delta = 1
    >>> agent.note_action("t", 1, 0)                   # exploratory in state 1: the traces are cut
    >>> agent.update("t", 1, 0, 4.0, 2, True, 1.0)     # delta = 4.5 reaches (1, 0) only
    >>> agent.q["t"][0][0], agent.q["t"][1][0]
    (0.5, 1.75)
    """

    name = "q-lambda"
    hyper_params = CLASSIC_HYPER
    defaults: ClassVar[dict[str, float]] = {**QAgent.defaults, "lambda": 0.8}

    def _init_params(self, params: Mapping[str, Any] | None) -> None:
        super()._init_params(params)
        # Traces live within an episode: never inherited, never checkpointed (a life starts without).
        self.traces: dict[str, dict[tuple[int, int], float]] = {t: {} for t in self.shapes}

    def add_task(self, task: str, shape: TaskShape) -> None:
        super().add_task(task, shape)
        self.traces.setdefault(task, {})

    def act(self, task: str, obs: Any, mask: np.ndarray | None) -> int:
        option = super().act(task, obs, mask)
        if self.traces[task]:
            self.note_action(task, obs, option)
        return option

    def note_action(self, task: str, obs: Any, option: int) -> None:
        """The action taken in ``obs`` (the next update's): an exploratory one cuts the task's traces."""
        row = self.q[task][obs]
        if row[option] != max(row):
            self.traces[task].clear()

    def update(
        self, task: str, obs: Any, option: int, reward: float, next_obs: Any, done: bool, discount: float
    ) -> None:
        q = self.q[task]
        row = q[obs]
        target = reward if done else reward + discount * max(q[next_obs])
        delta = target - row[option]
        tr = self.traces[task]
        tr[(obs, option)] = tr.get((obs, option), 0.0) + 1.0
        step = self.hyper["alpha"] * delta
        decay = discount * self.hyper["lambda"]
        for (s, a), e in list(tr.items()):
            q[s][a] += step * e
            e *= decay
            if done or e < 1e-3:
                del tr[(s, a)]
            else:
                tr[(s, a)] = e

    def end_episode(self, task: str) -> None:
        self.traces[task] = {}
