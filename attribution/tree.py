"""The arrays every rule works on: parent row, depth, cached depth levels and numeric columns."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from attribution.errors import ValueDataError
from lineage import LineageArrays, LineageGraph, depth_levels
from lineage import clade_max as lineage_clade_max
from lineage import clade_sum as lineage_clade_sum
from lineage.arrays import depth_of

__all__ = ["TreeArrays", "as_tree", "clade_max", "clade_sum", "nth_ancestor", "strict_clade_max"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class TreeArrays:
    """A lineage reduced to what rules need, with its depth levels computed once.

    Row ``i`` is the ``i``-th agent in insertion order (parents before children); ``parent[i]`` is
    the parent's row or ``-1``. Build one with :meth:`from_lineage` (a
    :class:`~lineage.LineageGraph` or its :class:`~lineage.LineageArrays`) or
    :meth:`from_parent` (plain arrays).

    Examples
    --------
    >>> t = TreeArrays.from_parent([-1, 0, 0, 1], {"value": [0.1, 0.2, 0.3, 0.4]})
    >>> t.depth.tolist(), [lvl.tolist() for lvl in t.levels], float(t.column("value")[3])
    ([0, 1, 1, 2], [[0], [1, 2], [3]], 0.4)
    """

    def __init__(
        self,
        parent: IntArray,
        depth: IntArray,
        column: Callable[[str], FloatArray],
        ids: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
        order: Callable[[], IntArray] | None = None,
    ) -> None:
        self.parent = parent
        self.depth = depth
        self._column = column
        self.ids = ids
        #: Names of the numeric attributes the lineage carries (``None``: not known for this view).
        self.names: list[str] | None = None if names is None else sorted(names)
        self._levels: list[IntArray] | None = None
        self._cache: dict[str, FloatArray] = {}
        self._order = order

    def path_order(self) -> IntArray | None:
        """Rows in lineage-path order of the ids (``None`` for a view without ids): the lineage's own
        (:meth:`lineage.LineageGraph.path_order`) when the view came from one, else the ids sorted."""
        if self.ids is None:
            return None
        if self._order is None:
            from lineage.arrays import path_order

            ids, parent = self.ids, self.parent
            self._order = lambda: path_order(ids, parent)
        return self._order()

    def __len__(self) -> int:
        return len(self.parent)

    @property
    def levels(self) -> list[IntArray]:
        """Rows grouped by depth (computed once)."""
        if self._levels is None:
            self._levels = depth_levels(self.depth)
        return self._levels

    def column(self, name: str) -> FloatArray:
        """A numeric attribute, NaN where an agent does not carry it."""
        if name not in self._cache:
            self._cache[name] = np.asarray(self._column(name), dtype=np.float64)
        return self._cache[name]

    @classmethod
    def from_lineage(cls, lineage: LineageGraph | LineageArrays) -> TreeArrays:
        """The view of a lineage (ids kept) or of a bare array view (ids are row numbers)."""
        if isinstance(lineage, LineageGraph):
            a = lineage.arrays
            return cls(a.parent, a.depth, a.column, lineage.ids, a.names, lineage.path_order)
        if isinstance(lineage, LineageArrays):
            return cls(lineage.parent, lineage.depth, lineage.column, None, lineage.names)
        raise ValueDataError(
            f"expected a LineageGraph, LineageArrays or TreeArrays, got {type(lineage).__name__}"
        )

    @classmethod
    def from_parent(
        cls,
        parent: npt.ArrayLike,
        columns: Mapping[str, npt.ArrayLike] | None = None,
        ids: Sequence[str] | None = None,
    ) -> TreeArrays:
        """Build from a parent-row array in topological order (``parent[i] < i``) and columns.

        Depths come from pointer jumping: ``log2(max depth)`` vectorised steps.
        """
        p = np.asarray(parent, dtype=np.int64)
        n = len(p)
        if p.ndim != 1 or np.any(p >= np.arange(n)) or np.any(p < -1):
            bad = int(np.flatnonzero((p >= np.arange(n)) | (p < -1))[0])
            raise ValueDataError(
                f"parent rows must come before their children (-1 for a root); row {bad} has parent {p[bad]}"
            )
        depth = depth_of(p)
        cols = {k: np.asarray(v, dtype=np.float64) for k, v in (columns or {}).items()}
        for k, v in cols.items():
            if v.shape != (n,):
                raise ValueDataError(f"column {k!r} has shape {v.shape}, expected ({n},)")

        def column(name: str) -> FloatArray:
            return cols[name] if name in cols else np.full(n, np.nan)

        return cls(p, depth, column, ids, list(cols))

    def subset(self, keep: npt.NDArray[np.bool_]) -> TreeArrays:
        """The sub-lineage of rows where ``keep`` is true; it must hold every kept row's ancestors."""
        rows = np.flatnonzero(keep)
        par = self.parent[rows]
        if np.any((par >= 0) & ~keep[np.maximum(par, 0)]):
            raise ValueDataError("a sub-lineage must keep every ancestor of the agents it keeps")
        new_row = np.full(len(self), -1, dtype=np.int64)
        new_row[rows] = np.arange(len(rows))
        new_parent = np.where(par >= 0, new_row[np.maximum(par, 0)], -1)
        ids = None if self.ids is None else [self.ids[i] for i in rows.tolist()]
        return TreeArrays(new_parent, self.depth[rows], lambda name: self.column(name)[rows], ids, self.names)

    def index(self) -> Any:
        """Agent ids for a pandas index (row numbers when the view has no ids)."""
        import pandas as pd

        if self.ids is None:
            return pd.RangeIndex(len(self), name="agent")
        return pd.Index(list(self.ids), name="agent", dtype=object)


def as_tree(lineage: LineageGraph | LineageArrays | TreeArrays) -> TreeArrays:
    """``lineage`` as a :class:`TreeArrays` (returned unchanged if it already is one)."""
    return lineage if isinstance(lineage, TreeArrays) else TreeArrays.from_lineage(lineage)


def clade_sum(tree: TreeArrays, values: FloatArray, gamma: float = 1.0) -> FloatArray:
    """``S[i] = v[i] + gamma * sum(S[c] for children c)``: :func:`lineage.clade_sum` over the tree's levels.

    Examples
    --------
    >>> t = TreeArrays.from_parent([-1, 0, 0, 1])
    >>> clade_sum(t, np.ones(4), 0.5).tolist()
    [2.25, 1.5, 1.0, 1.0]
    """
    return lineage_clade_sum(values, tree.parent, tree.depth, gamma, levels=tree.levels)


def clade_max(tree: TreeArrays, values: FloatArray) -> FloatArray:
    """The largest value in each agent's clade, itself included, ignoring NaN (NaN if all are):
    :func:`lineage.clade_max` over the tree's levels.

    Examples
    --------
    >>> clade_max(TreeArrays.from_parent([-1, 0, 0, 2]), np.array([0.1, 0.7, 0.3, np.nan])).tolist()
    [0.7, 0.7, 0.3, nan]
    """
    return lineage_clade_max(values, tree.parent, tree.depth, levels=tree.levels)


def strict_clade_max(tree: TreeArrays, values: FloatArray) -> FloatArray:
    """The largest value among each agent's descendants (not itself); NaN if none has one.

    Examples
    --------
    >>> strict_clade_max(TreeArrays.from_parent([-1, 0, 0, 2]), np.array([0.9, 0.7, 0.3, 0.5])).tolist()
    [0.7, nan, 0.5, nan]
    """
    best = clade_max(tree, values)
    out = np.full(len(best), np.nan)
    child = np.flatnonzero(tree.parent >= 0)
    np.fmax.at(out, tree.parent[child], best[child])
    return out


def nth_ancestor(tree: TreeArrays, n: int) -> IntArray:
    """Row of each agent's ancestor ``n`` generations up, ``-1`` where there is none.

    Examples
    --------
    >>> nth_ancestor(TreeArrays.from_parent([-1, 0, 1, 2]), 2).tolist()
    [-1, -1, 0, 1]
    """
    anc = np.arange(len(tree), dtype=np.int64)
    for _ in range(n):
        anc = np.where(anc >= 0, tree.parent[np.maximum(anc, 0)], -1)
        if np.all(anc < 0):
            break
    return anc
