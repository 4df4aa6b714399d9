"""Fault injection for the Ray runtimes: kill points drawn from streams disjoint from the agents'.

An agent draws from ``SeedSequence(seed, spawn_key=path)`` where every path starts with ``0``,
and evaluation uses ``spawn_key=(2**31 - 1,)``. Fault draws use
``SeedSequence(seed, spawn_key=(2**31 - 2, attempt, *path))``: a first key no agent or evaluation
stream has, so injecting faults never changes what an agent draws, and each attempt of an agent
(or shard call) draws afresh, so a replay is not killed at the same point forever.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["FAULT_KEY", "die", "fault_stream", "kill_point"]

#: First spawn-key component of every fault stream (agents start with 0, evaluation uses 2**31 - 1).
FAULT_KEY = 2**31 - 2


def fault_stream(seed: int, agent_id: str, attempt: int) -> np.random.Generator:
    """The fault-injection stream of one attempt of one agent (or of a shard call led by it).

    Parameters
    ----------
    seed : int
        The run's seed.
    agent_id : str
        A lineage path such as ``"0.2.1"``.
    attempt : int
        1 for the first attempt, 2 for the first replay, ...

    Returns
    -------
    numpy.random.Generator
        A generator on ``SeedSequence(seed, spawn_key=(FAULT_KEY, attempt, *path))``.
    """
    path = tuple(int(p) for p in agent_id.split("."))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(FAULT_KEY, attempt, *path)))


def kill_point(seed: int, agent_id: str, attempt: int, prob: float, points: int) -> int | None:
    """Where this attempt is killed: ``None`` (it survives) or a point in ``range(points)``.

    Parameters
    ----------
    seed, agent_id, attempt
        As for :func:`fault_stream`.
    prob : float
        Probability that the attempt is killed at all.
    points : int
        How many kill points the caller has (drawn uniformly).

    Examples
    --------
    >>> kill_point(1, "0.1", 1, 0.0, 4) is None
    True
    >>> kill_point(1, "0.1", 1, 1.0, 4) in range(4)
    True
    """
    if prob <= 0.0:
        return None
    rng = fault_stream(seed, agent_id, attempt)
    if rng.random() >= prob:
        return None
    return int(rng.integers(points))


def die() -> None:  # pragma: no cover - the process ends here
    """End this worker process at once, as a crash or an out-of-memory kill would."""
    os._exit(1)
