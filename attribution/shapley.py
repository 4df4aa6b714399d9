"""Shapley credit for the lineage game: no descendant counts without its whole ancestor chain."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from attribution.errors import ValueDataError
from attribution.tree import TreeArrays

__all__ = ["EXACT_LIMIT", "ShapleyEstimate", "lineage_game", "shapley_exact", "shapley_monte_carlo"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Largest lineage whose exact Shapley values may be asked for (2**n coalitions).
EXACT_LIMIT = 16


@dataclasses.dataclass(frozen=True)
class ShapleyEstimate:
    """Shapley credit with its standard error (0 when exact) and how it was computed."""

    credit: FloatArray
    stderr: FloatArray
    method: str
    samples: int
    seed: int | None


def _ancestor_masks(parent: IntArray) -> list[int]:
    masks: list[int] = []
    for i, p in enumerate(parent.tolist()):
        masks.append((1 << i) | (masks[p] if p >= 0 else 0))
    return masks


def lineage_game(parent: npt.ArrayLike, values: npt.ArrayLike, coalition: int) -> float:
    """v(S) for a coalition given as a bit mask: the best value among members whose whole ancestor
    chain (themselves included) is in S; 0 if there is none. NaN values never count.

    Examples
    --------
    >>> lineage_game([-1, 0], [0.2, 0.5], 0b10), lineage_game([-1, 0], [0.2, 0.5], 0b11)
    (0.0, 0.5)
    """
    p = np.asarray(parent, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    best = -math.inf
    for i, a in enumerate(_ancestor_masks(p)):
        if coalition & a == a and not math.isnan(v[i]):
            best = max(best, float(v[i]))
    return 0.0 if best == -math.inf else best


def shapley_exact(parent: npt.ArrayLike, values: npt.ArrayLike) -> FloatArray:
    """Exact Shapley values of the lineage game, vectorised over all ``2**n`` coalitions.

    ``phi_i = sum over S not holding i of |S|! (n-|S|-1)! / n! * (v(S + i) - v(S))``.

    Examples
    --------
    >>> shapley_exact([-1, 0], [0.2, 0.5]).round(6).tolist()
    [0.35, 0.15]
    """
    p = np.asarray(parent, dtype=np.int64)
    vals = np.asarray(values, dtype=np.float64)
    n = len(p)
    if n > EXACT_LIMIT:
        raise ValueDataError(f"exact Shapley values are for at most {EXACT_LIMIT} agents, got {n}")
    if n == 0:
        return np.zeros(0)
    anc = np.array(_ancestor_masks(p), dtype=np.int64)
    masks = np.arange(1 << n, dtype=np.int64)
    closed = (masks[:, None] & anc[None, :]) == anc[None, :]
    best = np.where(closed, np.where(np.isnan(vals), -np.inf, vals)[None, :], -np.inf).max(axis=1)
    game = np.where(best == -np.inf, 0.0, best)
    size = np.bitwise_count(masks).astype(np.int64)
    weight = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)])
    phi = np.empty(n)
    for i in range(n):
        without = masks[(masks >> i) & 1 == 0]
        phi[i] = float(np.sum(weight[size[without]] * (game[without | (1 << i)] - game[without])))
    return phi


def shapley_monte_carlo(
    tree: TreeArrays, values: npt.ArrayLike, samples: int = 1000, seed: int = 0
) -> ShapleyEstimate:
    """Shapley values estimated from ``samples`` random orderings, drawn from ``default_rng(seed)``.

    In one ordering an agent's marginal contribution is the rise of v when it joins. An agent
    becomes counted at the position where the last member of its ancestor chain joins (a running
    maximum down the tree), so a whole batch of orderings is scored with one numpy pass per depth
    level. Each ordering's contributions sum to v(all agents), so efficiency holds exactly; the
    standard error is the sample standard deviation over ``sqrt(samples)``.

    Examples
    --------
    >>> t = TreeArrays.from_parent([-1, 0])
    >>> est = shapley_monte_carlo(t, [0.2, 0.5], samples=400, seed=1)
    >>> float(est.credit.sum().round(12)), est.method
    (0.5, 'monte-carlo')
    """
    vals = np.asarray(values, dtype=np.float64)
    n = len(tree)
    if vals.shape != (n,):
        raise ValueDataError(f"values has shape {vals.shape}, expected ({n},)")
    rng = np.random.default_rng(seed)
    total = np.zeros(n)
    total_sq = np.zeros(n)
    counted = np.where(np.isnan(vals), -np.inf, vals)
    batch = max(1, min(samples, 2_000_000 // max(n, 1)))
    done = 0
    parent = tree.parent
    while done < samples and n:
        b = min(batch, samples - done)
        order = rng.permuted(np.tile(np.arange(n), (b, 1)), axis=1)  # order[k, t]: agent at position t
        pos = np.empty_like(order)
        np.put_along_axis(pos, order, np.broadcast_to(np.arange(n), (b, n)), axis=1)
        joined = pos  # becomes: position at which the agent starts to count
        for level in tree.levels[1:]:
            joined[:, level] = np.maximum(joined[:, level], joined[:, parent[level]])
        best = np.full((b, n), -np.inf)
        np.maximum.at(best, (np.repeat(np.arange(b), n), joined.ravel()), np.tile(counted, b))
        run = np.maximum.accumulate(best, axis=1)
        run[run == -np.inf] = 0.0
        rise = np.diff(run, axis=1, prepend=0.0)
        contrib = np.empty((b, n))
        np.put_along_axis(contrib, order, rise, axis=1)
        total += contrib.sum(axis=0)
        total_sq += np.square(contrib).sum(axis=0)
        done += b
    mean = total / max(samples, 1)
    if samples > 1:
        var = np.maximum(total_sq - samples * mean**2, 0.0) / (samples - 1)
        stderr = np.sqrt(var / samples)
    else:
        stderr = np.full(n, np.nan)
    return ShapleyEstimate(mean, stderr, "monte-carlo", samples, seed)
