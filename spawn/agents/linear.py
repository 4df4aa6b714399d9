"""Function approximation: a linear softmax policy trained by REINFORCE."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from spawn.agents.base import CLASSIC_HYPER, AgentBase, TaskShape

__all__ = ["LinearSoftmaxAgent"]


class LinearSoftmaxAgent(AgentBase):
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
