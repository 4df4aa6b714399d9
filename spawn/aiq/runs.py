"""Runs of an agent on BF programs: one episode, a program's two antithetic runs, and the runs of an estimate.

Every run's randomness comes from ``SeedSequence(seed, spawn_key=(0x52, stratum, index, side, role))``
(``role`` 0 for the machine, 1 for the agent): a program's runs depend only on the seed and where the
program is in the pool, never on the executor or on which other programs ran.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from attribution.aiq import aligned_scores
from attribution.distances import PROJECTION_FLOOR
from envs.bf import MAX_STEPS, STRATA, BFMachine, bf_constitution
from spawn.aiq.agents import AIQAgent, make_aiq_agent
from spawn.aiq.pool import StratumPool

__all__ = ["AgentFactory", "PairRuns", "RunSpec", "pair_rows", "run_episode"]

_RUN_KEY = 0x52

#: What ``estimate_upsilon``'s ``factory`` is: a fresh agent from its random generator.
AgentFactory = Callable[[np.random.Generator], AIQAgent]
#: A program's two antithetic runs: ``(r+, r-, d+, d-)``, scores then projection distances.
Pair = tuple[float, float, float, float]


def run_episode(
    program: str,
    agent: AIQAgent,
    episode_length: int,
    flip: float,
    rng: np.random.Generator,
    n_symbols: int = 5,
    forbidden: Sequence[Sequence[bool]] | None = None,
) -> tuple[float, float]:
    """One run of the reference's ``_test_agent``: ``(score, distance)``; score NaN on overtime.

    The score is the mean reward per cycle times ``flip`` (the antithetic sign, also applied to what
    the agent sees). With ``forbidden[obs][a]`` (a constitution's mask), ``distance`` is the mean over
    cycles of ``-log2`` of the probability the agent gave to the allowed actions: the projection
    distance over the agent's own state occupancy; else 0. As in
    :func:`attribution.distances.projection_distance`, that probability is ``1 - forbidden mass``
    clipped to ``[PROJECTION_FLOOR, 1]`` (1e-12), so a compliant cycle costs exactly 0 bits and one
    that never complies at most ``-log2(1e-12)`` ≈ 39.86.

    Examples
    --------
    >>> from spawn.aiq.agents import FreqAgent
    >>> agent = FreqAgent(np.random.default_rng(0), epsilon=0.0)
    >>> run_episode(",..#", agent, 100, 1.0, np.random.default_rng(1))
    (96.5, 0.0)
    """
    m = BFMachine(program, n_symbols, rng)
    cycle, t, h, rand = m.cycle, m.t, m.h, m.rand
    rewards = [flip * r for r in m.rewards]
    perceive = agent.perceive
    p, o0, o1 = 0, m.mid, m.mid
    reward = 0.0
    total = 0.0
    bits = 0.0
    for _ in range(episode_length):
        if forbidden is not None and any(forbidden[o1]):
            probs = agent.action_probs(o1)
            leaked = sum(q for q, f in zip(probs, forbidden[o1], strict=True) if f)
            bits -= math.log2(min(max(1.0 - leaked, PROJECTION_FLOOR), 1.0))
        a = perceive(o1, reward)
        h.pop()
        h.insert(0, a)
        p, o0, o1, steps = cycle(t, p, h, o0, o1, rand)
        if steps >= MAX_STEPS:
            return math.nan, math.nan
        reward = rewards[o0]
        total += reward
    return total / episode_length, bits / episode_length


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """What every run of one estimate shares: the agent (a baseline's name and parameters, or a
    ``factory``), the episode length, the seed, the machine's symbols and whether Sigma is measured."""

    agent: str
    params: tuple[tuple[str, float], ...]
    episode_length: int
    seed: int
    n_symbols: int
    aligned: bool
    factory: AgentFactory | None = None

    def make_agent(self, rng: np.random.Generator) -> AIQAgent:
        if self.factory is not None:
            return self.factory(rng)
        return make_aiq_agent(self.agent, rng, self.episode_length, self.n_symbols, **dict(self.params))


@dataclasses.dataclass(frozen=True)
class _Task:
    program: str
    stratum: int
    index: int
    spec: RunSpec


def _run_pair(task: _Task) -> Pair:
    """Both antithetic runs of one program; ``(r+, r-, d+, d-)``, all NaN if either ran overtime."""
    spec = task.spec
    forbidden = None
    if spec.aligned:
        c = bf_constitution(spec.n_symbols)
        forbidden = [[not ok for ok in c.allowed_actions(o).tolist()] for o in range(spec.n_symbols)]
    out: list[float] = []
    dist: list[float] = []
    for side, flip in enumerate((1.0, -1.0)):
        base = (_RUN_KEY, task.stratum, task.index, side)
        env_rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(*base, 0)))
        agent_rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(*base, 1)))
        agent = spec.make_agent(agent_rng)
        score, d = run_episode(task.program, agent, spec.episode_length, flip, env_rng, spec.n_symbols, forbidden)
        if math.isnan(score):
            return math.nan, math.nan, math.nan, math.nan
        out.append(score)
        dist.append(d)
    return out[0], out[1], dist[0], dist[1]


def pair_rows(runs: dict[int, Pair], keys: Sequence[int]) -> np.ndarray:
    """The ``(r+, r-)`` rows of the programs ``keys`` (indices in a stratum), shape ``(len(keys), 2)``."""
    return np.array([runs[k][:2] for k in keys], dtype=np.float64).reshape(len(keys), 2)


class PairRuns:
    """The antithetic pairs of one estimate, by stratum and index in the pool, run on ``executor``.

    :meth:`fill` runs each stratum's programs in pool order, ``batch`` at a time, until it has as many
    valid pairs as asked; a program that runs overtime is kept as a NaN row and replaced by the next.
    ``progress(done, total)`` is told after each batch (``total`` as raised by :meth:`expect`).
    """

    def __init__(
        self,
        pool: StratumPool,
        spec: RunSpec,
        executor: Any,
        batch: int = 64,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.pool, self.spec, self.executor, self.batch, self.progress = pool, spec, executor, batch, progress
        self.runs: list[dict[int, Pair]] = [{} for _ in range(STRATA)]
        self._next = [0] * STRATA
        self.done = self.overtime = self.total = 0

    @property
    def cycles(self) -> int:
        """BF cycles run so far (both runs of every program started, overtime ones included)."""
        return 2 * self.spec.episode_length * (self.done + self.overtime)

    def expect(self, programs: int) -> None:
        """Raise the total the progress reports count towards to at least ``programs``."""
        self.total = max(self.total, programs)

    def valid(self, i: int) -> int:
        """Valid pairs of stratum ``i`` so far."""
        return sum(1 for v in self.runs[i].values() if not math.isnan(v[0]))

    def fill(self, target: np.ndarray) -> list[int]:
        """Run programs until stratum ``i`` has ``target[i]`` valid pairs; the strata left short (pool used up)."""
        while True:
            todo = self._next_tasks(target)
            if not todo:
                break
            for s in range(0, len(todo), self.batch):
                self._run(todo[s : s + self.batch])
        return [i for i in range(STRATA) if self.valid(i) < target[i]]

    def _next_tasks(self, target: np.ndarray) -> list[_Task]:
        todo: list[_Task] = []
        programs = self.pool.programs
        for i in range(STRATA):
            want = int(target[i]) - self.valid(i)
            while want > 0 and self._next[i] < len(programs[i]):
                todo.append(_Task(programs[i][self._next[i]], i, self._next[i], self.spec))
                self._next[i] += 1
                want -= 1
        return todo

    def _run(self, part: list[_Task]) -> None:
        for t, res in zip(part, self.executor.map(_run_pair, part), strict=True):
            self.runs[t.stratum][t.index] = res
            if math.isnan(res[0]):
                self.overtime += 1
            else:
                self.done += 1
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)

    def valid_keys(self) -> list[list[int]]:
        """Each stratum's programs with a valid pair, by index in the pool."""
        return [sorted(k for k, v in r.items() if not math.isnan(v[0])) for r in self.runs]

    def pairs(self) -> list[np.ndarray]:
        """Each stratum's valid ``(r+, r-)`` rows, in pool order."""
        return [pair_rows(r, k) for r, k in zip(self.runs, self.valid_keys(), strict=True)]

    def aligned_pairs(self) -> list[np.ndarray]:
        """Each stratum's valid rows with every score weighted by ``2^-D`` (:func:`~attribution.aiq.aligned_scores`)."""
        rows = []
        for r, keys in zip(self.runs, self.valid_keys(), strict=True):
            a = np.array([r[k] for k in keys], dtype=np.float64).reshape(len(keys), 4)
            rows.append(np.column_stack([aligned_scores(a[:, 0], a[:, 2]), aligned_scores(a[:, 1], a[:, 3])]))
        return rows
