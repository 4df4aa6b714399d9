"""Training an agent on one environment of the suite: the open session and the step loop.

The step loop is the simulator's hot path: it binds what it calls to locals and does no work for a
feature the run does not use (masks without a shield, constraint accounting without a
constitution, watches without a trigger that watches).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spawn.agents import Agent, option_mask
from spawn.life.suite import Suite, make_encoder

if TYPE_CHECKING:
    from spawn.life.objectives import Objective

__all__ = ["Session", "TrainStats", "train_session"]


class Session:
    """One environment the agent trains on, kept open across rounds (episodes span rounds).

    It is reset once with ``seed`` at world time ``clock`` (for a clocked environment), then
    continues with the environment's own stream. It holds the current observation and the episode
    under way (its return, cost and actions), and keeps the 64 most recent finished episodes as
    ``(return, actions)`` for ``add-tool`` to mine.
    """

    def __init__(
        self, suite: Suite, task: str, shield: bool, seed: int, clock: int, dropped: tuple[str, ...] = ()
    ) -> None:
        self.task = task
        self._lease = (suite, task, shield, dropped)
        self.env = suite.acquire(task, shield=shield, dropped=dropped)
        self.space = self.env.observation_space
        self.n_actions = int(self.env.action_space.n)  # type: ignore[attr-defined]
        self.constrained = suite.facts[task].has_constitution
        self.encode = make_encoder(self.space)
        raw, info = self.env.reset(seed=seed, options=suite.reset_options(task, clock))
        self.obs = self.encode(raw)
        self.info = info
        self.ep_return = 0.0
        self.ep_cost = 0.0
        self.ep_actions: list[int] = []
        self.best: deque[tuple[float, tuple[int, ...]]] = deque(maxlen=64)  # (return, actions), for add-tool

    def close(self) -> None:
        """Give the environment back to the suite (the next agent resets it)."""
        suite, task, shield, dropped = self._lease
        suite.release(self.env, task, shield, dropped)

    def restart(self) -> None:
        """Start the next episode (the environment's own stream, no new seed)."""
        raw, self.info = self.env.reset()
        self.obs = self.encode(raw)
        self.ep_return = self.ep_cost = 0.0
        self.ep_actions = []


@dataclass
class TrainStats:
    """What an agent's training has done so far, over every session.

    ``violations`` counts the forbidden-action rules its actions broke, ``cost`` the steps it
    spent in a forbidden state (the wrapper's ``info``, see :func:`train_session`): disjoint
    counts, so ``violations + cost`` counts every broken rule once.
    """

    steps: int = 0
    violations: float = 0.0
    cost: float = 0.0
    episodes: int = 0
    drift_alarms: int = 0
    returns: list[float] = field(default_factory=list)


def _episode_over(agent: Agent, s: Session, stats: TrainStats, obj: Objective, lagrange: float) -> float:
    """Close the episode that just ended and start the next; returns the Lagrange multiplier
    (an adaptive objective updates it from the episode's cost)."""
    agent.end_episode(s.task)
    stats.episodes += 1
    stats.returns.append(s.ep_return)
    s.best.append((s.ep_return, tuple(s.ep_actions[:256])))
    if obj.adaptive:
        lagrange = obj.update(lagrange, s.ep_cost)
    s.restart()
    return lagrange


def train_session(
    agent: Agent, s: Session, steps: int, obj: Objective, lagrange: float, stats: TrainStats, watch: Any, gamma: float
) -> float:
    """Train ``steps`` environment steps on one session; returns the updated Lagrange multiplier.

    A tool runs as its primitive actions, one ``env.step`` each, and is learnt as one SMDP step.
    Violations and cost come from the constitution wrapper's ``info`` of every step: ``violations``
    the forbidden-action rules the step's action broke, ``cost`` 1 when the step is in a forbidden
    state. The two never count the same rule, so each event is counted once: in ``stats``
    (``stats.violations``, ``stats.cost``), in the episode's cost ``violations + cost`` (summed over
    its steps; the reset's initial state is not a step and costs nothing, as in evaluation) that an
    adaptive objective compares with its limit, and in the penalty ``weight * (violations + cost)``
    that turns the environment's reward into the reward the agent learns from (the reward it
    reports stays the environment's).
    ``watch`` (or ``None``) is called with every reward (the triggers that watch this task).
    """
    task = s.task
    tools = agent.shapes[task].tools
    n_prim = s.n_actions
    masked = obj.shield
    weight = obj.weight(lagrange)
    constrained = s.constrained
    env_step = s.env.step
    encode = s.encode
    act, update = agent.act, agent.update
    actions = s.ep_actions
    done_steps = 0
    while done_steps < steps:
        obs0 = s.obs
        mask = option_mask(s.info.get("action_mask"), tools) if masked else None
        option = act(task, obs0, mask)
        seq = tools[option - n_prim] if option >= n_prim else None
        ret, disc, terminated, ended, k = 0.0, 1.0, False, False, 0
        while True:
            a = option if seq is None else seq[k]
            raw, r, terminated, truncated, info = env_step(a)
            done_steps += 1
            k += 1
            r = float(r)
            s.ep_return += r
            actions.append(a)
            if watch is not None:
                watch(r)
            if constrained:
                s.info = info
                viol = info.get("violations", 0)
                cost = info.get("cost", 0.0)
                if viol or cost:
                    stats.violations += viol
                    stats.cost += cost
                    s.ep_cost += viol + cost
                    r -= weight * (viol + cost)
            ret += disc * r
            disc *= gamma
            ended = terminated or truncated
            if ended or done_steps >= steps or seq is None or k == len(seq):
                break
        s.obs = encode(raw)
        update(task, obs0, option, ret, s.obs, terminated, disc)
        if ended:
            lagrange = _episode_over(agent, s, stats, obj, lagrange)
            if obj.adaptive:
                weight = obj.weight(lagrange)
            actions = s.ep_actions
    stats.steps += done_steps
    return lagrange
